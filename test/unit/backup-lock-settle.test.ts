import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { backup, type BackupOptions } from '../../src/core/backup.js';
import { listBackups } from '../../src/core/repository.js';
import { ExitCode, LockedError } from '../../src/shared/errors.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * A backup starts reading while its lock settles (lock.ts's pause for racing runs), and writes
 * nothing until the lock is held. Here a racing exclusive lock (a prune) with a lower id shows up
 * right after ours was written: the backup must lose, exit 6, and have written nothing.
 */
class RacedDestination extends MemoryDestination {
  readonly written: string[] = [];
  private raced = false;
  constructor(private readonly race: boolean) {
    super();
  }
  override async put(key: string, body: Readable): Promise<{ size: number }> {
    this.written.push(key);
    return super.put(key, body);
  }
  override async putBytes(key: string, data: Uint8Array): Promise<void> {
    this.written.push(key);
    return super.putBytes(key, data);
  }
  override async putBytesIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const ok = await super.putBytesIfAbsent(key, data);
    if (this.race && key.startsWith('locks/') && !this.raced) {
      this.raced = true;
      // Unreadable lock objects count as exclusive; '0…' sorts before every real lock id.
      await super.putBytes('locks/00000000T000000000Z-racer.json', Buffer.from('{ a prune'));
    }
    return ok;
  }
}

let work: string;
let tree: string;
const key = generateIdentity();
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-settle-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  writeFileSync(join(tree, 'sub', 'noise.bin'), randomBytes(1 << 20));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function options(dest: MemoryDestination, extra: Partial<BackupOptions> = {}): BackupOptions {
  return {
    destinations: [dest],
    sources: [{ kind: 'files', location: tree }],
    encryption: { recipients: [key.recipient] },
    compression: { algorithm: 'gzip' },
    labels: [],
    origin: { host: 'test' },
    reporter: silentReporter,
    init: true,
    ...extra,
  };
}

const backupObjects = (d: RacedDestination) => d.written.filter((k) => /^\d{8}T/.test(k));

describe('backup lock settle', () => {
  it('a racing prune that wins the lock during the settle: exit 6, nothing written, the racer named', async () => {
    const dest = new RacedDestination(true);
    const err = await backup(options(dest)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).exitCode).toBe(ExitCode.locked);
    expect(backupObjects(dest)).toEqual([]);
    expect([...dest.objects.keys()].filter((k) => k.startsWith('locks/'))).toEqual(['locks/00000000T000000000Z-racer.json']);
    expect(await listBackups(dest, silentReporter)).toEqual([]);
  });

  it('the same backup unraced commits, its objects written only after the lock was held', async () => {
    const dest = new RacedDestination(false);
    const result = await backup(options(dest));
    expect(result.status).toBe('success');
    const lockAt = dest.written.findIndex((k) => k.startsWith('locks/'));
    const firstData = dest.written.findIndex((k) => /^\d{8}T/.test(k));
    expect(lockAt).toBeGreaterThanOrEqual(0);
    expect(firstData).toBeGreaterThan(lockAt);
    expect((await listBackups(dest, silentReporter)).filter((b) => b.complete)).toHaveLength(1);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { backup } from '../../src/core/backup.js';
import { restore } from '../../src/core/restore.js';
import { verify } from '../../src/core/verify.js';
import type { Progress, ProgressTask } from '../../src/shared/progress.js';
import type { Reporter } from '../../src/shared/reporter.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * What the core reports as progress, and the durations it measures with the injected clock:
 * the byte counts come from the pipeline itself, so at the end of each task they equal the
 * sizes the manifest records.
 */
let work: string;
let tree: string;
const key = generateIdentity();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-progress-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  writeFileSync(join(tree, 'sub', 'noise.bin'), randomBytes(3 << 20));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function recording(): { reporter: Reporter; tasks: { label: string; total?: number; doneAtEnd?: number }[]; started: ProgressTask[] } {
  const tasks: { label: string; total?: number; doneAtEnd?: number }[] = [];
  const started: ProgressTask[] = [];
  const progress: Progress = {
    start(task: ProgressTask) {
      const row: (typeof tasks)[number] = { label: task.label, total: task.total };
      tasks.push(row);
      started.push(task);
      return { end: () => void (row.doneAtEnd = task.done()) };
    },
  };
  return { reporter: { debug() {}, info() {}, warning() {}, error() {}, setSecret() {}, progress }, tasks, started };
}

/** A store where every download takes 2 s of the fake clock. */
class SlowStore extends MemoryDestination {
  gets = 0;
  constructor(private readonly tick: () => void) {
    super();
  }
  override async get(key: string): Promise<Readable> {
    this.gets++;
    this.tick();
    return super.get(key);
  }
}

describe('progress and durations in the core', () => {
  it('backup: the tree estimate is the tar size, and the bytes counted are the plaintext; verify and restore count the stored bytes', async () => {
    let now = Date.parse('2026-12-01T20:40:00Z');
    const clock = () => new Date(now);
    const dest = new SlowStore(() => (now += 2000));
    const b = recording();
    const made = await backup({
      destinations: [dest], sources: [{ kind: 'files', location: tree }], encryption: { recipients: [key.recipient] },
      compression: { algorithm: 'zstd' }, labels: [], origin: { host: 'test' }, reporter: b.reporter, init: true, now: clock,
    });
    const a = made.manifest.artifacts[0]!;
    const [dump, readBack] = b.tasks;
    expect(dump).toMatchObject({ label: 'backup files-tree', doneAtEnd: a.plaintext.size });
    // The estimate runs beside the dump (the backup never waits for it); its total arrives on the task.
    await vi.waitFor(() => expect(b.started[0]!.total).toBeDefined());
    // A stat walk predicts the tar stream within a few blocks (node-tar may pad its end).
    expect(Math.abs(b.started[0]!.total! - a.plaintext.size)).toBeLessThanOrEqual(10_240);
    expect(readBack).toMatchObject({ label: expect.stringMatching(/^read back files-tree\.tar\.zst\.age at memory:\/\/test$/), total: a.stored.size, doneAtEnd: a.stored.size });

    const v = recording();
    dest.gets = 0;
    const checked = await verify({ destination: dest, selector: 'latest', deep: true, decrypt: { identities: [key.identity] }, reporter: v.reporter, now: clock });
    expect(checked.ok).toBe(true);
    expect(v.tasks).toEqual([{ label: 'verify files-tree', total: a.stored.size, doneAtEnd: a.stored.size }]);
    expect(dest.gets).toBeGreaterThan(0);
    expect(checked.durationSeconds).toBe(2 * dest.gets);

    const r = recording();
    dest.gets = 0;
    const restored = await restore({
      destination: dest, selection: { selector: 'latest' }, decrypt: { identities: [key.identity] }, targets: { files: join(work, 'out') },
      force: false, reporter: r.reporter, now: clock,
    });
    expect(r.tasks).toEqual([{ label: 'restore files-tree', total: a.stored.size, doneAtEnd: a.stored.size }]);
    expect(restored.durationSeconds).toBe(2 * dest.gets);
  });

});

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { generateSigningKey } from '../../src/codecs/ssh-signature/index.js';
import { backup, type BackupOptions } from '../../src/core/backup.js';
import { AllDestinationsFailedError } from '../../src/core/destination-run.js';
import { LOCK_PREFIX } from '../../src/core/lock.js';
import { initRepositories, listBackups } from '../../src/core/repository.js';
import { verify } from '../../src/core/verify.js';
import type { Destination } from '../../src/destinations/types.js';
import { cancel, resetCancellation } from '../../src/shared/cancel.js';
import { ExitCode } from '../../src/shared/errors.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { filesAdapter } from '../../src/sources/files/index.js';
import { FaultDestination, type Faults } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * Several destinations, each an independent repository: one failing at any stage is dropped and
 * the backup is committed at the others, with the same manifest bytes everywhere.
 */
let work: string;
let tree: string;
const key = generateIdentity();
const signing = generateSigningKey('partial-test');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-partial-'));
  tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  // Incompressible, so the stored object is several MB and an upload can fail part-way.
  writeFileSync(join(tree, 'noise.bin'), randomBytes(3 << 20));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  resetCancellation();
});

function options(destinations: Destination[], extra: Partial<BackupOptions> = {}): BackupOptions {
  return {
    destinations,
    sources: [{ kind: 'files', location: tree }],
    encryption: { recipients: [key.recipient] },
    compression: { algorithm: 'gzip' },
    labels: [],
    origin: { host: 'test' },
    reporter: silentReporter,
    lock: { waitMs: 0 },
    signingKey: signing,
    ...extra,
  };
}

/** Three repositories, `memory://a`, `memory://b`, `memory://c`; `b` wrapped with faults. */
async function three(faults: Faults = {}, opts: { bHasRepository?: boolean } = {}) {
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new MemoryDestination(undefined, `memory://${n}`)) as [MemoryDestination, MemoryDestination, MemoryDestination];
  await initRepositories(opts.bHasRepository === false ? [a, c] : [a, b, c], new Date());
  return { a, b, c, faulty: new FaultDestination(b, faults) };
}

/** A fresh exclusive lock held by a run on another host (a prune), which a backup must not pass. */
async function lockedByPrune(dest: MemoryDestination): Promise<void> {
  const now = new Date().toISOString();
  const holder = { host: 'other-host', pid: 4242, startedAt: now, refreshedAt: now, exclusive: true, id: '20261201T000000000Z-deadbeef', operation: 'prune' };
  await dest.putBytes(`${LOCK_PREFIX}${holder.id}.json`, Buffer.from(JSON.stringify(holder)));
}

const backupKeys = (m: MemoryDestination, id: string) => [...m.objects.keys()].filter((k) => k.startsWith(`${id}/`));
const ourLocks = (m: MemoryDestination) => [...m.objects.keys()].filter((k) => k.startsWith(LOCK_PREFIX) && !k.includes('deadbeef'));

const stages: { stage: string; faults?: Faults; setup?: (b: MemoryDestination) => Promise<void>; bHasRepository?: boolean; reason: RegExp; exitCode: number }[] = [
  { stage: 'the lock (held by another run)', setup: lockedByPrune, reason: /memory:\/\/b is locked, so this backup cannot take its shared lock: prune \(exclusive\) on host other-host/, exitCode: ExitCode.locked },
  { stage: 'the repository check (no repository there)', bHasRepository: false, reason: /no Strongbox repository at memory:\/\/b/, exitCode: ExitCode.notFound },
  { stage: 'the upload, after 1 MB (connection lost)', faults: { failPutAfter: { match: (k) => k.endsWith('.age'), bytes: 1 << 20 } }, reason: /upload of .*files-tree\.tar\.gz\.age to memory:\/\/b failed: connection lost \(injected\) after 1048576 bytes/, exitCode: ExitCode.failure },
  { stage: 'the upload, after 2 MB (disk full)', faults: { diskFullAfter: { match: (k) => k.endsWith('.age'), bytes: 2 << 20 } }, reason: /to memory:\/\/b failed: ENOSPC: no space left on device/, exitCode: ExitCode.failure },
  { stage: 'the read-back confirmation (stored bytes differ)', faults: { corrupt: { match: (k) => k.endsWith('.age'), offset: 5000 } }, reason: /memory:\/\/b\/.*reads back with SHA-256 [0-9a-f]+, not the uploaded/, exitCode: ExitCode.failure },
  { stage: 'the signature write', faults: { failPut: (k) => k.endsWith('/manifest.json.sig') }, reason: /writing the signature of .* to memory:\/\/b failed: We encountered an internal error/, exitCode: ExitCode.failure },
  { stage: 'the manifest write', faults: { failPut: (k) => k.endsWith('/manifest.json') }, reason: /writing the manifest of .* to memory:\/\/b failed: We encountered an internal error/, exitCode: ExitCode.failure },
];

describe('one of three destinations fails', () => {
  it.each(stages)('at $stage: committed at the other two with identical signed manifests, nothing at the failed one, status partial', async ({ faults, setup, bHasRepository, reason, exitCode }) => {
    const { a, b, c, faulty } = await three(faults, { bHasRepository });
    await setup?.(b);
    const r = await backup(options([a, faulty, c]));

    expect(r.status).toBe('partial');
    expect(r.destinations.map((d) => [d.location, d.status])).toEqual([
      ['memory://a', 'committed'],
      ['memory://b', 'failed'],
      ['memory://c', 'committed'],
    ]);
    const failed = r.destinations[1]!;
    expect(failed.error).toMatch(reason);
    expect(failed.exitCode).toBe(exitCode);
    expect(failed.hint).toBeTruthy();

    // The same manifest and signature bytes at both committed destinations, valid at each.
    const manifest = `${r.id}/manifest.json`;
    expect(a.objects.get(manifest)!.data.equals(c.objects.get(manifest)!.data)).toBe(true);
    expect(a.objects.get(`${manifest}.sig`)!.data.equals(c.objects.get(`${manifest}.sig`)!.data)).toBe(true);
    for (const dest of [a, c]) {
      expect((await listBackups(dest, silentReporter)).filter((e) => e.complete).map((e) => e.id)).toEqual([r.id]);
      const v = await verify({ destination: dest, selector: r.id, deep: true, decrypt: { identities: [key.identity] }, trusted: [signing.publicKey], reporter: silentReporter });
      expect(v.ok).toBe(true);
    }
    // Nothing of this backup at the failed one (no manifest, no signature, no artifact), and no lock of ours left anywhere.
    expect(backupKeys(b, r.id)).toEqual([]);
    for (const dest of [a, b, c]) expect(ourLocks(dest)).toEqual([]);
  });

  it('a slow destination next to one that fails mid-upload: no deadlock, both others committed', async () => {
    const { a, c } = await three();
    const slow = new FaultDestination(a, { slowPut: { match: (k) => k.endsWith('.age'), msPerChunk: 2 } });
    const failing = new FaultDestination(c, { failPutAfter: { match: (k) => k.endsWith('.age'), bytes: 512 << 10 } });
    const d = new MemoryDestination(undefined, 'memory://d');
    await initRepositories([d], new Date());
    const r = await backup(options([slow, failing, d]));
    expect(r.destinations.map((x) => x.status)).toEqual(['committed', 'failed', 'committed']);
    expect(backupKeys(c, r.id)).toEqual([]);
  });

  it('an unreachable destination is dropped at the first step; the backup is committed at the others', async () => {
    const { a, b, c, faulty } = await three({ unreachable: true });
    const r = await backup(options([a, faulty, c]));
    expect(r.status).toBe('partial');
    expect(r.destinations[1]).toMatchObject({ status: 'failed', exitCode: 1, error: expect.stringContaining('ECONNREFUSED') });
    expect(backupKeys(b, r.id)).toEqual([]);
  });

  it('every destination healthy: status success, all committed', async () => {
    const { a, b, c } = await three();
    const r = await backup(options([a, b, c]));
    expect(r.status).toBe('success');
    expect(r.destinations.every((d) => d.status === 'committed' && d.error === undefined)).toBe(true);
  });
});

describe('every destination fails', () => {
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AllDestinationsFailedError);

  it('all locked: throws naming each destination and its reason, with their common exit code 6; nothing written', async () => {
    const { a, b, c } = await three();
    for (const d of [a, b, c]) await lockedByPrune(d);
    const err = await failure(backup(options([a, b, c])));
    expect(err).toBeInstanceOf(AllDestinationsFailedError);
    expect(err!.exitCode).toBe(ExitCode.locked);
    for (const n of ['a', 'b', 'c']) expect(err!.message).toMatch(new RegExp(`memory://${n}: memory://${n} is locked`));
    expect(err!.outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'failed']);
    for (const d of [a, b, c]) expect([...d.objects.keys()].filter((k) => /^\d{8}T/.test(k))).toEqual([]);
  });

  it('different reasons: exit code 1, each reason named; the ones that got objects have them removed', async () => {
    const { a, b, c } = await three({}, { bHasRepository: false });
    await lockedByPrune(a);
    const cut = new FaultDestination(c, { failPutAfter: { match: (k) => k.endsWith('.age'), bytes: 1 << 20 } });
    const err = await failure(backup(options([a, b, cut])));
    expect(err).toBeInstanceOf(AllDestinationsFailedError);
    expect(err!.exitCode).toBe(ExitCode.failure);
    expect(err!.message).toContain('memory://a: memory://a is locked');
    expect(err!.message).toContain('memory://b: no Strongbox repository at memory://b');
    expect(err!.message).toMatch(/memory:\/\/c: upload of .* to memory:\/\/c failed: connection lost/);
    expect([...c.objects.keys()].filter((k) => /^\d{8}T/.test(k))).toEqual([]);
    expect(ourLocks(c)).toEqual([]);
  });

  it('all fail mid-upload: the dump is stopped and no manifest is written anywhere', async () => {
    const { a, b, c } = await three();
    const cut = (m: MemoryDestination, bytes: number) => new FaultDestination(m, { failPutAfter: { match: (k) => k.endsWith('.age'), bytes } });
    const err = await failure(backup(options([cut(a, 300_000), cut(b, 600_000), cut(c, 900_000)])));
    expect(err).toBeInstanceOf(AllDestinationsFailedError);
    for (const d of [a, b, c]) expect([...d.objects.keys()].filter((k) => /^\d{8}T/.test(k))).toEqual([]);
  });
});

describe('the source fails, or the run is cancelled', () => {
  it('a dump failing part-way fails the backup everywhere with the dump error: nothing committed, nothing left', async () => {
    vi.spyOn(filesAdapter, 'dump').mockImplementation(async () => {
      const stream = new PassThrough();
      let fail!: (e: Error) => void;
      const completed = new Promise<void>((_, reject) => (fail = reject));
      completed.catch(() => {});
      stream.write(randomBytes(1 << 20));
      setTimeout(() => {
        const e = new Error('tar: noise.bin: file changed as we read it (injected)');
        stream.destroy(e);
        fail(e);
      }, 20);
      return { stream, completed, details: { path: tree } };
    });
    const { a, b, c } = await three();
    await expect(backup(options([a, b, c]))).rejects.toThrow(/file changed as we read it/);
    for (const d of [a, b, c]) {
      expect([...d.objects.keys()].filter((k) => /^\d{8}T/.test(k))).toEqual([]);
      expect(ourLocks(d)).toEqual([]);
    }
  });

  it('a cancellation while one destination has already failed commits nothing anywhere', async () => {
    const { a, b, c } = await three();
    const failing = new FaultDestination(b, { failPut: (k) => k.endsWith('.age') });
    // Cancelled while the others are still uploading (after b failed at once).
    const slow = new FaultDestination(a, { slowPut: { match: (k) => k.endsWith('.age'), msPerChunk: 5 } });
    setTimeout(() => cancel('SIGINT'), 100);
    await expect(backup(options([slow, failing, c]))).rejects.toThrow(/cancel|abort/i);
    for (const d of [a, b, c]) {
      expect((await listBackups(d, silentReporter)).filter((e) => e.complete)).toEqual([]);
      expect([...d.objects.keys()].filter((k) => /^\d{8}T/.test(k))).toEqual([]);
    }
  });

  it('bad options still fail before any destination is touched', async () => {
    const { a, b } = await three();
    const before = [...a.objects.keys()];
    await expect(backup(options([a, b], { labels: ['bad label'] }))).rejects.toMatchObject({ exitCode: ExitCode.usage });
    await expect(backup(options([a, b], { sources: [{ kind: 'files', location: join(work, 'missing') }] }))).rejects.toMatchObject({ exitCode: ExitCode.usage });
    expect([...a.objects.keys()]).toEqual(before);
  });
});

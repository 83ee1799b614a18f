import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { generateSigningKey } from '../../src/codecs/ssh-signature/index.js';
import { backup, type BackupOptions } from '../../src/core/backup.js';
import { copy, type CopyOptions } from '../../src/core/copy.js';
import { listBackups } from '../../src/core/repository.js';
import { verify } from '../../src/core/verify.js';
import { verifyAcross } from '../../src/core/verify-across.js';
import type { Destination } from '../../src/destinations/types.js';
import { LockedError, NotFoundError, UsageError } from '../../src/shared/errors.js';
import { acquireLock } from '../../src/core/lock.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { cancel, cancellation, CancelledError, resetCancellation } from '../../src/shared/cancel.js';
import type { Readable } from 'node:stream';
import { corruptStoredObject, FaultDestination } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/** Two in-memory repositories must not share a display name: copy refuses --from = --to. */
class Named extends MemoryDestination {
  constructor(override readonly display: string) {
    super();
  }
}

let work: string;
let tree: string;
const key = generateIdentity();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-copy-'));
  tree = join(work, 'tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  writeFileSync(join(tree, 'noise.bin'), randomBytes(1 << 18));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function takeBackup(dest: Destination, extra: Partial<BackupOptions> = {}) {
  return backup({
    destinations: [dest],
    sources: [{ kind: 'files', location: tree }],
    encryption: { recipients: [key.recipient] },
    compression: { algorithm: 'gzip' },
    labels: [],
    origin: { host: 'test' },
    reporter: silentReporter,
    // Locks are exercised by the integration tests; here their settle pauses only slow things down.
    lock: { held: true },
    init: true,
    ...extra,
  });
}

const opts = (source: Destination, destination: Destination, extra: Partial<CopyOptions> = {}): CopyOptions => ({
  source,
  destination,
  selectors: [],
  all: true,
  labels: [],
  init: true,
  reporter: silentReporter,
  lock: { held: true },
  ...extra,
});

const completeIds = async (d: Destination) => (await listBackups(d, silentReporter)).filter((e) => e.complete).map((e) => e.id);
const keysOf = (m: MemoryDestination, id: string) => [...m.objects.keys()].filter((k) => k.startsWith(`${id}/`));

describe('copy', () => {
  it('copies every backup byte for byte, and a second run skips them all', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    const a = await takeBackup(src, { labels: ['nightly'] });
    const b = await takeBackup(src);
    const first = await copy(opts(src, dst));
    expect(first.backups.map((r) => [r.id, r.status])).toEqual([[a.id, 'copied'], [b.id, 'copied']]);
    expect(first.exitCode).toBe(0);
    for (const id of [a.id, b.id]) {
      for (const k of keysOf(src, id)) expect(dst.objects.get(k)?.data.equals(src.objects.get(k)!.data), k).toBe(true);
      const v = await verify({ destination: dst, selector: id, deep: true, decrypt: { identities: [key.identity] }, reporter: silentReporter, lock: { held: true } });
      expect(v.ok).toBe(true);
    }
    const again = await copy(opts(src, dst));
    expect(again.backups.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    expect(again.bytes).toBe(0);
  });

  it('selects by --backup and --label only what they name', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    const a = await takeBackup(src, { labels: ['pre-release'] });
    const b = await takeBackup(src);
    const c = await takeBackup(src);
    const r = await copy(opts(src, dst, { all: false, selectors: [b.id], labels: ['pre-release'] }));
    expect(r.backups.map((x) => x.id)).toEqual([a.id, b.id]);
    expect(await completeIds(dst)).toEqual([a.id, b.id]);
    await copy(opts(src, dst, { all: false, selectors: ['latest'] }));
    expect(await completeIds(dst)).toEqual([a.id, b.id, c.id]);
  });

  it('--new copies per series only what is newer than the tier holds: never what the tier pruned, all of a series it lacks', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    const other = join(work, 'other-tree');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'o.txt'), 'other series\n');
    const a1 = await takeBackup(src);
    const b1 = await takeBackup(src, { sources: [{ kind: 'files', location: other }] });
    const a2 = await takeBackup(src);
    // The tier holds only a2 (its retention removed a1): a1 is older than a2, so it stays away;
    // the other series is not at the tier at all, so it comes whole.
    await copy(opts(src, dst, { all: false, selectors: [a2.id] }));
    const first = await copy(opts(src, dst, { all: false, newer: true }));
    expect(first.backups.map((x) => [x.id, x.status])).toEqual([[b1.id, 'copied']]);
    expect(await completeIds(dst)).not.toContain(a1.id);
    const a3 = await takeBackup(src);
    const second = await copy(opts(src, dst, { all: false, newer: true }));
    expect(second.backups.map((x) => [x.id, x.status])).toEqual([[a3.id, 'copied']]);
    // Up to date: nothing selected, nothing failed, exit 0.
    const third = await copy(opts(src, dst, { all: false, newer: true }));
    expect(third).toMatchObject({ backups: [], copied: 0, failed: 0, exitCode: 0 });
  });

  it('refuses to guess what to copy, and an unknown label matches nothing', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    await takeBackup(src);
    await expect(copy(opts(src, dst, { all: false }))).rejects.toBeInstanceOf(UsageError);
    await expect(copy(opts(src, dst, { all: false, labels: ['nope'] }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(copy(opts(src, src))).rejects.toThrow(/both name memory:\/\/src/);
  });

  it('a damaged object at the source: that backup is not copied (nothing stored under its keys), the others are, exit 3', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    const a = await takeBackup(src);
    const bad = await takeBackup(src);
    const c = await takeBackup(src);
    await corruptStoredObject(src, `${bad.id}/${bad.manifest.artifacts[0]!.key}`, 5000);
    const r = await copy(opts(src, dst));
    expect(r.backups.map((x) => [x.id, x.status])).toEqual([[a.id, 'copied'], [bad.id, 'failed'], [c.id, 'copied']]);
    expect(r.backups[1]!.error).toMatch(/does not match its manifest/);
    expect(r.exitCode).toBe(3);
    expect(keysOf(dst, bad.id)).toEqual([]);
    expect(await completeIds(dst)).toEqual([a.id, c.id]);
  });

  it('the check fails the put itself: the destination never receives a complete body with bad bytes', async () => {
    const src = new Named('memory://src');
    const mem = new Named('memory://dst');
    const puts: string[] = [];
    const dst = new FaultDestination(mem);
    const put = dst.put.bind(dst);
    dst.put = async (k, body, o) => {
      try {
        return await put(k, body, o);
      } catch (err) {
        puts.push(`failed ${k}`);
        throw err;
      }
    };
    const bad = await takeBackup(src);
    await corruptStoredObject(src, `${bad.id}/${bad.manifest.artifacts[0]!.key}`, 200);
    const r = await copy(opts(src, dst, { confirm: 'size' }));
    expect(r.failed).toBe(1);
    expect(puts).toEqual([`failed ${bad.id}/${bad.manifest.artifacts[0]!.key}`]);
  });

  it('a put that fails mid-object stops the copy with no manifest at the destination; the rerun completes it', async () => {
    const src = new Named('memory://src');
    const mem = new Named('memory://dst');
    const a = await takeBackup(src);
    const dst = new FaultDestination(mem, { failPutAfter: { match: (k) => k.endsWith('.age'), bytes: 100_000 } });
    await expect(copy(opts(src, dst))).rejects.toThrow(/upload of .*files-tree\.tar\.gz\.age to memory:\/\/dst failed: connection lost/);
    expect(mem.objects.has(`${a.id}/manifest.json`)).toBe(false);
    expect(await completeIds(mem)).toEqual([]);
    dst.faults = {};
    const r = await copy(opts(src, dst));
    expect(r.copied).toBe(1);
    expect(await completeIds(mem)).toEqual([a.id]);
  });

  it('a manifest write that fails leaves the backup incomplete there; nothing claims it was copied', async () => {
    const src = new Named('memory://src');
    const mem = new Named('memory://dst');
    await takeBackup(src);
    const dst = new FaultDestination(mem, { failPut: (k) => k.endsWith('/manifest.json') });
    await expect(copy(opts(src, dst))).rejects.toThrow(/manifest\.json/);
    expect(await completeIds(mem)).toEqual([]);
  });

  it('a destination that stores other bytes than it was sent fails the copy before the manifest', async () => {
    const src = new Named('memory://src');
    const mem = new Named('memory://dst');
    await takeBackup(src);
    const dst = new FaultDestination(mem, { corrupt: { match: (k) => k.endsWith('.age'), offset: 3000 } });
    await expect(copy(opts(src, dst))).rejects.toThrow(/reads back with SHA-256 .* not the uploaded/);
    expect(await completeIds(mem)).toEqual([]);
  });

  it('waits for no prune: an exclusive lock at either end refuses the copy (exit 6), nothing written', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    await takeBackup(src);
    await copy(opts(src, dst, { all: false, selectors: ['latest'] }));
    await takeBackup(src);
    for (const held of [src, dst]) {
      const lock = await acquireLock(held, { exclusive: true, operation: 'prune', reporter: silentReporter, settleMs: 0 });
      try {
        const before = [...dst.objects.keys()].filter((k) => !k.startsWith('locks/')).sort();
        const err = await copy(opts(src, dst, { lock: { waitMs: 0 } })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LockedError);
        expect((err as LockedError).exitCode).toBe(6);
        expect([...dst.objects.keys()].filter((k) => !k.startsWith('locks/')).sort()).toEqual(before);
      } finally {
        await lock.release();
      }
    }
  });

  it('copies the signature first and the manifest bytes as they are, so the copy is still trusted', async () => {
    const signing = generateSigningKey('test');
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    const order: string[] = [];
    const b = await takeBackup(src, { signingKey: signing });
    const spy = new FaultDestination(dst);
    const putBytes = spy.putBytes.bind(spy);
    spy.putBytes = async (k, d) => (order.push(k), putBytes(k, d));
    (spy as { putBytesIfAbsent?: Destination['putBytesIfAbsent'] }).putBytesIfAbsent = async (k, d) => (order.push(k), dst.putBytesIfAbsent(k, d));
    await copy(opts(src, spy));
    expect(order.filter((k) => k.startsWith(b.id))).toEqual([`${b.id}/manifest.json.sig`, `${b.id}/manifest.json`]);
    const v = await verify({ destination: dst, selector: b.id, deep: false, trusted: [signing.publicKey], reporter: silentReporter, lock: { held: true } });
    expect(v.ok).toBe(true);
    expect(v.signature.trusted).not.toBe(false);
  });

  it('a different manifest under the same id at the destination is a conflict: not overwritten, exit 3', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    const a = await takeBackup(src);
    await copy(opts(src, dst));
    const edited = Buffer.from(JSON.stringify({ ...a.manifest, labels: ['edited'] }, null, 2) + '\n');
    await dst.putBytes(`${a.id}/manifest.json`, edited);
    const r = await copy(opts(src, dst));
    expect(r.backups[0]).toMatchObject({ id: a.id, status: 'failed', error: expect.stringMatching(/differs from the source/) });
    expect(r.exitCode).toBe(3);
    expect(dst.objects.get(`${a.id}/manifest.json`)!.data.equals(edited)).toBe(true);
  });

  it('a damaged manifest at the source selected by --all is reported, not copied', async () => {
    const src = new Named('memory://src');
    const dst = new Named('memory://dst');
    const a = await takeBackup(src);
    const b = await takeBackup(src);
    await src.putBytes(`${a.id}/manifest.json`, Buffer.from('{ not json'));
    const r = await copy(opts(src, dst));
    expect(r.backups.map((x) => [x.id, x.status])).toEqual(expect.arrayContaining([[a.id, 'failed'], [b.id, 'copied']]));
    expect(keysOf(dst, a.id)).toEqual([]);
    expect(r.exitCode).toBe(3);
    // named by id, it is reported the same way
    const byId = await copy(opts(src, new Named('memory://dst2'), { all: false, selectors: [a.id, b.id] }));
    expect(byId.backups.map((x) => [x.id, x.status])).toEqual(expect.arrayContaining([[a.id, 'failed'], [b.id, 'copied']]));
    expect(byId.backups.find((x) => x.id === a.id)!.error).toMatch(/is damaged: manifest .* is not valid JSON/);
  });
});

describe('copy cancelled', () => {
  it('a cancellation mid-object stops the copy: no manifest there, the line names the backup, a rerun finishes it', async () => {
    const src = new Named('memory://src');
    const a = await takeBackup(src);
    const b = await takeBackup(src);
    class CancelOnPut extends Named {
      armed = true;
      override async put(k: string, body: Readable): Promise<{ size: number }> {
        if (this.armed && k.startsWith(b.id)) cancel('SIGTERM');
        return super.put(k, body);
      }
    }
    const dst = new CancelOnPut('memory://dst');
    try {
      await expect(copy(opts(src, dst))).rejects.toBeInstanceOf(CancelledError);
      expect(cancellation()?.activity).toEqual({
        what: `copy of ${b.id} from memory://src to memory://dst`,
        outcome: `1 backup(s) copied before it; ${b.id} has no manifest at memory://dst, a rerun finishes it`,
      });
    } finally {
      resetCancellation();
    }
    dst.armed = false;
    expect(await completeIds(dst)).toEqual([a.id]);
    expect(dst.objects.has(`${b.id}/manifest.json`)).toBe(false);
    const rerun = await copy(opts(src, dst));
    expect(rerun.backups.map((r) => r.status)).toEqual(['skipped', 'copied']);
    expect(await completeIds(dst)).toEqual([a.id, b.id]);
  });
});

describe('verify across locations', () => {
  it('consistent copies pass; a location holding other bytes of equal size, or a different manifest, fails naming it', async () => {
    const a = new Named('memory://a');
    const b = new Named('memory://b');
    const c = new Named('memory://c');
    const one = await takeBackup(a);
    const two = await takeBackup(a);
    await copy(opts(a, b));
    await copy(opts(a, c));
    const ok = await verifyAcross({ destinations: [a, b, c], selector: 'latest', deep: false, reporter: silentReporter, lock: { held: true } });
    expect(ok).toMatchObject({ ok: true, consistent: true, backupId: two.id, exitCode: 0 });

    // b: the object replaced by another backup's bytes (same size: random data, same gzip level)
    const k1 = `${one.id}/${one.manifest.artifacts[0]!.key}`;
    const k2 = `${two.id}/${two.manifest.artifacts[0]!.key}`;
    const other = Buffer.from(b.objects.get(k1)!.data);
    if (other.length === b.objects.get(k2)!.data.length) await b.putBytes(k2, other);
    else await corruptStoredObject(b, k2, 100);
    // c: a manifest recording a different SHA-256 (self-consistent, so only the comparison sees it)
    const m = JSON.parse(Buffer.from(c.objects.get(`${two.id}/manifest.json`)!.data).toString());
    m.artifacts[0].stored.sha256 = 'f'.repeat(64);
    await c.putBytes(`${two.id}/manifest.json`, Buffer.from(JSON.stringify(m)));
    const bad = await verifyAcross({ destinations: [a, b, c], selector: two.id, deep: false, reporter: silentReporter, lock: { held: true } });
    expect(bad.ok).toBe(false);
    expect(bad.exitCode).toBe(3);
    expect(bad.locations[1]!.result?.ok).toBe(false);
    expect(bad.problems).toEqual([expect.objectContaining({ location: 'memory://c', artifact: one.manifest.artifacts[0]!.name })]);
    expect(bad.consistent).toBe(false);
  });

  it('a location missing the backup is a problem naming it (exit 3)', async () => {
    const a = new Named('memory://a');
    const b = new Named('memory://b');
    await takeBackup(a);
    await copy(opts(a, b));
    const newer = await takeBackup(a);
    const r = await verifyAcross({ destinations: [a, b], selector: 'latest', deep: false, reporter: silentReporter, lock: { held: true } });
    expect(r).toMatchObject({ ok: false, consistent: false, backupId: newer.id, exitCode: 3 });
    expect(r.problems).toEqual([expect.objectContaining({ location: 'memory://b', problem: expect.stringContaining(`does not hold backup ${newer.id}`) })]);
  });

  it('a location holding no repository at all (an unmounted NAS) could not be checked: exit 4, naming it', async () => {
    const a = new Named('memory://a');
    const gone = new Named('memory://gone');
    const made = await takeBackup(a);
    const r = await verifyAcross({ destinations: [a, gone], selector: 'latest', deep: false, reporter: silentReporter, lock: { held: true } });
    expect(r).toMatchObject({ ok: false, backupId: made.id, exitCode: 4 });
    expect(r.locations[1]).toMatchObject({ location: 'memory://gone', error: { exitCode: 4, message: expect.stringContaining('no Strongbox repository at memory://gone') } });
  });
});

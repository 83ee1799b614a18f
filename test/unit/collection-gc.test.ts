import { describe, expect, it } from 'vitest';
import { prune } from '../../src/core/prune.js';
import { LockedError } from '../../src/shared/errors.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { FaultDestination, corruptStoredObject } from '../helpers/fault-destination.js';
import { RecordingReporter } from '../helpers/backup-fixtures.js';
import { idFor, plantCollection, plantMarker, writePack, type WrittenPack } from '../helpers/collection-fixtures.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');

/** Three nightly collection backups sharing one pack; each has one pack of its own. Everything written at T0. */
async function history() {
  let clock = T0;
  const dest = new MemoryDestination(() => new Date(clock));
  await plantMarker(dest);
  const shared = await writePack(dest, ['shared content, in every backup']);
  const own: WrittenPack[] = [];
  const ids: string[] = [];
  for (let d = 0; d < 3; d++) {
    const at = new Date(T0 + d * 1000).toISOString();
    const p = await writePack(dest, [`only in night ${d}`, `also only ${d}`]);
    own.push(p);
    const id = idFor(at);
    ids.push(id);
    await plantCollection(dest, { id, startedAt: at, packs: [shared, p] });
  }
  return { dest, shared, own, ids, setClock: (t: number) => (clock = t) };
}

const keys = (dest: MemoryDestination) => [...dest.objects.keys()];

describe('prune collects collection packs', () => {
  it('deletes the packs only removed backups used, keeps shared and stray objects', async () => {
    const { dest, shared, own, ids } = await history();
    await dest.putBytes('data/zz/notes.txt', Buffer.from('not a pack'));
    await dest.putBytes(`data/${'ab'}/${'cd'.repeat(16)}.pack`, Buffer.from('prefix does not match the id'));
    const r = await prune({ destination: dest, policy: { keepLast: 2 }, dryRun: false, reporter: new RecordingReporter(), now: () => new Date(T0 + 2 * DAY) });
    expect(r.removed.map((x) => x.id)).toEqual([ids[0]]);
    expect(r.packsRemoved).toBe(1);
    expect(r.packBytesRemoved).toBe(own[0]!.pack.size);
    expect(r.packs.referenced).toBe(3);
    const left = keys(dest);
    expect(left).not.toContain(own[0]!.key);
    expect(left).toEqual(expect.arrayContaining([shared.key, own[1]!.key, own[2]!.key, 'data/zz/notes.txt', `data/ab/${'cd'.repeat(16)}.pack`]));
    expect(left.some((k) => k.startsWith(`${ids[0]}/`))).toBe(false);
  });

  it('keeps unreferenced packs newer than the grace period; --dry-run lists and deletes nothing', async () => {
    const { dest, own, setClock } = await history();
    setClock(T0 + 2 * DAY - 3_600_000); // a pack a running (or killed) backup wrote an hour ago
    const fresh = await writePack(dest, ['written by a backup not committed yet']);
    const before = keys(dest);
    const dry = await prune({ destination: dest, policy: { keepLast: 2 }, dryRun: true, reporter: new RecordingReporter(), now: () => new Date(T0 + 2 * DAY) });
    expect(dry.packs.removed.map((p) => p.key)).toEqual([own[0]!.key]);
    expect(dry.packs.young).toBe(1);
    expect(keys(dest)).toEqual(before);
    // With a grace shorter than its age, the fresh pack goes too.
    const r = await prune({ destination: dest, policy: { keepLast: 2 }, dryRun: false, reporter: new RecordingReporter(), now: () => new Date(T0 + 2 * DAY), incompleteGraceMs: 1_800_000 });
    expect(r.packs.removed.map((p) => p.key).sort()).toEqual([own[0]!.key, fresh.key].sort());
  });

  it('a remaining backup whose refs cannot be read stops the collection: nothing under data/ is deleted', async () => {
    const { dest, ids } = await history();
    const refsKey = `${ids[2]}/files-media.refs.jsonl.gz`;
    await corruptStoredObject(dest, refsKey, 20);
    const packsBefore = keys(dest).filter((k) => k.startsWith('data/'));
    const reporter = new RecordingReporter();
    const r = await prune({ destination: dest, policy: { keepLast: 2 }, dryRun: false, reporter, now: () => new Date(T0 + 2 * DAY) });
    expect(r.removed.map((x) => x.id)).toEqual([ids[0]]); // retention itself still applies
    expect(r.packsRemoved).toBe(0);
    expect(r.packs.skipped).toContain(`the refs of artifact files-media of backup ${ids[2]} cannot be read`);
    expect(reporter.lines.join('\n')).toMatch(/warning: packs at memory:\/\/test not collected: .*does not match its manifest.*nothing under data\/ was deleted/);
    expect(keys(dest).filter((k) => k.startsWith('data/'))).toEqual(packsBefore);
  });

  it('a manifest that cannot be read stops the collection too (what it refers to is unknown)', async () => {
    const { dest, ids } = await history();
    await dest.putBytes(`${ids[1]}/manifest.json`, Buffer.from('{"format":"2.0"}'));
    const packsBefore = keys(dest).filter((k) => k.startsWith('data/'));
    const r = await prune({ destination: dest, policy: { keepLast: 1 }, dryRun: false, reporter: new RecordingReporter(), now: () => new Date(T0 + 2 * DAY) });
    expect(r.packs.skipped).toContain(`the manifest of backup ${ids[1]} cannot be read`);
    expect(keys(dest).filter((k) => k.startsWith('data/'))).toEqual(packsBefore);
  });

  it('an interrupted prune leaves only unreferenced packs, which the next prune collects', async () => {
    const { dest, shared, own, ids } = await history();
    // The lock is lost after the first pack delete: the run stops there.
    let packDeletes = 0;
    class LosingLock extends FaultDestination {
      override async delete(key: string): Promise<void> {
        if (key.startsWith('data/') && ++packDeletes > 1) throw new LockedError('lost the prune lock (injected)');
        return super.delete(key);
      }
    }
    const faulty = new LosingLock(dest);
    const now = () => new Date(T0 + 2 * DAY);
    await expect(prune({ destination: faulty, policy: { keepLast: 1 }, dryRun: false, reporter: new RecordingReporter(), now })).rejects.toThrow('lost the prune lock');
    // Backups 0 and 1 are gone; of their packs one was deleted. The live backup has all of its packs.
    expect(keys(dest).some((k) => k.startsWith(`${ids[0]}/`) || k.startsWith(`${ids[1]}/`))).toBe(false);
    expect(keys(dest)).toEqual(expect.arrayContaining([shared.key, own[2]!.key]));
    expect([own[0]!.key, own[1]!.key].filter((k) => dest.objects.has(k))).toHaveLength(1);
    const next = await prune({ destination: dest, policy: { keepLast: 1 }, dryRun: false, reporter: new RecordingReporter(), now });
    expect(next.packsRemoved).toBe(1);
    expect(keys(dest).filter((k) => k.startsWith('data/')).sort()).toEqual([shared.key, own[2]!.key].sort());
  });

  it('a backup whose delete failed stays live: its packs are kept', async () => {
    const { dest, own, ids } = await history();
    const faulty = new FaultDestination(dest, { denyDelete: (k) => k === `${ids[0]}/files-media.index.jsonl.gz` });
    const r = await prune({ destination: faulty, policy: { keepLast: 2 }, dryRun: false, reporter: new RecordingReporter(), now: () => new Date(T0 + 2 * DAY) });
    expect(r.retained.map((x) => x.id)).toEqual([ids[0]]);
    expect(r.packsRemoved).toBe(0);
    expect(dest.objects.has(own[0]!.key)).toBe(true);
    // The half-removed backup is incomplete now; after the grace the next prune removes it and its pack.
    const next = await prune({ destination: dest, policy: { keepLast: 2 }, dryRun: false, reporter: new RecordingReporter(), now: () => new Date(T0 + 3 * DAY) });
    expect(next.incompleteRemoved).toEqual([ids[0]]);
    expect(next.packs.removed.map((p) => p.key)).toEqual([own[0]!.key]);
  });
});

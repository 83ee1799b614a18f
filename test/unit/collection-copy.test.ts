import { describe, expect, it } from 'vitest';
import { copy } from '../../src/core/copy.js';
import { listBackups } from '../../src/core/repository.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { corruptStoredObject } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { RecordingReporter } from '../helpers/backup-fixtures.js';
import { idFor, plantCollection, plantMarker, writePack } from '../helpers/collection-fixtures.js';

class Named extends MemoryDestination {
  constructor(override readonly display: string) {
    super();
  }
}

async function repos() {
  const src = new Named('memory://src');
  const dst = new Named('memory://dst');
  await plantMarker(src);
  await plantMarker(dst);
  const shared = await writePack(src, ['in both backups']);
  const a = await writePack(src, ['only in the first', 'and this']);
  const b = await writePack(src, ['only in the second']);
  const ida = idFor('2026-11-20T00:00:00Z');
  const idb = idFor('2026-11-21T00:00:00Z');
  await plantCollection(src, { id: ida, startedAt: '2026-11-20T00:00:00Z', packs: [shared, a] });
  await plantCollection(src, { id: idb, startedAt: '2026-11-21T00:00:00Z', packs: [shared, b] });
  return { src, dst, shared, a, b, ida, idb };
}

describe('copy of collection backups', () => {
  it('copies the packs the refs name before the manifest, and skips those already there', async () => {
    const { src, dst, shared, a, b, ida, idb } = await repos();
    const first = await copy({ source: src, destination: dst, selectors: [ida], all: false, labels: [], reporter: silentReporter });
    expect(first.copied).toBe(1);
    for (const p of [shared, a]) expect(Buffer.compare(dst.objects.get(p.key)!.data, src.objects.get(p.key)!.data)).toBe(0);
    expect(dst.objects.has(b.key)).toBe(false);
    expect(dst.objects.has(`${ida}/files-media.refs.jsonl.gz`)).toBe(true);
    const reporter = new RecordingReporter();
    const second = await copy({ source: src, destination: dst, selectors: [idb], all: false, labels: [], reporter });
    expect(second.copied).toBe(1);
    expect(reporter.lines).toContain(`info:   ${idb}: 1 of 2 pack(s) copied and confirmed (${b.pack.size} B), 1 already there`);
    expect(second.bytes).toBeLessThan(first.bytes + b.pack.size); // the shared pack moved once
    expect((await listBackups(dst, silentReporter)).filter((e) => e.complete).map((e) => e.id)).toEqual([ida, idb]);
  });

  it('a damaged or missing pack at the source fails that backup, naming pack and backup; nothing is committed', async () => {
    const { src, dst, a, b, ida, idb } = await repos();
    await corruptStoredObject(src, a.key, 3);
    src.objects.delete(b.key);
    const r = await copy({ source: src, destination: dst, selectors: [ida, idb], all: false, labels: [], reporter: silentReporter });
    expect(r.failed).toBe(2);
    expect(r.exitCode).toBe(3);
    expect(r.backups[0]!.error).toMatch(new RegExp(`^pack ${a.pack.id} of backup ${ida}: stored object .* does not match its manifest`));
    expect(r.backups[1]!.error).toMatch(new RegExp(`^pack ${b.pack.id} of backup ${idb}: stored object .* is missing`));
    expect(dst.objects.has(a.key)).toBe(false);
    expect([...dst.objects.keys()].some((k) => k.endsWith('manifest.json'))).toBe(false);
  });

  it('damaged refs at the source fail the backup before any pack moves', async () => {
    const { src, dst, ida } = await repos();
    await corruptStoredObject(src, `${ida}/files-media.refs.jsonl.gz`, 15);
    const r = await copy({ source: src, destination: dst, selectors: [ida], all: false, labels: [], reporter: silentReporter });
    expect(r.backups[0]!.error).toMatch(/^the refs of artifact files-media of backup .* cannot be read: stored object .* does not match its manifest/);
    expect([...dst.objects.keys()].filter((k) => k.startsWith('data/'))).toEqual([]);
  });
});

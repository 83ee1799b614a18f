import { describe, expect, it } from 'vitest';
import { copy } from '../../src/core/copy.js';
import { verify } from '../../src/core/verify.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { corruptStoredObject } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { idFor, plantCollection, plantMarker, writePack } from '../helpers/collection-fixtures.js';

class Named extends MemoryDestination {
  constructor(override readonly display: string) {
    super();
  }
}

async function repo() {
  const dest = new Named('memory://src');
  await plantMarker(dest);
  const p1 = await writePack(dest, ['one', 'two']);
  const p2 = await writePack(dest, ['three']);
  const id = idFor('2026-11-20T00:00:00Z');
  await plantCollection(dest, { id, startedAt: '2026-11-20T00:00:00Z', packs: [p1, p2] });
  return { dest, p1, p2, id };
}

const check = (dest: MemoryDestination) => verify({ destination: dest, selector: 'latest', deep: false, reporter: silentReporter });

describe('verify of a collection without a key', () => {
  it('passes a sound collection, counting its packs', async () => {
    const { dest } = await repo();
    const r = await check(dest);
    expect(r.problems).toEqual([]);
    expect(r.artifacts[0]).toMatchObject({ name: 'files-media', storedOk: true, packs: { total: 2, ok: 2 } });
  });

  it('names the pack and the backup: missing, wrong size, damaged bytes', async () => {
    const { dest, p1, id } = await repo();
    dest.objects.delete(p1.key);
    const missing = await check(dest);
    expect(missing.exitCode).toBe(3);
    expect(missing.problems).toEqual([expect.objectContaining({ artifact: 'files-media', object: `memory://src/${p1.key}`, problem: `pack ${p1.pack.id} of backup ${id} is missing` })]);
    await dest.putBytes(p1.key, Buffer.alloc(p1.pack.size + 7));
    expect((await check(dest)).problems.map((p) => p.problem)).toEqual([`pack ${p1.pack.id} of backup ${id} holds ${p1.pack.size + 7} bytes, its refs say ${p1.pack.size}`]);
    dest.objects.delete(p1.key);
    const fresh = await repo();
    await corruptStoredObject(fresh.dest, fresh.p2.key, 5);
    const bad = await check(fresh.dest);
    expect(bad.problems.map((p) => p.problem)).toEqual([expect.stringMatching(new RegExp(`^pack ${fresh.p2.pack.id} of backup ${fresh.id}: stored bytes do not match its refs`))]);
    expect(bad.artifacts[0]!.packs).toEqual({ total: 2, ok: 1 });
  });

  it('reports damaged or missing refs by name', async () => {
    const { dest, id } = await repo();
    await corruptStoredObject(dest, `${id}/files-media.refs.jsonl.gz`, 12);
    expect((await check(dest)).problems).toEqual([expect.objectContaining({ object: `memory://src/${id}/files-media.refs.jsonl.gz`, problem: expect.stringMatching(/does not match its manifest/) })]);
    dest.objects.delete(`${id}/files-media.refs.jsonl.gz`);
    expect((await check(dest)).problems.map((p) => p.problem)).toEqual([`refs object of backup ${id} is missing`]);
  });

  it('a copied collection verifies at its new home', async () => {
    const { dest, id } = await repo();
    const dst = new Named('memory://dst');
    await plantMarker(dst);
    expect((await copy({ source: dest, destination: dst, selectors: [id], all: false, labels: [], reporter: silentReporter })).copied).toBe(1);
    const r = await check(dst);
    expect(r.ok).toBe(true);
    expect(r.artifacts[0]!.packs).toEqual({ total: 2, ok: 2 });
  });
});

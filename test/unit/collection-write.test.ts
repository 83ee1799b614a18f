import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { blobId, contentKeyFor, contentKeyId } from '../../src/core/collection/content-key.js';
import { LARGE_MEMBER, PACK_TARGET, packKey, type IndexMember } from '../../src/core/collection/format.js';
import { PackWriter } from '../../src/core/collection/pack-writer.js';
import { checkShield } from '../../src/core/collection/shield.js';
import { writeCollection, type CollectionContext } from '../../src/core/collection/write.js';
import { objectKey } from '../../src/core/repository.js';
import type { Destination } from '../../src/destinations/types.js';
import { RefusedError } from '../../src/shared/errors.js';
import { MemberSkipped, type CollectionEntry, type CollectionReader } from '../../src/sources/collection.js';
import { RecordingReporter } from '../helpers/backup-fixtures.js';
import { FaultDestination } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

const R1 = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const R2 = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';

describe('content key', () => {
  it('comes from the secret when given, else from the passphrase, the recipients (in any order) or a fixed key', () => {
    const secret = contentKeyFor({ secret: 's3cret', encryption: { recipients: [R1] } });
    expect(secret.source).toBe('secret');
    expect(secret.key).toEqual(createHash('sha256').update('strongbox content key v1\0s3cret').digest());
    const a = contentKeyFor({ encryption: { recipients: [R1, R2] } });
    const b = contentKeyFor({ encryption: { recipients: [R2, R1] } });
    expect(a.source).toBe('recipients');
    expect(a.key).toEqual(b.key);
    expect(a.key).toEqual(createHash('sha256').update(`strongbox content key v1 recipients\0${[R1, R2].sort().join('\n')}`).digest());
    expect(contentKeyFor({ encryption: { recipients: [R1] } }).id).not.toBe(a.id);
    const p = contentKeyFor({ encryption: { passphrase: 'correct horse battery staple' } });
    expect(p.source).toBe('passphrase');
    expect(p.id).not.toBe(contentKeyFor({ encryption: { passphrase: 'another passphrase entirely' } }).id);
    const fixed = contentKeyFor({});
    expect(fixed.source).toBe('fixed');
    expect(fixed.id).toBe(contentKeyFor({ secret: '' }).id);
  });

  it('ids are the first 16 hex of SHA-256("id\\0" + key), and blob ids a keyed HMAC: the same file under two keys has unrelated ids', () => {
    const k = contentKeyFor({ secret: 'x' });
    expect(k.id).toBe(createHash('sha256').update(Buffer.concat([Buffer.from('id\0'), k.key])).digest('hex').slice(0, 16));
    expect(contentKeyId(k.key)).toBe(k.id);
    const data = Buffer.from('a known file');
    expect(blobId(k, data)).toBe(createHmac('sha256', k.key).update(data).digest('hex'));
    expect(blobId(k, data)).not.toBe(blobId(contentKeyFor({ secret: 'y' }), data));
    // Not the plain SHA-256 a reader of the storage could compute from the file.
    expect(blobId(k, data)).not.toBe(createHash('sha256').update(data).digest('hex'));
  });
});

const reporter = () => new RecordingReporter();

function packCtx(dests: Destination[], dropped: Destination[] = []) {
  return {
    live: () => dests.filter((d) => !dropped.includes(d)),
    drop: (d: Destination, err: unknown) => {
      dropped.push(d);
      if (dests.every((x) => dropped.includes(x))) throw err;
    },
    compression: { algorithm: 'none' as const },
    confirm: 'hash' as const,
    reporter: reporter(),
  };
}

describe('pack writer', () => {
  it('closes a pack once it holds PACK_TARGET plaintext bytes and addresses each blob by offset', async () => {
    const dest = new MemoryDestination();
    const w = new PackWriter(packCtx([dest]));
    const blob = Buffer.alloc(LARGE_MEMBER - 1, 7);
    const at: { pack: string; offset: number }[] = [];
    const perPack = Math.ceil(PACK_TARGET / blob.length);
    for (let i = 0; i < perPack + 1; i++) at.push(await w.append(blob));
    const written = await w.finish();
    expect(written).toHaveLength(2);
    expect(new Set(at.slice(0, perPack).map((a) => a.pack)).size).toBe(1);
    expect(at[perPack]!.pack).not.toBe(at[0]!.pack);
    expect(at.slice(0, perPack).map((a) => a.offset)).toEqual(Array.from({ length: perPack }, (_, i) => i * blob.length));
    expect(at[perPack]!.offset).toBe(0);
    const first = dest.objects.get(packKey(at[0]!.pack))!.data;
    expect(first.length).toBe(perPack * blob.length);
    expect(first.length).toBeGreaterThanOrEqual(PACK_TARGET);
    expect(written.find((p) => p.id === at[0]!.pack)).toMatchObject({ t: 'pack', size: first.length, plain: first.length, sha256: createHash('sha256').update(first).digest('hex') });
  });

  it('gives a large member a pack of its own, and deletes it again when its content turns out known', async () => {
    const dest = new MemoryDestination();
    const w = new PackWriter(packCtx([dest]));
    const own = w.startOwn();
    own.input.end(Buffer.alloc(LARGE_MEMBER, 1));
    const dup = w.startOwn();
    dup.input.end(Buffer.alloc(LARGE_MEMBER, 1));
    expect((await w.stored(own.id)).plain).toBe(LARGE_MEMBER);
    await w.discard(dup.id);
    const written = await w.finish();
    expect(written.map((p) => p.id)).toEqual([own.id]);
    expect(dest.objects.has(packKey(own.id))).toBe(true);
    expect(dest.objects.has(packKey(dup.id))).toBe(false);
  });

  it('drops a destination whose pack upload fails, and stores the pack at the others', async () => {
    const good = new MemoryDestination(undefined, 'memory://good');
    const bad = new FaultDestination(new MemoryDestination(undefined, 'memory://bad'), { failPut: (k) => k.startsWith('data/') });
    const dropped: Destination[] = [];
    const w = new PackWriter(packCtx([good, bad], dropped));
    const at = await w.append(Buffer.from('hello'));
    await w.finish();
    expect(dropped).toEqual([bad]);
    expect(good.objects.get(packKey(at.pack))!.data.toString()).toBe('hello');
  });

  it('fails when the pack cannot be stored anywhere', async () => {
    const bad = new FaultDestination(new MemoryDestination(), { failPut: () => true });
    const w = new PackWriter(packCtx([bad]));
    await w.append(Buffer.from('x'));
    await expect(w.finish()).rejects.toThrow(/upload of data\//);
  });
});

interface FakeMember {
  name: string;
  content?: string;
  fp?: string;
  vanish?: boolean;
}

function fakeReader(members: FakeMember[], opened: string[], compare: (a: string, b: string) => number = (a, b) => (a < b ? -1 : a > b ? 1 : 0)): CollectionReader {
  return {
    details: { path: '/fake' },
    compare,
    concurrency: 3,
    async *entries() {
      for (const m of members) {
        const e: CollectionEntry = { name: m.name, hasContent: m.content !== undefined, size: m.content?.length ?? 0, record: { type: m.content !== undefined ? 'file' : 'dir' } };
        if (m.fp !== undefined) e.fingerprint = m.fp;
        yield e;
      }
    },
    async open(entry) {
      opened.push(entry.name);
      const m = members.find((x) => x.name === entry.name)!;
      if (m.vanish) throw new MemberSkipped(entry.name, 'vanished before it was read');
      return { stream: Readable.from([Buffer.from(m.content!)]) };
    },
  };
}

describe('writeCollection against the previous state', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const setup = () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'sb-state-'));
    dirs.push(stateDir);
    const dest = new MemoryDestination();
    let n = 0;
    const run = async (members: FakeMember[], over: Partial<CollectionContext> = {}, compare?: (a: string, b: string) => number) => {
      const opened: string[] = [];
      const backupId = `20260101T00000${n++}Z-aaaaaa`;
      const rep = reporter();
      const written = await writeCollection(
        { name: 'files-t', kind: 'files', shield: false, identity: () => '/fake', open: async () => fakeReader(members, opened, compare) },
        { ...packCtx([dest]), reporter: rep, backupId, contentKey: contentKeyFor({ secret: 'k' }), stateDir, ...over },
      );
      await written.commitState();
      const lines = dest.objects.get(objectKey(backupId, written.record.key))!.data.toString().trim().split('\n').map((l) => JSON.parse(l) as IndexMember);
      return { opened, record: written.record, index: lines.slice(1), reporter: rep };
    };
    return { dest, stateDir, run };
  };

  const tree: FakeMember[] = [
    { name: 'a', content: 'alpha', fp: '1' },
    { name: 'b', content: 'beta', fp: '1' },
    { name: 'c', content: 'gamma', fp: '1' },
    { name: 'd' },
  ];

  it('reads only changed and new members; unchanged ones are referenced, deleted ones leave the index', async () => {
    const { run } = setup();
    const first = await run(tree);
    expect(first.opened.sort()).toEqual(['a', 'b', 'c']);
    expect(first.record.collection).toMatchObject({ members: 4, bytes: 14, newMembers: 3, reused: 0, skipped: 0, newPacks: 1 });

    const second = await run([
      { name: 'a', content: 'alpha', fp: '1' },
      { name: 'b', content: 'BETA!', fp: '2' },
      { name: 'bb', content: 'new', fp: '1' },
      { name: 'd' },
    ]);
    expect(second.opened.sort()).toEqual(['b', 'bb']);
    expect(second.index.map((m) => m.name)).toEqual(['a', 'b', 'bb', 'd']);
    expect(second.record.collection).toMatchObject({ members: 4, newMembers: 2, reused: 1, packs: 2, newPacks: 1 });
    const a1 = first.index.find((m) => m.name === 'a')!;
    expect(second.index[0]!.blob).toEqual(a1.blob);
    expect(second.index[1]!.sha256).toBe(createHash('sha256').update('BETA!').digest('hex'));
  });

  it('an order mismatch with the state costs only re-reads: every member is still right', async () => {
    const { run } = setup();
    const first = await run(tree);
    const reversed = [...tree].reverse();
    const second = await run(reversed, {}, (a, b) => (a < b ? 1 : a > b ? -1 : 0));
    expect(second.index.map((m) => m.name)).toEqual(['d', 'c', 'b', 'a']);
    for (const m of second.index) expect(m.sha256).toBe(first.index.find((x) => x.name === m.name)!.sha256);
    // The state's cursor ran past the members it could not match: those were read (and stored) again.
    expect(second.opened.length).toBeGreaterThan(0);
    expect(second.record.collection!.members).toBe(4);
  });

  it('same content twice in one run is stored once', async () => {
    const { run } = setup();
    const r = await run([
      { name: 'x', content: 'same', fp: '1' },
      { name: 'y', content: 'same', fp: '1' },
    ]);
    expect(r.index[0]!.blob).toEqual(r.index[1]!.blob);
    expect(r.record.collection).toMatchObject({ newMembers: 1, reused: 1 });
  });

  it('a state pointing at a pack that is gone (pruned) re-reads its members', async () => {
    const { run, dest } = setup();
    const first = await run(tree);
    dest.objects.delete(packKey(first.index[0]!.blob!.pack));
    const second = await run(tree);
    expect(second.opened.sort()).toEqual(['a', 'b', 'c']);
    expect(second.record.collection).toMatchObject({ newMembers: 3, newPacks: 1 });
    expect(dest.objects.has(packKey(second.index[0]!.blob!.pack))).toBe(true);
  });

  it('a state written with another content key is ignored', async () => {
    const { run } = setup();
    await run(tree);
    const second = await run(tree, { contentKey: contentKeyFor({ secret: 'other' }) });
    expect(second.opened.sort()).toEqual(['a', 'b', 'c']);
    expect(second.record.collection!.reused).toBe(0);
  });

  it('a member that vanished is counted as skipped and named in a warning, never a failure', async () => {
    const { run } = setup();
    const r = await run([{ name: 'a', content: 'alpha', fp: '1' }, { name: 'gone', content: 'x', fp: '1', vanish: true }]);
    expect(r.index.map((m) => m.name)).toEqual(['a']);
    expect(r.record.collection).toMatchObject({ members: 1, skipped: 1 });
    expect(r.reporter.lines.join('\n')).toMatch(/1 member\(s\) skipped.*gone \(vanished before it was read\)/);
  });
});

describe('delete shield', () => {
  it('refuses an empty listing and one down more than half, naming both counts; --allow-shrink lets it through', () => {
    expect(() => checkShield('bucket-media', { members: 0, bytes: 0 }, { id: 'B1', members: 1661, bytes: 2e9 }, false)).toThrow(
      /bucket-media: the source lists no members \(the previous backup B1 had 1661 members, 1\.9 GiB\)/,
    );
    let err: unknown;
    try {
      checkShield('bucket-media', { members: 800, bytes: 1.9e9 }, { id: 'B1', members: 1661, bytes: 2e9 }, false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).exitCode).toBe(7);
    expect((err as Error).message).toMatch(/holds 800 members .* down from 1661 .* in the previous backup B1, more than 50 % fewer members; nothing was committed/);
    expect((err as RefusedError).hint).toMatch(/--allow-shrink/);
    expect(() => checkShield('b', { members: 1600, bytes: 0.9e9 }, { id: 'B1', members: 1661, bytes: 2e9 }, false)).toThrow(/fewer bytes/);
    expect(() => checkShield('b', { members: 900, bytes: 1.1e9 }, { id: 'B1', members: 1661, bytes: 2e9 }, false)).not.toThrow();
    expect(() => checkShield('b', { members: 0, bytes: 0 }, { id: 'B1', members: 1661, bytes: 2e9 }, true)).not.toThrow();
    expect(() => checkShield('b', { members: 3, bytes: 10 }, undefined, false)).not.toThrow();
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, UsageError } from '../../src/shared/errors.js';
import { LocalDestination, TEMP_PREFIX } from '../../src/destinations/local.js';

let root: string;
let dest: LocalDestination;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'strongbox-local-'));
  dest = new LocalDestination(path.join(root, 'repo'));
  await mkdir(path.join(root, 'repo'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file below dir, relative, including temp files (which `list` hides). */
async function filesOnDisk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

async function keys(prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of dest.list(prefix)) out.push(o.key);
  return out;
}

/** Yields `first`, then fails (like a dump process dying mid-stream). */
function failingStream(first: Buffer, err: Error): Readable {
  return Readable.from(
    (async function* () {
      yield first;
      await new Promise((r) => setTimeout(r, 10));
      throw err;
    })(),
  );
}

/** Yields data until destroyed: a source that would never finish by itself. */
function endlessStream(): Readable {
  return new Readable({
    read() {
      setTimeout(() => this.push(Buffer.alloc(64 * 1024, 1)), 1);
    },
  });
}

describe('LocalDestination', () => {
  it('stores a stream under nested keys and reads it back byte for byte', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const { size } = await dest.put('2024-01-01T00-00-00Z/db.dump.zst.age', Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(size).toBe(data.length);
    // (Buffer.equals: a deep toEqual over megabytes is very slow.)
    expect((await buffer(await dest.get('2024-01-01T00-00-00Z/db.dump.zst.age'))).equals(data)).toBe(true);
    expect(await dest.stat('2024-01-01T00-00-00Z/db.dump.zst.age')).toMatchObject({ size: data.length });
    // Backups may hold a database in the clear: only the owner may read them.
    expect((await stat(path.join(root, 'repo', '2024-01-01T00-00-00Z', 'db.dump.zst.age'))).mode & 0o777).toBe(0o600);
  });

  it('makes no read-back when asked not to (--confirm-upload size), and still stores every byte', async () => {
    const data = randomBytes(1024 * 1024 + 3);
    const put = await dest.put('b/size-only.tar.zst.age', Readable.from([data]), { readBack: false });
    expect(put).toEqual({ size: data.length });
    expect((await readFile(path.join(root, 'repo', 'b', 'size-only.tar.zst.age'))).equals(data)).toBe(true);
  });

  it('reads what it wrote back from the file, stretch by stretch as the syncs land: readBack is the SHA-256 of the file', async () => {
    // 64 KiB between syncs: the 3 MiB object is read back in ~48 stretches while it is written.
    const small = new LocalDestination(path.join(root, 'repo'), {}, 64 * 1024);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const chunks = Array.from({ length: Math.ceil(data.length / 16_384) }, (_, i) => data.subarray(i * 16_384, (i + 1) * 16_384));
    const put = await small.put('b/files.tar.zst.age', Readable.from(chunks));
    const sha256 = createHash('sha256').update(data).digest('hex');
    expect(put).toEqual({ size: data.length, readBack: { size: data.length, sha256 } });
    expect((await readFile(path.join(root, 'repo', 'b', 'files.tar.zst.age'))).equals(data)).toBe(true);
  });

  it('readBack is what the file holds, not what the stream carried: a byte changed on disk mid-write shows', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const body = Readable.from((async function* () {
      yield data.subarray(0, 1024 * 1024);
      await held;
      yield data.subarray(1024 * 1024);
    })());
    const put = dest.put('c/db.dump.zst.age', body);
    // Once the first MiB is in the temp file, flip one byte of it behind the writer's back.
    const dir = path.join(root, 'repo', 'c');
    for (;;) {
      const tmp = (await readdir(dir).catch(() => [])).find((n) => n.startsWith(TEMP_PREFIX));
      if (tmp && (await stat(path.join(dir, tmp))).size >= 1024 * 1024) {
        const fh = await open(path.join(dir, tmp), 'r+');
        await fh.write(Buffer.from([data[10]! ^ 0xff]), 0, 1, 10);
        await fh.close();
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    release();
    const { readBack } = await put;
    const flipped = Buffer.from(data);
    flipped[10]! ^= 0xff;
    expect(readBack).toEqual({ size: data.length, sha256: createHash('sha256').update(flipped).digest('hex') });
    expect(readBack!.sha256).not.toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('replaces an existing object whole', async () => {
    await dest.putBytes('a/manifest.json', Buffer.from('old and longer'));
    await dest.putBytes('a/manifest.json', Buffer.from('new'));
    expect(Buffer.from((await dest.getBytes('a/manifest.json'))!).toString()).toBe('new');
    expect(await filesOnDisk(path.join(root, 'repo'))).toEqual([path.join('a', 'manifest.json')]);
  });

  it('leaves neither the key nor a temp file when the body stream fails', async () => {
    const boom = new Error('pg_dump exited with code 1');
    await expect(dest.put('b1/db.dump', failingStream(Buffer.alloc(100_000, 7), boom))).rejects.toBe(boom);
    expect(await dest.stat('b1/db.dump')).toBeUndefined();
    expect(await filesOnDisk(path.join(root, 'repo'))).toEqual([]);
  });

  it('a failed first write into a backup folder leaves no empty folder behind (a dump that died before any data)', async () => {
    await dest.putBytes('strongbox.json', Buffer.from('{}'));
    await expect(dest.put('20260101T000000Z-abcdef/db.dump', failingStream(Buffer.alloc(0), new Error('pg_dump exited 1')))).rejects.toThrow(/pg_dump exited 1/);
    expect(await readdir(path.join(root, 'repo'))).toEqual(['strongbox.json']);
  });

  it('peeks at what a folder holds (not a fresh file system\'s lost+found), and refuses a file in its place', async () => {
    expect(await dest.peek(5)).toEqual([]);
    await mkdir(path.join(root, 'repo', 'lost+found'), { recursive: true });
    expect(await dest.peek(5)).toEqual([]);
    await writeFile(path.join(root, 'repo', 'notes.txt'), 'x');
    await mkdir(path.join(root, 'repo', 'photos'));
    expect(await dest.peek(5)).toEqual(['notes.txt', 'photos/']);
    expect(await dest.peek(1)).toEqual(['notes.txt']);
    await expect(new LocalDestination(path.join(root, 'repo', 'notes.txt')).peek(5)).rejects.toMatchObject({ exitCode: 7 });
  });

  it('removeAbandonedWrites removes old empty folders (a killed run\'s backup folder), reporting them; fresh ones stay', async () => {
    const repo = path.join(root, 'repo');
    await mkdir(path.join(repo, '20200101T000000Z-aaaaaa'), { recursive: true });
    await mkdir(path.join(repo, '20990101T000000Z-bbbbbb'));
    await mkdir(path.join(repo, 'lost+found'));
    const { utimes } = await import('node:fs/promises');
    const old = new Date('2020-01-02T00:00:00Z');
    await utimes(path.join(repo, '20200101T000000Z-aaaaaa'), old, old);
    await utimes(path.join(repo, 'lost+found'), old, old);
    const cutoff = new Date(Date.now() - 3_600_000);
    expect(await dest.removeAbandonedWrites(cutoff, true)).toEqual(['20200101T000000Z-aaaaaa/']);
    expect((await readdir(repo)).sort()).toEqual(['20200101T000000Z-aaaaaa', '20990101T000000Z-bbbbbb', 'lost+found']);
    expect(await dest.removeAbandonedWrites(cutoff, false)).toEqual(['20200101T000000Z-aaaaaa/']);
    expect((await readdir(repo)).sort()).toEqual(['20990101T000000Z-bbbbbb', 'lost+found']);
  });

  it('stops, and leaves nothing behind, when the AbortSignal fires mid-upload', async () => {
    const abort = new AbortController();
    const body = endlessStream();
    const put = dest.put('b1/big.dump', body, { signal: abort.signal });
    // Wait until data is actually being written to the temp file.
    for (let i = 0; i < 200 && (await filesOnDisk(path.join(root, 'repo'))).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await filesOnDisk(path.join(root, 'repo')))[0]).toContain(TEMP_PREFIX);
    abort.abort();
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(body.destroyed).toBe(true);
    expect(await dest.stat('b1/big.dump')).toBeUndefined();
    expect(await filesOnDisk(path.join(root, 'repo'))).toEqual([]);
  });

  it('refuses to start with an already aborted signal', async () => {
    await expect(dest.put('k', Readable.from([Buffer.from('x')]), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await filesOnDisk(path.join(root, 'repo'))).toEqual([]);
  });

  it('lists recursively in the order S3 uses, below a prefix, without temp files or folders', async () => {
    for (const k of ['a/b', 'a-c', 'a/d/e', 'b', 'ab/x']) await dest.putBytes(k, Buffer.from(k));
    await mkdir(path.join(root, 'repo', 'empty-folder'));
    await writeFile(path.join(root, 'repo', 'a', `${TEMP_PREFIX}deadbeef`), 'half a file from a killed run');
    expect(await keys()).toEqual(['a-c', 'a/b', 'a/d/e', 'ab/x', 'b']);
    expect(await keys('a/')).toEqual(['a/b', 'a/d/e']);
    expect(await keys('a')).toEqual(['a-c', 'a/b', 'a/d/e', 'ab/x']);
    expect(await keys('a/d')).toEqual(['a/d/e']);
    expect(await keys('zzz/')).toEqual([]);
    const infos = [];
    for await (const o of dest.list('a/')) infos.push(o);
    expect(infos[0]).toMatchObject({ key: 'a/b', size: 3 });
    expect(infos[0]!.lastModified).toBeInstanceOf(Date);
  });

  it('lists nothing, and finds nothing, where the folder does not exist (an unmounted share)', async () => {
    const gone = new LocalDestination(path.join(root, 'not-mounted'));
    expect(await (async () => { const out = []; for await (const o of gone.list('')) out.push(o); return out; })()).toEqual([]);
    expect(await gone.stat('strongbox.json')).toBeUndefined();
    expect(await gone.getBytes('strongbox.json')).toBeUndefined();
  });

  it.each(['../escape', '/etc/passwd', 'a/../../escape', 'a/./b', 'a//b', '', 'a/', 'a\\..\\..\\escape', `x/${TEMP_PREFIX}1`])(
    'refuses the key %j with a clear error and writes nothing',
    async (key) => {
      const err = await dest.putBytes(key, Buffer.from('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/key/);
      await expect(dest.get(key)).rejects.toBeInstanceOf(UsageError);
      expect(await filesOnDisk(root)).toEqual([]);
    },
  );

  it('refuses list prefixes that climb out of the root', async () => {
    await expect(keys('../')).rejects.toBeInstanceOf(UsageError);
    await expect(keys('a/../..')).rejects.toBeInstanceOf(UsageError);
    await expect(keys('/')).rejects.toBeInstanceOf(UsageError);
  });

  it('reports a missing object as NotFoundError naming the key and the folder', async () => {
    const err = await dest.get('b1/nope.dump').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain('b1/nope.dump');
    expect((err as Error).message).toContain(path.join(root, 'repo'));
    await dest.putBytes('b1/x', Buffer.from('x'));
    await expect(dest.get('b1')).rejects.toBeInstanceOf(NotFoundError); // a folder is not an object
    expect(await dest.getBytes('b1')).toBeUndefined();
    expect(await dest.stat('b1')).toBeUndefined();
    expect(await dest.getBytes('b1/x/y')).toBeUndefined();
  });

  it('writes a lock object only when absent, even when many try at once', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => dest.putBytesIfAbsent('locks/x.json', Buffer.from(`owner ${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(Buffer.from((await dest.getBytes('locks/x.json'))!).toString()).toBe(`owner ${winner}`);
    expect(await dest.putBytesIfAbsent('locks/x.json', Buffer.from('late'))).toBe(false);
    expect(await filesOnDisk(path.join(root, 'repo'))).toEqual([path.join('locks', 'x.json')]);
  });

  it('deletes objects, tolerates missing ones, and prunes folders left empty', async () => {
    await dest.putBytes('b1/a', Buffer.from('1'));
    await dest.putBytes('b1/sub/b', Buffer.from('2'));
    await dest.delete('b1/sub/b');
    await dest.delete('b1/sub/b');
    await dest.delete('never/was');
    expect(await keys()).toEqual(['b1/a']);
    await dest.delete('b1/a');
    expect(await readdir(path.join(root, 'repo'))).toEqual([]);
  });

  it('never creates its own folder or a parent again: a write into a vanished root (an unmounted share) fails, creating nothing', async () => {
    const gone = new LocalDestination(path.join(root, 'share', 'app'));
    for (const write of [() => gone.putBytes('20260101T000000Z-abcdef/manifest.json', Buffer.from('x')), () => gone.putBytesIfAbsent('locks/x.json', Buffer.from('x')), () => gone.putBytes('strongbox.json', Buffer.from('x'))]) {
      const err = await write().catch((e: unknown) => e);
      expect((err as Error).message).toContain(path.join(root, 'share', 'app'));
      expect((err as { hint?: string }).hint).toBe('a folder on the way is missing: check that the volume is mounted');
    }
    await expect(gone.createRoot()).rejects.toMatchObject({ exitCode: 4, message: expect.stringContaining(`its parent folder ${path.join(root, 'share')} does not exist`) });
    expect(await readdir(root)).toEqual(['repo']);
    await mkdir(path.join(root, 'share'));
    await gone.createRoot();
    await gone.createRoot(); // an existing folder is fine
    expect(await readdir(path.join(root, 'share'))).toEqual(['app']);
  });

  it('passes the file system error on with the path and a hint', async () => {
    await writeFile(path.join(root, 'blocker'), 'a file where a folder is expected');
    const blocked = new LocalDestination(path.join(root, 'blocker'));
    const err = await blocked.putBytes('x/y', Buffer.from('1')).catch((e: unknown) => e);
    expect((err as Error).message).toContain(path.join(root, 'blocker', 'x', 'y'));
    expect(await readFile(path.join(root, 'blocker'), 'utf8')).toBe('a file where a folder is expected');
  });
});

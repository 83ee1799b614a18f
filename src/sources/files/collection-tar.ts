import { Readable } from 'node:stream';
import { Header, Pax } from 'tar';
import { StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { IndexMemberLike, RestoreMember } from '../collection.js';

/**
 * A collection's members (an incremental tree, or a bucket's objects as files) as a tar stream,
 * so restoreFiles writes them with every rule of a tree restore (staging, refusal of escaping
 * entries, the swap). Entries come in index order (a folder before what is in it); names and
 * link targets too long or not ASCII get a pax header, as node-tar writes them. The collection's
 * root record, when given first as a member named '', is the `./` entry a tar backup starts with.
 *
 * A member with `hardlink` (members.ts) becomes a tar hard link, as the tar backup stores it, to
 * a file this stream already wrote for that inode with the same content: the first name, or when
 * that is not restored (not selected by --path, skipped at backup, not in the index) the first
 * name of the inode that is. So a link never points at anything outside this restore; a member
 * with nothing to link to is written as a file of its own, from its own blob.
 */

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);

type TarType = 'File' | 'Directory' | 'SymbolicLink' | 'Link';

const TYPES: Record<string, TarType> = { file: 'File', dir: 'Directory', symlink: 'SymbolicLink' };

function bad(m: IndexMemberLike, why: string): StrongboxError {
  return new StrongboxError(`member "${printable(m.name)}" cannot be restored as a file: ${why}`, { hint: 'the backup is damaged, or was written by a newer Strongbox' });
}

function entryName(name: string): string {
  return name.replace(/^\/+/, '');
}

/** The tar header block(s) of one member; with `linkTo`, a hard link to that earlier entry. */
export function memberHeader(m: IndexMemberLike, linkTo?: string): Buffer {
  const type = linkTo !== undefined ? 'Link' : TYPES[typeof m.type === 'string' ? m.type : m.sha256 !== undefined ? 'file' : ''];
  if (!type) throw bad(m, `unknown type ${JSON.stringify(m.type)}`);
  const name = entryName(m.name);
  const path = name === '' || name === '.' ? './' : type === 'Directory' ? `${name}/` : name;
  const linkpath = type === 'SymbolicLink' ? (m.link as string | undefined) : linkTo;
  if (type === 'SymbolicLink' && (typeof linkpath !== 'string' || !linkpath)) throw bad(m, 'a symbolic link without a target');
  const mode = typeof m.mode === 'number' ? m.mode & 0o7777 : type === 'Directory' ? 0o755 : 0o644;
  const mtime = typeof m.mtime === 'string' && !Number.isNaN(Date.parse(m.mtime)) ? new Date(m.mtime) : undefined;
  const num = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
  const data = {
    path,
    type,
    mode,
    uid: num(m.uid),
    gid: num(m.gid),
    size: type === 'File' ? m.size : 0,
    ...(mtime ? { mtime } : {}),
    ...(linkpath !== undefined ? { linkpath } : {}),
  };
  const header = new Header(data);
  // Sub-second times fit only a pax header (ustar holds whole seconds).
  const needPax = header.encode() || (mtime !== undefined && mtime.getTime() % 1000 !== 0);
  const block = header.block!;
  if (!needPax) return block;
  const pax = new Pax({ path, size: data.size, uid: data.uid, gid: data.gid, ...(mtime ? { mtime } : {}), ...(linkpath !== undefined ? { linkpath } : {}) }).encode();
  return Buffer.concat([pax, block]);
}

/**
 * The tar stream of `members` (each file's content read as it is reached, verified by the
 * RestoreMember's own stream). It errors when a member's content fails its check, so the
 * restore that reads it never sees a clean end-of-archive.
 */
export function membersTar(members: AsyncIterable<RestoreMember>, asFile?: (m: IndexMemberLike) => IndexMemberLike): Readable {
  /**
   * Files this stream wrote whose inode had other names at backup (`nlink`), by the inode's first
   * name in the index: the entry written, its content, and how many more names may link to it.
   * Bounded by the number of hard-linked files.
   */
  const written = new Map<string, { entry: string; sha256: string; size: number; left: number }>();
  async function* blocks(): AsyncGenerator<Buffer> {
    for await (const rm of members) {
      const m = asFile ? asFile(rm.member) : rm.member;
      const inode = m.type === 'file' ? entryName(typeof m.hardlink === 'string' ? m.hardlink : m.name) : undefined;
      const first = inode !== undefined && typeof m.hardlink === 'string' ? written.get(inode) : undefined;
      if (first && first.sha256 === m.sha256 && first.size === m.size) {
        yield memberHeader(m, first.entry);
        if (--first.left <= 0) written.delete(inode!);
        continue;
      }
      yield memberHeader(m);
      const isFile = (typeof m.type === 'string' ? m.type : 'file') === 'file';
      if (!isFile) continue;
      const content = rm.open();
      let n = 0;
      if (content) {
        for await (const chunk of content as AsyncIterable<Buffer>) {
          n += chunk.length;
          yield chunk;
        }
      }
      if (n !== m.size) throw bad(m, `its content has ${n} bytes, the index says ${m.size}`);
      const pad = (BLOCK - (n % BLOCK)) % BLOCK;
      if (pad) yield ZEROS.subarray(0, pad);
      const nlink = m.nlink;
      if (inode !== undefined && !written.has(inode) && typeof nlink === 'number' && Number.isSafeInteger(nlink) && nlink > 1 && typeof m.sha256 === 'string') {
        written.set(inode, { entry: entryName(m.name), sha256: m.sha256, size: m.size, left: nlink - 1 });
      }
    }
    yield ZEROS;
  }
  return Readable.from(blocks(), { objectMode: false, highWaterMark: 1 << 20 });
}

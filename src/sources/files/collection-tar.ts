import { Readable } from 'node:stream';
import { Header, Pax } from 'tar';
import { StrongboxError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { IndexMemberLike, RestoreMember } from '../collection.js';

/**
 * A collection's members (an incremental tree, or a bucket's objects as files) as a tar stream,
 * so restoreFiles writes them with every rule of a tree restore (staging, refusal of escaping
 * entries, the swap). Entries come in index order (a folder before what is in it); names and
 * link targets too long or not ASCII get a pax header, as node-tar writes them.
 */

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);

type TarType = 'File' | 'Directory' | 'SymbolicLink';

const TYPES: Record<string, TarType> = { file: 'File', dir: 'Directory', symlink: 'SymbolicLink' };

function bad(m: IndexMemberLike, why: string): StrongboxError {
  return new StrongboxError(`member "${printable(m.name)}" cannot be restored as a file: ${why}`, { hint: 'the backup is damaged, or was written by a newer Strongbox' });
}

/** The tar header block(s) of one member. */
export function memberHeader(m: IndexMemberLike): Buffer {
  const type = TYPES[typeof m.type === 'string' ? m.type : m.sha256 !== undefined ? 'file' : ''];
  if (!type) throw bad(m, `unknown type ${JSON.stringify(m.type)}`);
  const name = m.name.replace(/^\/+/, '');
  const path = name === '' || name === '.' ? './' : type === 'Directory' ? `${name}/` : name;
  const linkpath = type === 'SymbolicLink' ? (m.link as string | undefined) : undefined;
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
  async function* blocks(): AsyncGenerator<Buffer> {
    for await (const rm of members) {
      const m = asFile ? asFile(rm.member) : rm.member;
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
    }
    yield ZEROS;
  }
  return Readable.from(blocks(), { objectMode: false, highWaterMark: 1 << 20 });
}

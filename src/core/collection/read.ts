import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, type DecryptOptions } from '../../codecs/age/index.js';
import { createDecompressor } from '../../codecs/compress.js';
import { expectDigest } from '../../codecs/hash.js';
import { objectName, type Destination } from '../../destinations/types.js';
import type { RestoreMember } from '../../sources/collection.js';
import { cancelSignal } from '../../shared/cancel.js';
import { NotFoundError, StrongboxError, VerificationError, errorMessage } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import { openPlaintext, storedLocation } from '../artifact-reader.js';
import type { ArtifactRecord } from '../types.js';
import { INDEX_FORMAT, isPackId, packKey, type IndexHeader, type IndexMember } from './format.js';
import { readJsonLines } from './lines.js';

/**
 * The keyed side of a collection: its index (encrypted, one line per member) and the members'
 * content, read from the packs. A restore reads each pack about once: members come in index
 * order, and a few open "pack cursors" (a pack decrypted and decompressed, read forward) serve
 * them; a cursor is reopened only for a member that lies before it.
 */

const DAMAGED = 'the backup is damaged; restore another backup (strongbox list) and check the storage';

/** How many packs may be open (decrypting, decompressing) at once. */
export const MAX_OPEN_PACKS = 4;

/**
 * Opens the index of collection artifact `record`, checks its header and returns it with the
 * members after it, streamed (memory stays at one line). The stream errors before its end when
 * the stored or plaintext bytes differ from the manifest, so act on the members only once it
 * ended cleanly, or on content that is itself verified (openMembers).
 */
export async function readIndex(
  dest: Destination,
  backupId: string,
  record: ArtifactRecord,
  decrypt: DecryptOptions | undefined,
): Promise<{ header: IndexHeader; members: AsyncGenerator<IndexMember> }> {
  const where = storedLocation(dest, backupId, record);
  const values = readJsonLines(await openPlaintext(dest, backupId, record, decrypt), `index ${where}`);
  try {
    const first = await values.next();
    if (first.done) throw new VerificationError(`index ${where} is empty`, DAMAGED);
    const header = checkHeader(first.value, where, record);
    return { header, members: indexMembers(values, where) };
  } catch (err) {
    await values.return(undefined).catch(() => {});
    throw err;
  }
}

function checkHeader(v: unknown, where: string, record: ArtifactRecord): IndexHeader {
  const h = v as Partial<IndexHeader> | null;
  if (!h || typeof h !== 'object' || typeof h.format !== 'string') throw new VerificationError(`index ${where} has no header line`, DAMAGED);
  if (h.format !== INDEX_FORMAT) {
    throw new StrongboxError(`index ${where} has format "${printable(h.format)}", which this Strongbox (${INDEX_FORMAT}) cannot read`, { hint: 'upgrade Strongbox to restore this backup' });
  }
  if (h.artifact !== record.name) {
    throw new VerificationError(`index ${where} belongs to artifact ${JSON.stringify(printable(String(h.artifact)))}, not ${JSON.stringify(printable(record.name))}`, DAMAGED);
  }
  return h as IndexHeader;
}

async function* indexMembers(values: AsyncGenerator<unknown>, where: string): AsyncGenerator<IndexMember> {
  let n = 1;
  for await (const v of values) {
    n++;
    yield checkMember(v, where, n);
  }
}

const SHA256 = /^[0-9a-f]{64}$/;
const count = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function checkMember(v: unknown, where: string, line: number): IndexMember {
  const m = v as IndexMember | null;
  const bad = (why: string) => new VerificationError(`index ${where} line ${line}: ${why}`, DAMAGED);
  if (!m || typeof m !== 'object' || typeof m.name !== 'string') throw bad('not a member (no name)');
  if (!count(m.size)) throw bad(`member "${printable(m.name)}" has no valid size`);
  if (m.blob !== undefined) {
    const b = m.blob;
    if (!b || typeof b !== 'object' || !isPackId(b.pack) || !count(b.offset) || b.length !== m.size) throw bad(`member "${printable(m.name)}" has an invalid blob reference`);
    if (typeof m.sha256 !== 'string' || !SHA256.test(m.sha256)) throw bad(`member "${printable(m.name)}" has no valid SHA-256`);
  }
  return m;
}

export interface OpenMembersOptions {
  /** Members (by name) to return; default all. Unselected members cost no pack read. */
  select?(name: string): boolean;
  /** At most this many packs open at once (default MAX_OPEN_PACKS). */
  maxOpenPacks?: number;
  /**
   * First return the collection's own record (IndexHeader.root), if the index has one, as a
   * content-less member named '' whatever `select` says: a tree restore applies it to the target
   * folder, as a tar restore does with its root entry.
   */
  root?: boolean;
}

/**
 * The members of a collection in index order, each with its content: `open()` returns a stream
 * that errors (VerificationError naming the member) before it ends unless the bytes match the
 * index's size and SHA-256. Members without content return undefined from open().
 */
export async function* openMembers(
  dest: Destination,
  backupId: string,
  record: ArtifactRecord,
  decrypt: DecryptOptions | undefined,
  opts: OpenMembersOptions = {},
): AsyncGenerator<RestoreMember> {
  const { header, members } = await readIndex(dest, backupId, record, decrypt);
  const packs = new PackCursors(dest, record, decrypt, opts.maxOpenPacks ?? MAX_OPEN_PACKS);
  try {
    const root = header.root;
    if (opts.root && root && typeof root === 'object' && !Array.isArray(root)) yield { member: { ...root, name: '', size: 0 }, open: () => undefined };
    for await (const member of members) {
      if (opts.select && !opts.select(member.name)) continue;
      const blob = member.blob;
      yield {
        member,
        open: () => (blob ? packs.read(member, blob.pack, blob.offset, blob.length) : undefined),
      };
    }
  } finally {
    packs.closeAll();
    await members.return(undefined).catch(() => {});
  }
}

/** A pack's plaintext, read forward. */
class PackCursor {
  pos = 0;
  busy = false;
  used = 0;
  closing = false;
  private carry: Buffer | undefined;
  private readonly it: AsyncIterator<Buffer>;
  constructor(
    readonly pack: string,
    private readonly stream: Readable,
    private readonly where: string,
  ) {
    this.it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  private async next(member: IndexMember): Promise<Buffer> {
    if (this.carry) {
      const c = this.carry;
      this.carry = undefined;
      return c;
    }
    const r = await this.it.next();
    if (r.done) throw new VerificationError(`pack ${this.where} ends before member "${printable(member.name)}" (at byte ${this.pos})`, DAMAGED);
    return r.value;
  }

  /** The bytes [offset, offset + length) of the plaintext; offset ≥ pos. */
  async *take(member: IndexMember, offset: number, length: number): AsyncGenerator<Buffer> {
    while (this.pos < offset) {
      const c = await this.next(member);
      const skip = Math.min(c.length, offset - this.pos);
      this.pos += skip;
      if (skip < c.length) this.carry = c.subarray(skip);
    }
    let left = length;
    while (left > 0) {
      const c = await this.next(member);
      const part = c.length > left ? c.subarray(0, left) : c;
      if (part.length < c.length) this.carry = c.subarray(part.length);
      this.pos += part.length;
      left -= part.length;
      yield part;
    }
  }

  close(): void {
    this.stream.destroy();
  }
}

/** The open pack cursors of one restore, at most `max` of them idle-or-busy (busy ones are never closed). */
class PackCursors {
  private readonly open: PackCursor[] = [];
  private clock = 0;
  private closed = false;
  constructor(
    private readonly dest: Destination,
    private readonly record: ArtifactRecord,
    private readonly decrypt: DecryptOptions | undefined,
    private readonly max: number,
  ) {}

  /** The member's content, verified, from a cursor at or before its offset (a new one if none is). */
  read(member: IndexMember, pack: string, offset: number, length: number): Readable {
    const check = expectDigest({ size: member.size, sha256: member.sha256! }, (actual) =>
      new VerificationError(
        `member "${printable(member.name)}" of ${printable(this.record.name)} does not match its index: ${actual.size} bytes with SHA-256 ${actual.sha256.slice(0, 16)}…, expected ${member.size} bytes with ${member.sha256!.slice(0, 16)}… (pack ${objectName(this.dest, packKey(pack))})`,
        DAMAGED,
      ),
    );
    const self = this;
    async function* content(): AsyncGenerator<Buffer> {
      const cursor = await self.cursorFor(member, pack, offset);
      let finished = false;
      try {
        yield* cursor.take(member, offset, length);
        finished = true;
      } catch (err) {
        throw describePackError(err, self.dest, pack, member);
      } finally {
        cursor.busy = false;
        cursor.used = ++self.clock;
        // A read cut short leaves the cursor mid-blob: it is not reused.
        if (!finished || cursor.closing || self.closed) self.drop(cursor);
      }
    }
    pipeline(Readable.from(content(), { objectMode: false }), check).catch(() => {});
    return check;
  }

  private async cursorFor(member: IndexMember, pack: string, offset: number): Promise<PackCursor> {
    let best: PackCursor | undefined;
    for (const c of this.open) if (c.pack === pack && !c.busy && c.pos <= offset && (!best || c.pos > best.pos)) best = c;
    if (best) {
      best.busy = true;
      return best;
    }
    // Make room: the least recently used idle cursor goes.
    while (this.open.length >= this.max) {
      const idle = this.open.filter((c) => !c.busy).sort((a, b) => a.used - b.used)[0];
      if (!idle) break; // every one busy: the consumer reads that many members at once
      this.drop(idle);
    }
    const cursor = new PackCursor(pack, await this.openPack(member, pack), objectName(this.dest, packKey(pack)));
    cursor.busy = true;
    this.open.push(cursor);
    return cursor;
  }

  private async openPack(member: IndexMember, pack: string): Promise<Readable> {
    const key = packKey(pack);
    let source: Readable;
    try {
      source = await this.dest.get(key);
    } catch (err) {
      throw describePackError(err, this.dest, pack, member);
    }
    const stages = [
      source,
      this.record.encryption.scheme === 'age' ? createDecryptStream(this.decrypt!) : undefined,
      createDecompressor(this.record.compression.algorithm),
    ].filter((s) => s !== undefined);
    if (stages.length === 1) return source;
    const out = stages[stages.length - 1] as Readable;
    pipeline(stages as unknown as [Readable, Readable], { signal: cancelSignal() }).catch(() => {});
    return out;
  }

  private drop(c: PackCursor): void {
    const i = this.open.indexOf(c);
    if (i >= 0) this.open.splice(i, 1);
    c.close();
  }

  /** Idle cursors close now, busy ones when their member's read ends. */
  closeAll(): void {
    this.closed = true;
    for (const c of [...this.open]) {
      if (c.busy) c.closing = true;
      else this.drop(c);
    }
  }
}

function describePackError(err: unknown, dest: Destination, pack: string, member: IndexMember): unknown {
  if (err instanceof VerificationError && err.message.includes(`"${printable(member.name)}"`)) return err;
  const where = objectName(dest, packKey(pack));
  if (err instanceof NotFoundError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new VerificationError(`pack ${where} is missing: it holds member "${printable(member.name)}"`, DAMAGED);
  }
  if (err instanceof StrongboxError) {
    return new StrongboxError(`${err.message} (pack ${where}, member "${printable(member.name)}")`, { exitCode: err.exitCode, hint: err.hint, cause: err });
  }
  return new VerificationError(`reading pack ${where} for member "${printable(member.name)}" failed: ${printable(errorMessage(err))}`, DAMAGED);
}

/**
 * Deep verify of a collection: the index and every member's content read back, each member's
 * size and SHA-256 checked (packs read in index order, about once each). Throws at the first
 * damaged member, naming it; returns how many members (and bytes of content) were checked.
 */
export async function checkMembers(dest: Destination, backupId: string, record: ArtifactRecord, decrypt: DecryptOptions | undefined): Promise<{ members: number; bytes: number }> {
  let members = 0;
  let bytes = 0;
  for await (const m of openMembers(dest, backupId, record, decrypt)) {
    const content = m.open();
    if (content) for await (const chunk of content as AsyncIterable<Buffer>) bytes += chunk.length;
    members++;
  }
  return { members, bytes };
}

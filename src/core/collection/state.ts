import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor, createDecompressor } from '../../codecs/compress.js';
import { StrongboxError, errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import { readJsonLines } from './lines.js';
import { STATE_FORMAT, type RefsPack, type StateHeader, type StateMember } from './format.js';

/**
 * The state: the previous backup's member list (fingerprints and index lines) and the packs it
 * used, kept beside the backup side (--state-dir, the Actions cache) so the next run finds what
 * is unchanged without decrypting anything. zstd, not encrypted: it holds names, sizes and
 * SHA-256s. Written atomically (temp file + rename) after the manifest committed.
 */

/** `<artifact>-<12 hex of sha256(kind\0identity\0artifact)>.state.jsonl.zst` */
export function stateFileName(kind: string, identity: string, artifact: string): string {
  const h = createHash('sha256').update(`${kind}\0${identity}\0${artifact}`).digest('hex').slice(0, 12);
  return `${artifact}-${h}.state.jsonl.zst`;
}

export interface PreviousState {
  header: StateHeader;
  /** The packs the members refer to. */
  packs: Map<string, RefsPack>;
  /** The members in the order they were written, streaming. */
  members: AsyncIterator<StateMember>;
  close(): Promise<void>;
}

function isPack(v: unknown): v is RefsPack {
  const o = v as RefsPack;
  return !!o && o.t === 'pack' && typeof o.id === 'string' && typeof o.size === 'number' && typeof o.sha256 === 'string';
}

function isMember(v: unknown): v is StateMember {
  const o = v as StateMember;
  return !!o && o.t === 'member' && !!o.m && typeof o.m.name === 'string' && typeof o.m.size === 'number';
}

/**
 * Opens the state of one artifact; undefined when there is none, or it is for another content
 * key, kind or artifact (said at debug: the run then falls back to the repository's refs).
 */
export async function openState(dir: string, file: string, expect: { kind: string; artifact: string; contentKey: string }, reporter: Reporter): Promise<PreviousState | undefined> {
  const path = join(dir, file);
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile()) {
    reporter.debug(`no state ${printable(path)}: deduplicating against the repository`);
    return undefined;
  }
  const where = `the state file ${printable(path)}`;
  const source = createReadStream(path);
  const unzstd = createDecompressor('zstd')!;
  const flow = pipeline(source, unzstd).catch(() => {});
  const lines = readJsonLines(unzstd as AsyncIterable<Buffer>, where);
  const close = async () => {
    await lines.return(undefined);
    source.destroy();
    unzstd.destroy();
    await flow;
  };
  try {
    const first = await lines.next();
    const h = first.value as StateHeader | undefined;
    if (first.done || !h || h.format !== STATE_FORMAT) {
      reporter.warning(`${where} is not a ${STATE_FORMAT} file; it is ignored (the backup deduplicates against the repository instead)`);
      await close();
      return undefined;
    }
    if (h.contentKey !== expect.contentKey || h.kind !== expect.kind || h.artifact !== expect.artifact) {
      reporter.debug(`${where} was written with another content key or for another source; ignored`);
      await close();
      return undefined;
    }
    const packs = new Map<string, RefsPack>();
    let next = await lines.next();
    while (!next.done && isPack(next.value)) {
      packs.set(next.value.id, next.value);
      next = await lines.next();
    }
    let pending: IteratorResult<unknown> | undefined = next;
    const members: AsyncIterator<StateMember> = {
      async next() {
        const n = pending ?? (await lines.next());
        pending = undefined;
        if (n.done) return { done: true, value: undefined };
        if (!isMember(n.value)) throw new StrongboxError(`${where} holds a line that is not a member`, { hint: `delete ${printable(path)}; the next backup reads everything once` });
        return { done: false, value: n.value };
      },
    };
    return { header: h, packs, members, close };
  } catch (err) {
    await close();
    if (err instanceof StrongboxError) {
      reporter.warning(`${errorMessage(err)}; the state is ignored`);
      return undefined;
    }
    throw err;
  }
}

/**
 * Collects the next state while the backup runs: member lines go to a temp file at once (never
 * held in memory); `commit` writes header, packs and members to the final name atomically.
 */
export class StateWriter {
  private readonly tmpMembers: string;
  private readonly out: NodeJS.WritableStream & { writableNeedDrain?: boolean };
  private readonly closed: Promise<void>;
  constructor(private readonly dir: string, private readonly file: string) {
    this.tmpMembers = join(dir, `.${file}.${randomBytes(6).toString('hex')}.members`);
    const ws = createWriteStream(this.tmpMembers);
    this.out = ws;
    this.closed = new Promise((resolve, reject) => {
      ws.on('close', resolve);
      ws.on('error', reject);
    });
    this.closed.catch(() => {});
  }

  static async create(dir: string, file: string): Promise<StateWriter> {
    await mkdir(dir, { recursive: true });
    return new StateWriter(dir, file);
  }

  /** Lines waiting to be written: one write per line would be one thread-pool round trip each. */
  private pending = '';

  async add(line: StateMember): Promise<void> {
    this.pending += JSON.stringify(line) + '\n';
    if (this.pending.length < 64 * 1024) return;
    const batch = this.pending;
    this.pending = '';
    if (!this.out.write(batch)) await new Promise((r) => this.out.once('drain', r));
  }

  /** Writes the state atomically; the temp files go whatever happens. */
  async commit(header: StateHeader, packs: Iterable<RefsPack>): Promise<void> {
    this.out.end(this.pending);
    this.pending = '';
    await this.closed;
    const tmp = join(this.dir, `.${this.file}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const members = this.tmpMembers;
      const head = [JSON.stringify(header), ...[...packs].map((p) => JSON.stringify(p))].join('\n') + '\n';
      async function* body() {
        yield Buffer.from(head);
        for await (const chunk of createReadStream(members)) yield chunk as Buffer;
      }
      await pipeline(Readable.from(body()), createCompressor('zstd', 3)!, createWriteStream(tmp));
      await rename(tmp, join(this.dir, this.file));
    } finally {
      await rm(tmp, { force: true });
      await rm(this.tmpMembers, { force: true });
    }
  }

  async discard(): Promise<void> {
    this.pending = '';
    this.out.end();
    await this.closed.catch(() => {});
    await rm(this.tmpMembers, { force: true });
  }
}

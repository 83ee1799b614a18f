import { fstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { BoundedMap } from '../../shared/bounded-map.js';
import { relative, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { Pack, WriteEntry } from 'tar';
import { StoppedError, StrongboxError, UsageError, errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import type { LeaveOut, SourceDetails, SourceDump } from '../adapter.js';
import { useGnuTar } from './gnu-tar.js';
import { gnuTarDump } from './gnu-tar-create.js';
import { ChangedFiles, describeReadError, nonUtf8LinkError, walkTree, warnEmpty, whereIn, type Change } from './tree-walk.js';

/**
 * File trees as plain tar streams (node-tar): paths relative to the tree root, symlinks kept
 * as symlinks, numeric owners, modes and mtimes. `tar -x` can read every artifact.
 *
 * Restores extract into a fresh staging directory beside the target and rename it into
 * place, so the target is either untouched or completely replaced, and nothing already in
 * the target (a symlink pointing elsewhere, say) can redirect a write.
 */

/** Per-file read size. node-tar's default (16 MiB per open file, up to `jobs` at once) costs memory without speed; 256 KiB reads measured as fast as 1 MiB (bench/). */
const READ_SIZE = 256 * 1024;
/** How many paths the walk may queue ahead of node-tar. */
const WALK_AHEAD = 512;
/** How many entries node-tar stats/reads at once (measured: 8 is near the best for small files). */
const JOBS = 8;
/** Enough for node-tar's look-ahead (the stat of a path is read back moments after it is stored). */
const CACHE_ENTRIES = 4096;

/** Checks a --files root before anything is created; returns the directory it resolves to. */
export function treeRoot(root: string): string {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`the directory to back up does not exist: ${printable(root)}`, 'check the --files path');
    throw new UsageError(`cannot open the directory to back up, ${printable(root)}: ${printable(errorMessage(err))}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${printable(root)} is not a directory`, 'give --files a directory; its whole tree is backed up');
  // Archive the directory a symlinked root points to, not the link itself.
  return realpathSync(root);
}

/**
 * Lets the tree walk run at most `window` entries ahead of node-tar, so memory stays flat
 * however many files the tree holds (node-tar's own recursion queues every path up front).
 */
class AddGate {
  private added = 0;
  private started = 0;
  private wake: (() => void) | undefined;
  stopped = false;
  constructor(private readonly window: number) {}
  async room(): Promise<void> {
    while (!this.stopped && this.added - this.started >= this.window) {
      await new Promise<void>((r) => (this.wake = r));
    }
    this.added++;
  }
  entryStarted(): void {
    this.started++;
    if (this.added - this.started < this.window / 2) this.release();
  }
  stop(): void {
    this.stopped = true;
    this.release();
  }
  private release(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function ownSymbol(o: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(o).find((s) => s.description === description);
}

/**
 * node-tar fails the whole archive when a file's size differs from the one it stat'ed (a log
 * appended to, a file truncated). Like GNU tar, we store the size stat'ed instead (a file that
 * grew is cut there, one that shrank is padded with zeros) and report it: `onChange` is told
 * once per file that changed while it was read. Also refuses a link whose target is not UTF-8.
 * Undefined when node-tar's internals moved (then such a file fails the backup, as before).
 */
function changeTolerantEntries(
  onChange: (absolute: string, how: Change) => void,
  badLink: (absolute: string, raw: Buffer) => Error,
): typeof WriteEntry | undefined {
  const onread = ownSymbol(WriteEntry.prototype, 'onread');
  const onreadlink = ownSymbol(WriteEntry.prototype, 'onreadlink');
  if (!onread || !onreadlink) return undefined;
  const proto = WriteEntry.prototype as unknown as Record<symbol, (arg: never) => void>;
  const base = proto[onread] as (n: number) => void;
  const baseLink = proto[onreadlink] as (linkpath: string) => void;
  if (typeof base !== 'function' || typeof baseLink !== 'function') return undefined;
  class TolerantEntry extends WriteEntry {
    reported = false;
    report(how: Change): void {
      if (this.reported) return;
      this.reported = true;
      onChange(this.absolute, how);
    }
  }
  (TolerantEntry.prototype as unknown as Record<symbol, (n: number) => void>)[onread] = function (this: TolerantEntry, bytesRead: number) {
    let n = bytesRead;
    if (n <= 0 && this.remain > 0 && this.buf) {
      this.report('shrank');
      n = Math.min(this.remain, this.length);
      this.buf.fill(0, this.offset, this.offset + n);
    } else if (n > this.remain) {
      this.report('grew');
      n = this.remain;
    } else if (n === this.remain && this.fd !== undefined && this.stat) {
      const now = fstatSync(this.fd);
      if (now.size > this.stat.size) this.report('grew');
      else if (now.mtimeMs !== this.stat.mtimeMs || now.size !== this.stat.size) this.report('changed');
    }
    base.call(this, n);
  };
  // A link target that is not UTF-8 reads back as U+FFFD: refused, never stored changed.
  (TolerantEntry.prototype as unknown as Record<symbol, (l: string) => void>)[onreadlink] = function (this: TolerantEntry, linkpath: string) {
    if (linkpath.includes('\uFFFD')) {
      const raw = readlinkSync(this.absolute, { encoding: 'buffer' });
      if (!Buffer.from(raw.toString('utf8')).equals(raw)) {
        this.emit('error', badLink(this.absolute, raw));
        return;
      }
    }
    baseLink.call(this, linkpath);
  };
  return TolerantEntry;
}

/**
 * A tree that is itself a directory to leave out (the repository, also by a second path) would
 * be backed up into itself; the core checks this before it creates or locks anything.
 */
export function refuseLeftOutRoot(path: string, leaveOut: LeaveOut[]): void {
  if (!leaveOut.length) return;
  const root = resolve(path);
  const st = statSync(treeRoot(root));
  const rootIs = leaveOut.find((l) => l.dev === st.dev && l.ino === st.ino);
  if (rootIs) throw new UsageError(`${printable(root)} is ${rootIs.what}`, 'back up the data, not the repository; for a second copy of every backup, give backup a second --to');
}

export function dumpFiles(path: string, opts: { exclude?: string[]; reporter: Reporter; leaveOut?: LeaveOut[] }): SourceDump {
  const { reporter } = opts;
  const root = resolve(path);
  const real = treeRoot(root);
  const leaveOut = opts.leaveOut ?? [];
  refuseLeftOutRoot(path, leaveOut);
  if (useGnuTar()) return gnuTarDump(root, real, { exclude: opts.exclude, reporter, leaveOut });
  const details: SourceDetails = { path: root };
  const gate = new AddGate(WALK_AHEAD);
  let entries = 0;
  let bytes = 0;

  const pack = new Pack({
    cwd: real,
    // Not `portable`: that drops owners and directory mtimes and rewrites modes.
    portable: false,
    // We walk the tree ourselves (depth first, throttled); node-tar only archives what we add.
    noDirRecurse: true,
    maxReadSize: READ_SIZE,
    jobs: JOBS,
    statCache: new BoundedMap<string, Stats>(CACHE_ENTRIES),
    onWriteEntry: (e: WriteEntry) => {
      gate.entryStarted();
      entries++;
      if (e.type === 'File') bytes += e.stat?.size ?? 0;
    },
    onwarn: (_code: string, message: string) => reporter.warning(`${printable(root)}: ${printable(message)}`),
  });

  const changes = new ChangedFiles(root, reporter);
  const tolerant = changeTolerantEntries(
    (absolute, how) => changes.report(relative(real, absolute), how),
    (absolute, raw) => nonUtf8LinkError(whereIn(root, relative(real, absolute)), raw),
  );
  const entryClass = ownSymbol(pack, 'writeEntryClass');
  if (tolerant && entryClass) (pack as unknown as Record<symbol, unknown>)[entryClass] = tolerant;

  const out = new PassThrough();
  let ended = false;
  let rejectCompleted!: (err: unknown) => void;
  const completed = new Promise<void>((res, rej) => {
    rejectCompleted = rej;
    pack.on('end', () => {
      ended = true;
      details.entries = entries;
      details.bytes = bytes;
      changes.finish(details);
      res();
    });
  });
  completed.catch(() => {});
  const fail = (err: unknown) => {
    if (ended || gate.stopped) return;
    gate.stop();
    const e = err instanceof StrongboxError ? err : describeReadError(err, root, real);
    rejectCompleted(e);
    out.destroy(e);
    pack.unpipe(out);
    pack.destroy();
  };
  pack.on('error', fail);
  // The consumer gave up (or we failed): stop walking and reading the tree.
  out.on('close', () => fail(new StoppedError(`the backup of ${printable(root)} was stopped before it finished`)));
  pack.pipe(out);

  void (async () => {
    pack.add('.');
    const added = await walkTree(root, real, { exclude: opts.exclude, leaveOut, reporter, stopped: () => gate.stopped }, async (rel) => {
      await gate.room();
      if (gate.stopped) return false;
      pack.add(`./${rel}`);
      return true;
    });
    if (!gate.stopped && added === 0) warnEmpty(root, opts.exclude, reporter);
    if (!gate.stopped) pack.end();
  })().catch(fail);

  return { stream: out, completed, details };
}

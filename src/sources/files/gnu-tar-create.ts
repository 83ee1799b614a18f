import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { BoundedMap } from '../../shared/bounded-map.js';
import { StoppedError, StrongboxError } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import type { LeaveOut, SourceDetails, SourceDump } from '../adapter.js';
import { spawnTar } from './gnu-tar.js';
import { sawEndOfArchive } from './staging-write.js';
import { EXTRACTABLE, FILE_TYPES, normalizeEntryPath } from './tar-safety.js';
import { ChangedFiles, MAX_LISTED_CHANGES, describeReadError, nonUtf8LinkError, walkTree, warnEmpty, whereIn, type Change } from './tree-walk.js';

/**
 * A --files tree archived by GNU tar, as `actions/cache` does: our walk (tree-walk.ts) decides
 * every entry and hands tar the names on stdin (NUL-separated, no recursion), so both engines
 * back up the same entries; tar reads and archives them at a fraction of node-tar's CPU
 * (bench/README.md). Its stdout is the plaintext; node-tar's Parser reads the headers going
 * by to count entries and bytes (as the node engine records them) and to catch an entry a
 * restore would refuse. Tar's messages become ours: a file it cannot read fails the backup,
 * one that changed while read is a warning naming it.
 */

const CREATE_ARGS = [
  '-c',
  '-f',
  '-',
  // pax (POSIX.1-2001): long names and large numbers; atime and ctime left out like node-tar.
  '--format=posix',
  '--pax-option=delete=atime,delete=ctime',
  '--numeric-owner',
  // Names in messages escaped (a newline in a name cannot fake a message line); unescaped below.
  '--quoting-style=escape',
  '--no-recursion',
  '--null',
  '--verbatim-files-from',
];

/** Names sent to tar in batches of this many bytes (fewer writes; the walk stays at most this far ahead). */
const NAME_BATCH = 64 * 1024;
/** Headers remembered to tell a file that grew from one rewritten (tar reports both as "changed"). */
const RECENT_ENTRIES = 4096;

const CHANGED = /^tar: (.*): file changed as we read it$/;
const SHRANK = /^tar: (.*): File shrank by \d+ bytes?; padding with zeros$/;
const REMOVED = /^tar: (.*): File removed before we read it$/;
const CANNOT = /^tar: (.*): Cannot (?:open|stat|read|readlink|lstat)[^:]*: (.*)$/;
const SOCKET = /^tar: (.*): socket ignored$/;

const ERRNO: Record<string, string> = { 'Permission denied': 'EACCES', 'Operation not permitted': 'EPERM', 'No such file or directory': 'ENOENT' };

/** A name as tar's `--quoting-style=escape` printed it: C escapes and octal bytes back to UTF-8 text. */
export function unescapeName(quoted: string): string {
  const simple: Record<string, number> = { '\\': 92, n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '?': 63, ' ': 32 };
  const bytes: number[] = [];
  for (let i = 0; i < quoted.length; i++) {
    const c = quoted[i]!;
    if (c === '\\' && i + 1 < quoted.length) {
      const octal = /^[0-7]{3}/.exec(quoted.slice(i + 1, i + 4));
      if (octal) {
        bytes.push(parseInt(octal[0], 8));
        i += 3;
        continue;
      }
      const next = quoted[i + 1]!;
      if (next in simple) {
        bytes.push(simple[next]!);
        i += 1;
        continue;
      }
    }
    bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes).toString('utf8');
}

export function gnuTarDump(root: string, real: string, opts: { exclude?: string[]; reporter: Reporter; leaveOut: LeaveOut[] }): SourceDump {
  const { reporter } = opts;
  const details: SourceDetails = { path: root };
  const relName = (tarName: string) => normalizeEntryPath(tarName);
  const messageName = (quoted: string) => relName(unescapeName(quoted));
  const where = (rel: string) => whereIn(root, rel);

  // -C before -T: tar's options are positional here.
  const child = spawnTar([...CREATE_ARGS, '-C', real, '-T', '-'], 'pipe');
  const stdout = child.stdout!;
  child.stdin.on('error', () => {}); // tar gone: its exit status says why

  let failure: unknown;
  let ended = false;
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let rejectCompleted!: (err: unknown) => void;
  let resolveCompleted!: () => void;
  const completed = new Promise<void>((res, rej) => {
    resolveCompleted = res;
    rejectCompleted = rej;
  });
  completed.catch(() => {});
  const fail = (err: unknown) => {
    if (ended || failure !== undefined) return;
    failure = err instanceof StrongboxError ? err : describeReadError(err, root, real);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rejectCompleted(failure);
    out.destroy(failure as Error);
  };
  // The consumer gave up (or we failed): stop walking, stop tar.
  out.on('close', () => fail(new StoppedError(`the backup of ${printable(root)} was stopped before it finished`)));

  // Files tar reported as changed, told apart by their stored size once its header is seen.
  const changes = new ChangedFiles(root, reporter);
  const report = (rel: string, how: Change) => changes.report(rel, how);
  const recent = new BoundedMap<string, number>(RECENT_ENTRIES);
  const awaitingHeader = new Set<string>();
  const judging: Promise<void>[] = [];
  const judgeChange = (rel: string, storedSize: number) => {
    if (changes.count + judging.length > MAX_LISTED_CHANGES * 10) return report(rel, 'changed'); // a storm of changes: counted, not each stat'ed
    judging.push(lstat(join(real, rel)).then(
      (st: Stats) => report(rel, st.size > storedSize ? 'grew' : 'changed'),
      () => report(rel, 'changed'),
    ));
  };

  let entries = 0;
  let bytes = 0;
  const parser = new Parser({
    strict: true,
    zstd: false,
    brotli: false,
    filter: (path: string, e: Stats | ReadEntry) => {
      const entry = e as ReadEntry;
      const rel = relName(path);
      entries++;
      if (FILE_TYPES.has(entry.type)) bytes += entry.size ?? 0;
      // Any other type: a name changed kind after the walk saw it.
      if (!EXTRACTABLE.has(entry.type)) {
        fail(new StrongboxError(`${where(rel)} became a ${entry.type} while it was being backed up (a restore could not write it)`, { hint: 'the tree changed during the backup; rerun it, or back up a snapshot' }));
      }
      recent.set(rel, entry.size ?? 0);
      if (awaitingHeader.delete(rel)) judgeChange(rel, entry.size ?? 0);
      return false; // headers only
    },
  });
  parser.on('error', fail);
  const parsed = new Promise<void>((res) => parser.on('close', () => res()));
  const headers = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      parser.write(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      parser.end();
      cb();
    },
  });
  // Everything tar wrote has reached `out` (which ends only once tar's exit status is known).
  const streamed = new Promise<void>((res) => headers.on('end', () => res()));
  stdout.pipe(headers).pipe(out, { end: false });

  let stderrTail = '';
  let tarSaidChanged = false;
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderrTail = (stderrTail + d).slice(-4000);
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onTarMessage(line);
  });
  const onTarMessage = (line: string) => {
    let m: RegExpExecArray | null;
    if ((m = CHANGED.exec(line))) {
      const rel = messageName(m[1]!);
      const size = recent.get(rel);
      if (size !== undefined) judgeChange(rel, size);
      else awaitingHeader.add(rel);
    } else if ((m = SHRANK.exec(line))) report(messageName(m[1]!), 'shrank');
    else if ((m = SOCKET.exec(line))) reporter.warning(`skipping ${where(messageName(m[1]!))}: not a file, directory or link (only those are backed up)`);
    else if ((m = REMOVED.exec(line))) fail(describeReadError(Object.assign(new Error(line), { code: 'ENOENT', path: join(real, messageName(m[1]!)) }), root, real));
    else if ((m = CANNOT.exec(line))) {
      const code = ERRNO[m[2]!] ?? 'EIO';
      fail(describeReadError(Object.assign(new Error(`${m[2]}`), { code, path: join(real, messageName(m[1]!)) }), root, real));
    }
  };

  child.on('error', (err: NodeJS.ErrnoException) =>
    fail(new StrongboxError(`GNU tar could not be started to back up ${printable(root)}: ${printable(err.message)}`, { hint: 'set STRONGBOX_TAR_ENGINE=node to back up with the built-in node-tar' })),
  );
  const exited = new Promise<void>((res) =>
    child.on('close', (code, signal) => {
      // 1: some files changed while read (reported as warnings); anything else is a failure.
      if (code === 1) tarSaidChanged = true;
      if (code !== 0 && code !== 1) {
        fail(new StrongboxError(`GNU tar failed archiving ${printable(root)} (${signal ?? `exit ${code}`}): ${printable(stderrTail.trim().split('\n').slice(-5).join('; ') || 'no message')}`));
      }
      res();
    }),
  );
  void Promise.all([exited, streamed, parsed]).then(async () => {
    await Promise.all(judging); // every warning out before the backup reports done
    if (failure !== undefined) return;
    if (sawEndOfArchive(parser) !== true) return fail(new StrongboxError(`GNU tar's archive of ${printable(root)} ended without its end-of-archive marker`));
    for (const rel of awaitingHeader) report(rel, 'changed');
    // Exit 1 is tar's "some files differ": never let it pass unreported, even if no message named a file.
    if (tarSaidChanged && changes.count === 0) {
      changes.count = 1;
      reporter.warning(`files in ${printable(root)} changed while they were being read (GNU tar: ${printable(stderrTail.trim().split('\n').slice(-3).join('; ') || 'no message')}); back up a snapshot (or stop writers) for a consistent copy`);
    }
    ended = true;
    details.entries = entries;
    details.bytes = bytes;
    changes.finish(details);
    out.end();
    resolveCompleted();
  });

  // The walk: names to tar's stdin, in batches, with backpressure.
  let batch: string[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    const data = Buffer.from(batch.join(''));
    batch = [];
    batchBytes = 0;
    if (!child.stdin.write(data)) await new Promise<void>((res) => {
      const go = () => {
        child.stdin.off('drain', go);
        child.off('close', go);
        res();
      };
      child.stdin.on('drain', go);
      child.on('close', go);
    });
  };
  const name = async (rel: string) => {
    const n = `./${rel}\0`;
    batch.push(n);
    batchBytes += n.length;
    if (batchBytes >= NAME_BATCH) await flush();
  };
  void (async () => {
    await name('');
    const added = await walkTree(root, real, { exclude: opts.exclude, leaveOut: opts.leaveOut, reporter, stopped: () => failure !== undefined }, async (rel, _kind, d) => {
      if (d.isSymbolicLink()) await refuseNonUtf8Link(rel);
      await name(rel);
      return failure === undefined;
    });
    if (failure !== undefined) return;
    if (added === 0) warnEmpty(root, opts.exclude, reporter);
    await flush();
    child.stdin.end();
  })().catch(fail);

  /** A link target that is not UTF-8 cannot be stored faithfully: refused, as the node engine does. */
  const refuseNonUtf8Link = async (rel: string) => {
    const raw = await readlink(join(real, rel), { encoding: 'buffer' });
    if (!Buffer.from(raw.toString('utf8')).equals(raw)) throw nonUtf8LinkError(where(rel), raw);
  };

  return { stream: out, completed, details };
}

import { Worker } from 'node:worker_threads';

/**
 * node:sqlite's queries are synchronous. integrity_check reads the whole file (about a second
 * per 300 MB), so they run in a worker thread: the main thread keeps streaming and keeps
 * handling signals, and a cancellation terminates the worker. The worker is plain CommonJS
 * given as source text, so it needs no file of its own in the bundled dist/.
 */

export interface WorkerJob {
  /** A path or an SQLite URI filename. */
  location: string;
  readOnly: boolean;
  busyTimeoutMs: number;
  /** Each statement's rows, every value as text; or, with `count`, the rows of the one statement counted. */
  statements: string[];
  count?: boolean;
}

export type WorkerAnswer = { rows: string[][][] } | { count: number } | { error: string; errcode?: number };

const SOURCE = `
const { parentPort, workerData: job } = require('node:worker_threads');
const emit = process.emitWarning;
process.emitWarning = (w, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] && rest[0].type) || '';
  if (type === 'ExperimentalWarning' && /sqlite/i.test(String(w && w.message || w))) return;
  return emit.call(process, w, ...rest);
};
const { DatabaseSync } = require('node:sqlite');
process.emitWarning = emit;
const text = (v) => v === null || v === undefined ? '' : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v);
let db;
try {
  db = new DatabaseSync(job.location, job.readOnly ? { readOnly: true } : {});
  if (job.busyTimeoutMs > 0) db.exec('PRAGMA busy_timeout = ' + Math.round(job.busyTimeoutMs));
  if (job.count) {
    let n = 0;
    for (const _ of db.prepare(job.statements[0]).iterate()) n++;
    parentPort.postMessage({ count: n });
  } else {
    parentPort.postMessage({ rows: job.statements.map((sql) => db.prepare(sql).all().map((r) => Object.values(r).map(text))) });
  }
} catch (err) {
  parentPort.postMessage({ error: String(err && err.message || err), errcode: err && err.errcode });
} finally {
  if (db) db.close();
}
`;

export class WorkerSqliteError extends Error {
  constructor(
    message: string,
    readonly errcode?: number,
  ) {
    super(message);
  }
}

export function runInWorker(job: WorkerJob, signal?: AbortSignal): Promise<string[][][] | number> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const worker = new Worker(SOURCE, { eval: true, workerData: job, stdout: false, stderr: false });
    let answered = false;
    const onAbort = () => {
      answered = true;
      void worker.terminate();
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (m: WorkerAnswer) => {
      if (answered) return;
      answered = true;
      if ('error' in m) reject(new WorkerSqliteError(m.error, m.errcode));
      else resolve('rows' in m ? m.rows : m.count);
    });
    worker.once('error', (err) => {
      if (!answered) reject(err);
      answered = true;
    });
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (!answered) reject(new Error(`the SQLite worker thread exited (code ${code}) without an answer`));
    });
  });
}

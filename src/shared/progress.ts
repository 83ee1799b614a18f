import { formatBytes } from './format.js';

/**
 * Progress of long work (a dump, a download, a restore), as the core reports it. The core
 * only says what is running and how to read its byte count; the edges decide how (and whether)
 * to show it: a line redrawn in place on a terminal, a line every 15 s in a log, nothing with
 * --quiet. Counts are read when a line is drawn, so the pipeline pays nothing per chunk.
 */
export interface ProgressTask {
  /** What runs, for the line: `backup postgres-appdb`, `restore files-media`. */
  label: string;
  /** Bytes expected when known (a server's estimate may be off: never trusted past `done`); read at each line, so it may arrive after the work started. */
  total?: number;
  /** Bytes done so far (a counter the pipeline already keeps, e.g. a HashingStream's size). */
  done(): number;
}

export interface ProgressHandle {
  /** The work ended (well or not): its line goes. Safe to call twice. */
  end(): void;
}

export interface Progress {
  start(task: ProgressTask): ProgressHandle;
}

export const noProgress: Progress = { start: () => ({ end() {} }) };

/** What a Reporter may carry; the core takes progress from its reporter, absent meaning none. */
export function progressOf(reporter: { progress?: Progress }): Progress {
  return reporter.progress ?? noProgress;
}

/** Runs `work` as one task, ending it on every path. */
export async function withProgress<T>(progress: Progress | undefined, task: ProgressTask, work: () => Promise<T>): Promise<T> {
  const handle = (progress ?? noProgress).start(task);
  try {
    return await work();
  } finally {
    handle.end();
  }
}

/** Schedules `fn` every `ms` until the returned function is called (injected in tests). */
export type Every = (ms: number, fn: () => void) => () => void;

export const realEvery: Every = (ms, fn) => {
  const t = setInterval(fn, ms);
  t.unref(); // progress never keeps the process alive
  return () => clearInterval(t);
};

export const TERMINAL_INTERVAL_MS = 250;
export const LOG_INTERVAL_MS = 15_000;

export interface RendererOptions {
  /** `terminal`: one line redrawn in place; `log`: a line per interval, none for shorter work. */
  mode: 'terminal' | 'log';
  /** terminal: raw text (with \r and erase); log: one line, written as a log line. */
  write(text: string): void;
  now?: () => number;
  every?: Every;
  intervalMs?: number;
  /** terminal: its width, so the line never wraps (a wrapped line cannot be redrawn in place). */
  width?: () => number | undefined;
}

interface Running {
  task: ProgressTask;
  startedAt: number;
  stop: () => void;
}

/**
 * Renders tasks for the CLI and the actions. On a terminal the newest running task owns the
 * line; `clear()` erases it before a log line is written, and the next tick redraws it.
 */
export class ProgressRenderer implements Progress {
  private readonly running: Running[] = [];
  private drawn = false;
  private readonly now: () => number;
  private readonly every: Every;
  private readonly intervalMs: number;

  constructor(private readonly opts: RendererOptions) {
    this.now = opts.now ?? Date.now;
    this.every = opts.every ?? realEvery;
    this.intervalMs = opts.intervalMs ?? (opts.mode === 'terminal' ? TERMINAL_INTERVAL_MS : LOG_INTERVAL_MS);
  }

  start(task: ProgressTask): ProgressHandle {
    const r: Running = { task, startedAt: this.now(), stop: () => {} };
    this.running.push(r);
    // Each task has its own cadence, so a task shorter than one interval never prints.
    r.stop = this.every(this.intervalMs, () => this.tick(r));
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        r.stop();
        this.running.splice(this.running.indexOf(r), 1);
        if (this.opts.mode === 'terminal') this.clear();
      },
    };
  }

  /** Erases the terminal line (before a log line, or at the end of a task). */
  clear(): void {
    if (!this.drawn) return;
    this.drawn = false;
    this.opts.write('\r\x1b[K');
  }

  private tick(r: Running): void {
    if (this.opts.mode === 'log') {
      this.opts.write(describeProgress(r.task, this.now() - r.startedAt));
      return;
    }
    if (this.running[this.running.length - 1] !== r) return;
    this.drawn = true;
    const line = describeProgress(r.task, this.now() - r.startedAt);
    const width = this.opts.width?.();
    this.opts.write(`\r\x1b[K${width && line.length >= width ? line.slice(0, width - 1) : line}`);
  }
}

/**
 * `backup postgres-appdb: 512.0 MiB of ~1.2 GiB (42%), 85.3 MiB/s, ETA 9s`. The rate is the
 * average since the start: steadier than the last interval's, and what the ETA assumes. The
 * total is marked as an estimate; once passed (an estimate that was low) it is not shown.
 */
export function describeProgress(task: ProgressTask, elapsedMs: number): string {
  const done = task.done();
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const parts = [`${task.label}: ${formatBytes(done)}`];
  const total = task.total;
  if (total !== undefined && total > 0 && done <= total) {
    parts[0] += ` of ~${formatBytes(total)} (${Math.floor((done * 100) / total)}%)`;
  }
  parts.push(`${formatBytes(Math.round(rate))}/s`);
  if (total !== undefined && total > 0 && done < total && rate > 0) parts.push(`ETA ${formatEta((total - done) / rate)}`);
  return parts.join(', ');
}

/** `9s`, `3m05s`, `1h02m`: what a person reads at a glance. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

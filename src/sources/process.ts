import { spawn, type ChildProcess } from 'node:child_process';
import { StrongboxError } from '../shared/errors.js';
import { cancelSignal } from '../shared/cancel.js';
import { childEnvironment } from '../shared/sensitive-env.js';

/** How a child process ended, with the tail of its stderr already masked. */
export interface ToolFailure {
  /** Display name, e.g. `pg_dump`. */
  name: string;
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines of stderr, masked. */
  stderr: string;
  /** Set when the process could not be started at all (ENOENT, EACCES…). */
  spawnError?: NodeJS.ErrnoException;
}

export interface ToolOptions {
  name: string;
  env?: NodeJS.ProcessEnv;
  /** stdin is a pipe when true, else /dev/null. */
  stdin?: boolean;
  /** Hides secrets in any text taken from the child (stderr) before it reaches a message. */
  mask?: (text: string) => string;
  /** Each complete stderr line, masked, as it arrives (for warnings the tool prints). */
  onStderrLine?: (line: string) => void;
  /** Turns a failure into the error the user sees; defaults to {@link describeToolFailure}. */
  describeFailure?: (failure: ToolFailure) => StrongboxError;
  /** Stops the child (SIGTERM, then SIGKILL after KILL_AFTER_MS) when aborted; default: the process-wide cancellation. */
  signal?: AbortSignal;
}

export interface RunningTool {
  child: ChildProcess;
  /** Settles once the child has exited and its pipes closed; rejects unless it exited 0. */
  exited: Promise<void>;
  /** The masked stderr tail so far. */
  stderr(): string;
}

const TAIL_BYTES = 8 * 1024;
const KILL_AFTER_MS = 3_000;
const TAIL_LINES = 12;

/** Keeps a bounded tail of a stream's text: enough for an error message, never the whole output. */
class TextTail {
  private text = '';
  private partial = '';
  constructor(private readonly onLine?: (line: string) => void) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-TAIL_BYTES);
    if (!this.onLine) return;
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) this.onLine(l);
  }
  flush(): void {
    if (this.onLine && this.partial.trim()) this.onLine(this.partial);
    this.partial = '';
  }
  tail(): string {
    let lines = this.text.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0);
    // The first line may have been cut by the byte limit; drop it unless it is all there is.
    if (this.text.length >= TAIL_BYTES && lines.length > 1) lines = lines.slice(1);
    return lines.slice(-TAIL_LINES).join('\n');
  }
}

export function describeToolFailure(f: ToolFailure): StrongboxError {
  if (f.spawnError) {
    const why = f.spawnError.code === 'ENOENT' ? 'was not found' : `could not be started (${f.spawnError.code ?? f.spawnError.message})`;
    return new StrongboxError(`${f.name} ${why} (${f.command})`, { hint: `install ${f.name} or put it on PATH` });
  }
  const how = f.signal ? `was killed by ${f.signal}` : `failed with exit code ${f.code}`;
  return new StrongboxError(`${f.name} ${how}${f.stderr ? `:\n${f.stderr}` : ''}`);
}

/**
 * Starts a child process with stdout piped and stderr captured (bounded, masked). Nothing
 * goes through a shell, so arguments are never re-parsed. `exited` is the one place that
 * decides success: exit code 0 and no signal.
 */
export function spawnTool(command: string, args: string[], opts: ToolOptions): RunningTool {
  const mask = opts.mask ?? ((s: string) => s);
  const signal = opts.signal ?? cancelSignal();
  // Once stopped, what the child prints ("terminated by user") is noise, not a warning.
  const tail = new TextTail(opts.onStderrLine ? (line) => signal.aborted || opts.onStderrLine!(mask(line)) : undefined);
  const child = spawn(command, args, {
    env: childEnvironment(opts.env ?? process.env),
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the child in
    // the order that keeps targets safe (psql is killed while its transaction is open).
    detached: process.platform !== 'win32', // on Windows it would open a console window
  });
  stopOnAbort(child, signal);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => tail.push(s));

  const exited = new Promise<void>((resolve, reject) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    const fail = (code: number | null, signal: NodeJS.Signals | null) => {
      tail.flush();
      const failure: ToolFailure = { name: opts.name, command, code, signal, stderr: mask(tail.tail()), ...(spawnError ? { spawnError } : {}) };
      reject((opts.describeFailure ?? describeToolFailure)(failure));
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      // 'error' without a pid means it never started; 'close' may not follow.
      if (child.pid === undefined) {
        spawnError = err;
        fail(null, null);
      }
    });
    child.once('close', (code, signal) => {
      if (spawnError) return;
      if (code === 0 && !signal) {
        tail.flush();
        resolve();
      } else fail(code, signal);
    });
  });
  // Callers attach their handlers later; an early failure must not count as unhandled.
  exited.catch(() => {});
  return { child, exited, stderr: () => mask(tail.tail()) };
}

/** Sends `sig` to the child's process group (the child alone if that fails). */
export function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    child.kill(sig);
  }
}

function stopOnAbort(child: ChildProcess, signal: AbortSignal): void {
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killGroup(child, 'SIGTERM');
    timer = setTimeout(() => killGroup(child, 'SIGKILL'), KILL_AFTER_MS);
    timer.unref();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  child.once('close', () => {
    signal.removeEventListener('abort', onAbort);
    clearTimeout(timer);
  });
  child.once('error', () => {
    if (child.pid === undefined) signal.removeEventListener('abort', onAbort);
  });
}

/** Runs a short command to completion and returns its stdout (bounded to 1 MiB). */
export async function runTool(command: string, args: string[], opts: ToolOptions): Promise<string> {
  const run = spawnTool(command, args, opts);
  let out = '';
  run.child.stdout!.setEncoding('utf8');
  run.child.stdout!.on('data', (s: string) => {
    if (out.length < 1 << 20) out += s;
  });
  await run.exited;
  return out;
}

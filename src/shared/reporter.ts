import { logText } from '../shared/text.js';
import { ProgressRenderer, type Every, type Progress } from './progress.js';

/**
 * How the core talks to a person. The Actions edge implements it with @actions/core (log
 * groups, ::add-mask::); the CLI with plain stderr lines. Operations never print directly, so
 * the same core runs in a workflow and at a terminal during an incident.
 */
export interface Reporter {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** Registers a secret so that it is never printed, in any later line, by this reporter. */
  setSecret(secret: string): void;
  /** Where long work reports its progress (src/shared/progress.ts); absent: nowhere. */
  readonly progress?: Progress;
}

/** Replaces every registered secret (and its URL-encoded form) with ***. */
export class SecretMasker {
  private readonly secrets = new Set<string>();
  add(secret: string): void {
    if (!secret || secret.length < 3) return;
    this.secrets.add(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) this.secrets.add(encoded);
  }
  mask(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is masked whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
    return out;
  }
}

export interface ConsoleReporterOptions {
  verbose?: boolean;
  /** Where lines go (one call per line, no newline); default stderr. */
  write?: (line: string) => void;
  /**
   * Start every line with its UTC time (`2026-12-01T20:40:00Z `): the CLI does when stderr is
   * no terminal (cron mail, CI logs, a file), where lines are read later. Off by default.
   */
  timestamps?: boolean;
  now?: () => Date;
  /** How progress shows: redrawn in place (a terminal), a line every interval (logs), or not at all. */
  progress?: 'terminal' | 'log';
  /** Progress interval (default 250 ms on a terminal, 15 s in logs), scheduler and raw terminal writer: for tests. */
  progressIntervalMs?: number;
  every?: Every;
  writeRaw?: (text: string) => void;
  /** --quiet: no progress and no informational lines; warnings, errors and notices still print. */
  quiet?: boolean;
  /** Sees every line as printed (masked), before its timestamp: the healthcheck's log tail. */
  onLine?: (line: string) => void;
}

/** Reporter for terminals: human lines on stderr so stdout stays free for --json output. */
export class ConsoleReporter implements Reporter {
  private readonly masker = new SecretMasker();
  private readonly renderer?: ProgressRenderer;
  /** Set by the CLI's global --quiet once the command line is parsed. */
  quiet: boolean;
  constructor(private readonly opts: ConsoleReporterOptions = {}) {
    this.quiet = !!opts.quiet;
    if (opts.progress) {
      const now = opts.now;
      this.renderer = new ProgressRenderer({
        mode: opts.progress,
        // Log lines go through out() (masked, timestamped); the terminal line is raw, and masked too.
        write: opts.progress === 'log' ? (line) => this.out(line) : (text) => this.raw(this.masker.mask(text)),
        intervalMs: opts.progressIntervalMs,
        every: opts.every,
        now: now ? () => now().getTime() : undefined,
        width: () => (opts.writeRaw ? undefined : process.stderr.columns),
      });
    }
  }
  get progress(): Progress | undefined {
    return this.quiet ? undefined : this.renderer;
  }
  private raw(text: string): void {
    if (this.opts.writeRaw) return this.opts.writeRaw(text);
    if (process.stderr.destroyed) return;
    try {
      process.stderr.write(text);
    } catch {
      // A closed stderr (EPIPE) must never abort the operation or its cleanup.
    }
  }
  private out(line: string): void {
    // Defence in depth: control characters in user data never reach the terminal (or, when
    // the CLI runs in a workflow step, forge a workflow command).
    let masked = logText(this.masker.mask(line));
    // The healthcheck log keeps the last lines, masked and without the stamp (the run's error
    // is read back from an `error: ` line, and the receiver timestamps what it gets).
    this.opts.onLine?.(masked);
    if (this.opts.timestamps) {
      const stamp = `${(this.opts.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z')} `;
      masked = masked.split('\n').map((l) => stamp + l).join('\n');
    }
    // The progress line is erased first; its next tick draws it again below this line.
    if (this.opts.progress === 'terminal') this.renderer?.clear();
    if (this.opts.write) this.opts.write(masked);
    else this.raw(masked + '\n');
  }
  debug(message: string): void {
    if (this.opts.verbose) this.out(`debug: ${message}`);
  }
  info(message: string): void {
    if (!this.quiet) this.out(message);
  }
  /** A line that --quiet keeps: the hint after an error, the line saying a run was cancelled. */
  notice(message: string): void {
    this.out(message);
  }
  warning(message: string): void {
    this.out(`warning: ${message}`);
  }
  error(message: string): void {
    this.out(`error: ${message}`);
  }
  setSecret(secret: string): void {
    this.masker.add(secret);
  }
  mask(text: string): string {
    return this.masker.mask(text);
  }
  /** Commander's own messages (usage errors), as log lines: masked and timestamped. */
  writeErr(text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.notice(line);
  }
}

/** Discards everything; for callers (and tests) that do not care. */
export const silentReporter: Reporter = {
  debug() {},
  info() {},
  warning() {},
  error() {},
  setSecret() {},
};

import { logText } from '../shared/text.js';

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

/** Reporter for terminals: human lines on stderr so stdout stays free for --json output. */
export class ConsoleReporter implements Reporter {
  private readonly masker = new SecretMasker();
  constructor(
    private readonly opts: { verbose?: boolean; write?: (line: string) => void; onLine?: (line: string) => void } = {},
  ) {}
  private out(line: string): void {
    // Defence in depth: control characters in user data never reach the terminal (or, when
    // the CLI runs in a workflow step, forge a workflow command).
    const masked = logText(this.masker.mask(line));
    // The healthcheck log keeps the last lines (masked as printed).
    this.opts.onLine?.(masked);
    if (this.opts.write) this.opts.write(masked);
    else if (!process.stderr.destroyed) {
      try {
        process.stderr.write(masked + '\n');
      } catch {
        // A closed stderr (EPIPE) must never abort the operation or its cleanup.
      }
    }
  }
  debug(message: string): void {
    if (this.opts.verbose) this.out(`debug: ${message}`);
  }
  info(message: string): void {
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
}

/** Discards everything; for callers (and tests) that do not care. */
export const silentReporter: Reporter = {
  debug() {},
  info() {},
  warning() {},
  error() {},
  setSecret() {},
};

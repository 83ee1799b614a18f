import type { RunEvent } from './event.js';

/**
 * One notification channel, opened from the URL the user gave: it turns a RunEvent into a
 * request (a JSON POST, a Slack message, a mail) and sends it once. Retries, timeouts and
 * what counts as a failure of the run are deliver.ts's business, not the channel's.
 */
export interface Notifier {
  /** What to print for it: `slack (hooks.slack.com)`, never the URL (it is a credential). */
  readonly display: string;
  /** Sends the event once; rejects with a DeliveryError (or any error: then it is retried). `signal` aborts on timeout. */
  send(event: RunEvent, signal: AbortSignal): Promise<void>;
}

export interface ChannelOptions {
  /** The HMAC key for `X-Strongbox-Signature` (webhooks; other channels ignore it). */
  signingSecret?: string;
  /** Reads a secret from a named environment variable (refusing an unset one, naming it); config/ passes it in. */
  readSecret(name: string, what: string): string;
  /** Extra TLS settings for mail (tests trust their self-signed certificate with it). */
  tls?: { ca?: string | Buffer };
}

/**
 * A kind of channel, chosen by URL scheme (restic's location registry). Adding a channel is
 * a file exporting one of these and a line in registry.ts.
 */
export interface ChannelFactory {
  /** `webhook`, `slack`, `smtp`. */
  readonly channel: string;
  /** The schemes it serves, e.g. `slack+https`, `slack+http`. */
  readonly schemes: readonly string[];
  /** One line for help texts and hints. */
  readonly form: string;
  /**
   * Whether the URL itself is a credential (a webhook's path, Slack's token): such a URL is
   * never written in a configuration file, only named by its environment variable.
   */
  readonly urlIsSecret: boolean;
  /** Checks and opens the URL; refuses with a UsageError that never repeats the URL. */
  open(url: URL, opts: ChannelOptions): Notifier;
}

/** A failed attempt; `permanent` ones (HTTP 4xx, a refused mail) are not retried. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

import type { Alert } from '../shared/alert.js';

/**
 * What every notification channel is given: the outcome of one unattended run. Built by the
 * edges (CLI, actions) from an operation's result or error; a channel turns it into a JSON
 * POST, a Slack message or a mail. It never holds a secret: no URL with credentials, no key,
 * no passphrase, no notification URL (those are tokens too).
 */
export type Operation = 'backup' | 'verify' | 'drill' | 'prune' | 'copy' | 'restore' | 'rollback';

/** `alert`: the run did its work but found an anomaly (size, duration, rows, quota). */
export type EventStatus = 'success' | 'failure' | 'partial' | 'alert';

export interface EventLocation {
  /** A location as Strongbox displays it (no query, no credentials). */
  location: string;
  /** `committed`/`failed` for a backup or copy; `ok`/`failed` for the rest. */
  status: string;
  error?: string;
}

export interface RunEvent {
  /** The event format; a receiver can rely on fields present in its version. */
  version: 1;
  operation: Operation;
  status: EventStatus;
  /** The process exit code the run ends with (README "Exit codes"). */
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  host: string;
  backupId?: string;
  series?: string;
  labels?: string[];
  metadata?: Record<string, string>;
  plaintextBytes?: number;
  storedBytes?: number;
  destinations?: EventLocation[];
  alerts?: Alert[];
  /** Present when the run failed (or partly failed): the message and hint it printed. */
  error?: { message: string; hint?: string };
  /** Figures of the operation that have no field above (a drill's RTO, what a prune removed). */
  details?: Record<string, unknown>;
  /** In GitHub Actions: where the run is. */
  github?: { repository?: string; workflow?: string; runId?: string; runUrl?: string; sha?: string; ref?: string };
}

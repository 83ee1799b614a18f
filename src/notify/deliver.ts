import { DeliveryError } from './channel.js';

/** How hard to try: each attempt is cut off after `timeoutMs`; `retries` more follow, `backoffMs`, then doubling. */
export interface DeliveryPolicy {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
}

export const DEFAULT_DELIVERY: DeliveryPolicy = { timeoutMs: 10_000, retries: 2, backoffMs: 1_000 };

/** Waiting, injected so tests run at once. */
export interface Timers {
  sleep(ms: number): Promise<void>;
  /** Calls `fn` after `ms` unless the returned function is called first. */
  after(ms: number, fn: () => void): () => void;
}

export const realTimers: Timers = {
  // Not unref'd: at the end of a CLI run these timers are all that keeps the process alive
  // between retries (an unref'd one would let Node exit mid-await, with code 13).
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** What became of one notification. `error` is the last attempt's, already free of secrets (channels never quote their URL). */
export interface DeliveryRecord {
  channel: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

/**
 * Sends with a timeout per attempt and retries with backoff. Never throws: an undeliverable
 * notification is a record for the caller to warn about, never a change of the run's result.
 */
export async function deliver(channel: string, attempt: (signal: AbortSignal) => Promise<void>, policy: DeliveryPolicy, timers: Timers = realTimers): Promise<DeliveryRecord> {
  let error = '';
  for (let n = 1; n <= policy.retries + 1; n++) {
    if (n > 1) await timers.sleep(policy.backoffMs * 2 ** (n - 2));
    try {
      await once(attempt, policy.timeoutMs, timers);
      return { channel, ok: true, attempts: n };
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      if (err instanceof DeliveryError && err.permanent) return { channel, ok: false, attempts: n, error };
      if (n === policy.retries + 1) return { channel, ok: false, attempts: n, error };
    }
  }
  return { channel, ok: false, attempts: policy.retries + 1, error };
}

/** One attempt, abandoned (and its request aborted) when the timeout passes, even if the channel ignores the signal. */
async function once(attempt: (signal: AbortSignal) => Promise<void>, timeoutMs: number, timers: Timers): Promise<void> {
  const ctl = new AbortController();
  let cancel = () => {};
  const timedOut = new Promise<never>((_, reject) => {
    cancel = timers.after(timeoutMs, () => {
      const e = new DeliveryError(`no answer within ${timeoutMs / 1000} s`);
      ctl.abort(e);
      reject(e);
    });
  });
  try {
    await Promise.race([attempt(ctl.signal), timedOut]);
  } finally {
    cancel();
  }
}

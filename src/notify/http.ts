import { UsageError } from '../shared/errors.js';
import { DeliveryError } from './channel.js';

/** localhost, 127.x.x.x or [::1]: where plain http (and mail without TLS) may go. */
export const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * `https://` anywhere; `http://` only to this machine (tests, a local relay): a notification
 * carries figures a network observer should not read, and its URL is a credential.
 */
export function checkHttpTarget(url: URL, what: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK.test(url.hostname)) return;
  throw new UsageError(`${what} must use https:// (http:// is accepted only for localhost)`, 'use the https:// address the service gives you');
}

/** The host part, for display: `hooks.slack.com`, `127.0.0.1:8080`. */
export const hostOf = (url: URL): string => url.host;

/**
 * One POST. A redirect is refused rather than followed: the body would go to a host nobody
 * configured. 5xx, 408 and 429 are worth retrying; other 4xx answers are not.
 */
export async function post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers, signal, redirect: 'manual' });
  } catch (err) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new DeliveryError('timed out');
    throw new DeliveryError(networkMessage(err));
  }
  await res.body?.cancel().catch(() => {});
  if (res.status >= 200 && res.status < 300) return;
  if (res.status >= 300 && res.status < 400) throw new DeliveryError(`answered HTTP ${res.status} (a redirect, not followed)`, true);
  const retry = res.status >= 500 || res.status === 408 || res.status === 429;
  throw new DeliveryError(`answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, !retry);
}

/** fetch's "fetch failed" says nothing; its cause has the code (ECONNREFUSED, ENOTFOUND, a TLS error). */
function networkMessage(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `cannot connect (${cause.code})`;
  return `cannot connect (${cause?.message ?? (err as Error).message})`;
}

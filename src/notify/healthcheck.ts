import { checkHttpTarget, hostOf, post } from './http.js';

/** healthchecks.io accepts up to 100 kB; a short log is what a person reads in its web page. */
export const HEALTHCHECK_LOG_BYTES = 10_000;

/**
 * A dead man's switch in the healthchecks.io protocol: `URL/start` when the run starts, `URL`
 * when it succeeded, `URL/fail` when it failed, each a POST whose body is a short plain-text
 * log. The service alerts when no success arrives in time, so a job that never ran is noticed.
 */
export interface Healthcheck {
  readonly display: string;
  ping(kind: 'start' | 'success' | 'fail', body: string, signal: AbortSignal): Promise<void>;
}

export function openHealthcheck(url: URL): Healthcheck {
  checkHttpTarget(url, 'a healthcheck URL');
  // Query parameters (?rid=, ?create=1) stay after the /start or /fail suffix.
  const base = new URL(url.href);
  base.pathname = base.pathname.replace(/\/+$/, '');
  const at = (suffix: string) => {
    const u = new URL(base.href);
    u.pathname += suffix;
    return u.href;
  };
  return {
    display: `healthcheck (${hostOf(url)})`,
    async ping(kind, body, signal) {
      const text = Buffer.byteLength(body) > HEALTHCHECK_LOG_BYTES ? `…${body.slice(-(HEALTHCHECK_LOG_BYTES / 2))}` : body;
      await post(at(kind === 'success' ? '' : `/${kind}`), text, { 'content-type': 'text/plain; charset=utf-8' }, signal);
    },
  };
}

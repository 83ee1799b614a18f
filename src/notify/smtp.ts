import { UsageError } from '../shared/errors.js';
import { DeliveryError, type ChannelFactory, type ChannelOptions } from './channel.js';
import type { RunEvent } from './event.js';
import { detailLines, headline } from './summary.js';
import { LOOPBACK } from './http.js';

const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;
const QUERY_KEYS = ['from', 'to', 'password-env'];

/** The mail for an event: the headline as subject, the figures, the run link, and the event itself as JSON for filters and scripts. */
export function mailOf(e: RunEvent): { subject: string; text: string } {
  const lines = [headline(e), '', ...detailLines(e)];
  if (e.github?.runUrl) lines.push('', `run: ${e.github.runUrl}`);
  lines.push('', 'The event (JSON):', JSON.stringify(e, null, 2));
  return { subject: `[Strongbox] ${headline(e)}`, text: lines.join('\n') + '\n' };
}

/**
 * `smtp://user@host:port?from=…&to=…[&to=…][&password-env=NAME]` (port 587, STARTTLS when the
 * server offers it) or `smtps://…` (port 465, TLS from the start), sent with nodemailer. The
 * password never goes in the URL: it is read from SMTP_PASSWORD or the variable password-env
 * names. With a password, a server that is not this machine must offer STARTTLS, so the
 * password never crosses the network in clear.
 */
export const smtpFactory: ChannelFactory = {
  channel: 'smtp',
  schemes: ['smtp', 'smtps'],
  form: 'smtp://user@host:587?from=backup@example.com&to=ops@example.com (password from SMTP_PASSWORD)',
  urlIsSecret: false,
  open(url, opts) {
    const secure = url.protocol === 'smtps:';
    if (url.password) throw new UsageError('an smtp:// URL must not hold a password (it would show in the process list)', 'leave it out: the password is read from SMTP_PASSWORD, or from the variable &password-env=NAME names');
    for (const k of new Set(url.searchParams.keys())) {
      if (!QUERY_KEYS.includes(k)) throw new UsageError(`an smtp:// URL has an unknown setting "${k}"`, `known: ${QUERY_KEYS.join(', ')}`);
    }
    const from = url.searchParams.get('from') ?? '';
    const to = url.searchParams.getAll('to').flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
    if (!ADDRESS.test(from)) throw new UsageError('an smtp:// URL needs ?from=ADDRESS, one mail address', 'e.g. smtp://backup@mail.example.com:587?from=backup@example.com&to=ops@example.com');
    if (!to.length || !to.every((t) => ADDRESS.test(t))) throw new UsageError('an smtp:// URL needs at least one &to=ADDRESS, each a mail address', 'repeat &to= for more recipients');
    if (!url.hostname) throw new UsageError('an smtp:// URL names no mail server', 'e.g. smtp://user@mail.example.com:587?from=…&to=…');
    const user = decodeURIComponent(url.username);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : secure ? 465 : 587;
    const passwordEnv = url.searchParams.get('password-env') ?? 'SMTP_PASSWORD';
    const pass = user ? readPassword(opts, passwordEnv, url.searchParams.has('password-env')) : undefined;
    const display = `smtp (${url.host}, to ${to.join(', ')})`;
    return {
      display,
      async send(event: RunEvent, signal: AbortSignal) {
        // Loaded when a mail is sent: most runs send none, and nodemailer takes ~20 ms to load.
        const { default: nodemailer } = await import('nodemailer');
        const transport = nodemailer.createTransport({
          host,
          port,
          secure,
          auth: user ? { user, pass } : undefined,
          requireTLS: !secure && !!user && !LOOPBACK.test(url.hostname),
          tls: opts.tls?.ca ? { ca: opts.tls.ca } : undefined,
          // deliver.ts bounds the whole attempt; these only keep a dead socket from lingering.
          connectionTimeout: 30_000,
          greetingTimeout: 30_000,
          socketTimeout: 60_000,
        });
        const abort = () => transport.close();
        signal.addEventListener('abort', abort, { once: true });
        try {
          await transport.sendMail({ from, to, ...mailOf(event) });
        } catch (err) {
          if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new DeliveryError('timed out');
          const e = err as { code?: string; responseCode?: number; message?: string };
          // 5xx replies and refused logins will not change on a retry; connection trouble may.
          const permanent = (e.responseCode !== undefined && e.responseCode >= 500) || e.code === 'EAUTH' || e.code === 'EENVELOPE';
          throw new DeliveryError(`${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`, permanent);
        } finally {
          signal.removeEventListener('abort', abort);
          transport.close();
        }
      },
    };
  },
};

/**
 * The password of a mail URL with a user. Missing, it stops the run before it starts (exit 2,
 * as every missing secret does): the message says where it was looked for, and how to name
 * another variable, since the user may never have written SMTP_PASSWORD themselves.
 */
function readPassword(opts: ChannelOptions, name: string, named: boolean): string {
  try {
    return opts.readSecret(name, 'the SMTP password');
  } catch (err) {
    if (err instanceof UsageError && !named) throw new UsageError(`${err.message} (SMTP_PASSWORD is where a mail URL with a user name takes its password by default; or name another variable with &password-env=NAME)`, err.hint);
    throw err;
  }
}

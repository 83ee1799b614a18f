import { UsageError } from '../../shared/errors.js';

/** A parsed PostgreSQL connection URL, split into what may be shown and what may not. */
export interface PgTarget {
  database: string;
  /** `host[:port]` for messages and manifests; `(default host)` when libpq picks it. */
  host: string;
  /**
   * The URL without any password: safe for argv and logs. It is what the client tools get
   * as `--dbname`, so libpq still sees every other parameter (sslmode, options, …) as written.
   */
  connectionUrl: string;
  /** Goes to the child processes as PGPASSWORD only, never in argv. */
  password?: string;
}

const EXPECTED = 'expected postgres://user:password@host:port/database (percent-encode special characters)';

// scheme :// authority path ?query #fragment — hand-parsed because WHATWG URL rejects
// libpq forms such as multiple hosts (h1:5432,h2:5432) or an empty host (postgres://u@/db).
const URL_RE = /^(postgres(?:ql)?):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/i;

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new UsageError(`The PostgreSQL URL has a malformed %-escape; ${EXPECTED}`);
  }
}

/**
 * Parses `postgres://` / `postgresql://` URLs. Errors never echo the URL: it may hold a
 * password, and a half-parsed one may leak part of it into a "database name".
 */
export function parsePostgresUrl(url: string): PgTarget {
  const m = URL_RE.exec(url.trim());
  if (!m) throw new UsageError(`The PostgreSQL URL is not valid: ${EXPECTED}`);
  const [, scheme, authority = '', path = '', query] = m;

  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : '';
  const hostPart = at >= 0 ? authority.slice(at + 1) : authority;
  const colon = userinfo.indexOf(':');
  const rawUser = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
  let password = colon >= 0 ? decode(userinfo.slice(colon + 1)) : undefined;

  // An unencoded "/" in a password ends the authority early; what follows would then be
  // taken for the database name. Refuse rather than print part of a password later.
  if (path.includes('@')) throw new UsageError(`The PostgreSQL URL is not valid (an "@" after the host; is a "/" in the password not encoded?): ${EXPECTED}`);
  let database = path.length > 1 ? decode(path.slice(1)) : '';

  const kept: string[] = [];
  let hostParam: string | undefined;
  for (const pair of (query ?? '').split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq >= 0 ? pair.slice(0, eq) : pair);
    const value = eq >= 0 ? decode(pair.slice(eq + 1)) : '';
    if (key === 'password') {
      password ??= value;
      continue;
    }
    if (key === 'sslpassword') {
      throw new UsageError('The PostgreSQL URL carries sslpassword, which would be visible in the process list', 'use an unencrypted client key file readable only by this user, or a .pgpass/service file');
    }
    if (key === 'dbname' && !database) database = value;
    if (key === 'host') hostParam = value;
    kept.push(pair);
  }
  if (!database) throw new UsageError(`The PostgreSQL URL names no database: ${EXPECTED}`);

  const connectionUrl = `${scheme!.toLowerCase()}://${rawUser ? `${rawUser}@` : ''}${hostPart}${path}${kept.length ? `?${kept.join('&')}` : ''}`;
  return {
    database,
    host: decode(hostPart) || hostParam || '(default host)',
    connectionUrl,
    ...(password ? { password } : {}),
  };
}

/**
 * Every password a PostgreSQL URL carries, decoded: in the user info and in `?password=`
 * (both may be given; libpq uses one, but both are secret), also in the libpq forms WHATWG URL
 * rejects (several hosts). For masking; a malformed URL yields what could be read.
 */
export function postgresUrlSecrets(url: string): string[] {
  const found = new Set<string>();
  const decoded = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  try {
    const password = parsePostgresUrl(url).password;
    if (password) found.add(password);
  } catch {
    // not a valid PostgreSQL URL; checkSource reports it
  }
  try {
    const u = new URL(url);
    if (u.password) found.add(decoded(u.password));
  } catch {
    // not a URL
  }
  for (const m of url.matchAll(/[?&]password=([^&#]*)/g)) if (m[1]) found.add(decoded(m[1]));
  return [...found];
}

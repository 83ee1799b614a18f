import { UsageError } from '../../shared/errors.js';

/** A parsed `mysql://` / `mariadb://` URL, split into what may be shown and what may not. */
export interface MysqlTarget {
  scheme: 'mysql' | 'mariadb';
  user?: string;
  host: string;
  /** As given; undefined means the client's default (3306). */
  port?: number;
  database: string;
  /** From the URL, else MYSQL_PWD. Goes into a 0600 option file only, never into argv. */
  password?: string;
}

const EXPECTED = 'expected mysql://user[:password]@host[:port]/database or mariadb://… (percent-encode special characters)';
const URL_RE = /^(mysql|mariadb):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i;
/** MySQL and MariaDB limit database names to 64 characters. */
export const MAX_NAME = 64;

function decode(raw: string, flag: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new UsageError(`${flag}: the MySQL URL has a malformed %-escape; ${EXPECTED}`);
  }
}

/**
 * Parses the URL given to `flag` (`--mysql`, `--mysql-target`). Errors never echo the URL:
 * it may hold a password, and a half-parsed one could leak part of it into a "database name".
 */
export function parseMysqlUrl(url: string, flag = '--mysql', env: NodeJS.ProcessEnv = process.env): MysqlTarget {
  const m = URL_RE.exec(url.trim());
  if (!m) throw new UsageError(`${flag}: the MySQL URL is not valid: ${EXPECTED}`);
  const [, scheme, authority = '', path = '', query, fragment] = m;
  if (query || fragment) {
    throw new UsageError(`${flag}: the MySQL URL has a query string or fragment, which Strongbox does not pass on: ${EXPECTED}`, 'put client settings (TLS, socket) in ~/.my.cnf [client], which the MySQL/MariaDB tools read');
  }
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : '';
  const hostPart = at >= 0 ? authority.slice(at + 1) : authority;
  const colon = userinfo.indexOf(':');
  const user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, flag);
  const password = colon >= 0 ? decode(userinfo.slice(colon + 1), flag) : undefined;
  // An unencoded "/" in a password ends the authority early: refuse, never print the rest.
  if (path.includes('@')) throw new UsageError(`${flag}: the MySQL URL is not valid (an "@" after the host; is a "/" in the password not encoded?): ${EXPECTED}`);

  let host = hostPart;
  let port: number | undefined;
  const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d*))?$/.exec(hostPart);
  if (!hp) throw new UsageError(`${flag}: the MySQL URL has a malformed host or port: ${EXPECTED}`);
  host = decode(hp[1]!.replace(/^\[(.*)\]$/, '$1'), flag);
  if (hp[2] !== undefined && hp[2] !== '') {
    port = Number(hp[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${flag}: the MySQL URL's port must be 1-65535: ${EXPECTED}`);
  }
  if (!host) throw new UsageError(`${flag}: the MySQL URL names no host: ${EXPECTED}`);
  const database = path.length > 1 ? decode(path.slice(1), flag) : '';
  if (!database) throw new UsageError(`${flag}: the MySQL URL names no database: ${EXPECTED}`);
  if (database.includes('/')) throw new UsageError(`${flag}: the MySQL URL's database name holds a "/": ${EXPECTED}`);
  if ([...database].length > MAX_NAME) throw new UsageError(`${flag}: the database name in the MySQL URL is longer than ${MAX_NAME} characters`);
  if (/[\u0000]/.test(database) || database.endsWith(' ')) throw new UsageError(`${flag}: the database name in the MySQL URL holds a NUL or ends with a space, which MySQL refuses`);

  const fromEnv = env.MYSQL_PWD;
  const pw = password ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  return {
    scheme: scheme!.toLowerCase() as MysqlTarget['scheme'],
    ...(user ? { user } : {}),
    host,
    ...(port !== undefined ? { port } : {}),
    database,
    ...(pw !== undefined ? { password: pw } : {}),
  };
}

/** `host:port` as the manifest and messages show it (3306 when the URL gives none). */
export function hostPort(t: MysqlTarget): string {
  const h = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${h}:${t.port ?? 3306}`;
}

/** The URL without its password, for logs and messages; never throws. */
export function redactMysqlUrl(url: string): string {
  try {
    const t = parseMysqlUrl(url, '--mysql', {});
    const user = t.user ? `${encodeURIComponent(t.user)}@` : '';
    const h = t.host.includes(':') ? `[${t.host}]` : t.host;
    return `${t.scheme}://${user}${h}${t.port !== undefined ? `:${t.port}` : ''}/${encodeURIComponent(t.database)}`;
  } catch {
    return '(invalid MySQL URL)';
  }
}

/**
 * What the edges must mask once they have read the URL: the password in its decoded and its
 * written (percent-encoded) forms, and the whole URL when it holds one. Only what the URL
 * holds: an empty answer means "no password in the URL" (MYSQL_PWD, the fallback, is masked
 * where it is read: client.ts maskerFor). Never throws; a malformed URL yields its raw
 * userinfo so that not even a broken one is printed.
 */
export function mysqlUrlSecrets(url: string): string[] {
  const out = new Set<string>();
  // Up to the last "@", not the first "/": an unencoded "/" in a password must not hide it.
  const rest = url.trim().replace(/^[a-z]+:\/\//i, '');
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : '';
  const colon = userinfo.indexOf(':');
  const raw = colon >= 0 ? userinfo.slice(colon + 1) : '';
  if (raw) {
    out.add(raw);
    try {
      out.add(decodeURIComponent(raw));
    } catch {
      // the raw form is masked
    }
    out.add(url);
  }
  return [...out].filter((s) => s.length > 0);
}

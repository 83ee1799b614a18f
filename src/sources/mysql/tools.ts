import { StrongboxError } from '../../shared/errors.js';
import { runTool } from '../process.js';
import { clientMissing, childEnv, query, type Client } from './client.js';
import type { MysqlTarget } from './url.js';

/**
 * Which tools talk to a server. A MariaDB server is dumped with `mariadb-dump` and a MySQL
 * server with `mysqldump` (each writes what its own server understands: MySQL 8's dumps
 * carry GTID and column-statistics options MariaDB lacks, MariaDB's carry sequences and its
 * sandbox line). The server is asked (`SELECT VERSION()`) with whichever client is installed.
 */
export type Engine = 'mariadb' | 'mysql';

export interface Tools {
  engine: Engine;
  serverVersion: string;
  /** Runs queries and restores: `mariadb` or `mysql`. */
  client: Client;
  /** `mariadb-dump` or `mysqldump`. */
  dump: string;
}

/** `10.11.19-MariaDB-0+deb12u1` → mariadb; `8.0.36` → mysql. */
export function engineOf(version: string): Engine {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

/** The leading x.y.z of a version string. */
export function shortVersion(text: string): string {
  return /\d+\.\d+(?:\.\d+)?/.exec(text)?.[0] ?? text.trim();
}

async function versionOf(command: string): Promise<string | undefined> {
  try {
    return (await runTool(command, ['--version'], { name: command, env: childEnv() })).trim();
  } catch {
    return undefined;
  }
}

/** The first of `candidates` that runs, with its `--version` line. */
async function firstInstalled(candidates: string[]): Promise<{ command: string; version: string } | undefined> {
  for (const command of candidates) {
    const version = await versionOf(command);
    if (version !== undefined) return { command, version };
  }
  return undefined;
}

/** Client preference by engine; the other vendor's client is a fallback for queries (the protocol is shared). */
function clientCandidates(engine?: Engine): string[] {
  return engine === 'mysql' ? ['mysql', 'mariadb'] : ['mariadb', 'mysql'];
}

export async function detectTools(t: MysqlTarget, mask: (s: string) => string, signal?: AbortSignal): Promise<Tools> {
  const hinted: Engine | undefined = t.scheme === 'mariadb' ? 'mariadb' : undefined;
  const found = await firstInstalled(clientCandidates(hinted));
  if (!found) throw clientMissing(hinted === 'mariadb' || !hinted ? 'mariadb' : 'mysql', hinted ?? 'mariadb');
  const probe: Client = { command: found.command, engine: /mariadb/i.test(found.version) ? 'mariadb' : 'mysql' };
  const rows = await query(probe, t, 'SELECT VERSION()', { mask, database: null, ...(signal ? { signal } : {}) });
  const serverVersion = rows[0]?.[0] ?? '';
  if (!serverVersion) throw new StrongboxError(`the MySQL server at ${t.host} did not say its version`);
  const engine = engineOf(serverVersion);
  const clientFound = (await firstInstalled(clientCandidates(engine))) ?? found;
  return { engine, serverVersion, client: { command: clientFound.command, engine }, dump: engine === 'mariadb' ? 'mariadb-dump' : 'mysqldump' };
}

/**
 * The dump tool for the engine and its version line; a MariaDB server falls back to a
 * `mysqldump` that is MariaDB's (Debian links it). A MySQL server needs MySQL's mysqldump:
 * MariaDB's cannot dump MySQL 8 reliably (unknown columns in information_schema).
 */
export async function dumpTool(engine: Engine): Promise<{ command: string; version: string }> {
  if (engine === 'mariadb') {
    const own = await firstInstalled(['mariadb-dump']);
    if (own) return own;
    const alt = await firstInstalled(['mysqldump']);
    if (alt && /mariadb/i.test(alt.version)) return alt;
    throw new StrongboxError('mariadb-dump was not found; a MariaDB server is dumped with its own tool', {
      hint: 'install the MariaDB client tools (e.g. apt-get install mariadb-client) or put mariadb-dump on PATH',
    });
  }
  const own = await firstInstalled(['mysqldump']);
  if (own && !/mariadb/i.test(own.version)) return own;
  throw new StrongboxError(`${own ? 'the mysqldump on PATH is MariaDB\'s' : 'mysqldump was not found'}; a MySQL server is dumped with MySQL's own mysqldump`, {
    hint: 'install MySQL\'s client tools (e.g. apt-get install mysql-client, or the MySQL APT repository) and put its mysqldump first on PATH',
  });
}

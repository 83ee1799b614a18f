import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { StrongboxError, UsageError } from '../../shared/errors.js';
import { childEnvironment } from '../../shared/sensitive-env.js';
import { majorVersion, parseVersion } from './versions.js';

/**
 * Which PostgreSQL client tools run: pg_dump must be at least the server's major version,
 * pg_restore at least the dump's. Searched in order: `--pg-bin DIR`, then PATH, then the
 * newest of the versioned installs (`/usr/lib/postgresql/<major>/bin` on Debian and Ubuntu,
 * where PGDG packages put them). psql is taken from the same folder, so the pair matches.
 */

export interface PgClient {
  /** Absolute path of pg_dump or pg_restore. */
  tool: string;
  /** psql beside it (absolute), or 'psql' from PATH when the folder has none. */
  psql: string;
  version: string;
  dir: string;
}

export interface ClientSearch {
  pgBin?: string;
  /** PATH's folders; default process.env.PATH. */
  pathDirs?: string[];
  /** Folders holding one folder per version, each with a bin/ (default /usr/lib/postgresql). */
  versionRoots?: string[];
  /** Runs `tool --version`; injectable for tests. */
  versionOf?: (tool: string) => Promise<string>;
  /** The environment `--version` runs with (the same the tool itself will get). */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_VERSION_ROOTS = ['/usr/lib/postgresql'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function versionRunner(env: NodeJS.ProcessEnv | undefined): (tool: string) => Promise<string> {
  return (tool) =>
    new Promise((resolve, reject) => {
      execFile(tool, ['--version'], { env: env ?? childEnvironment(), timeout: 30_000 }, (err, stdout) => (err ? reject(err) : resolve(parseVersion(stdout))));
    });
}

/** Candidate folders in search order; versioned installs newest first. */
export function candidateDirs(search: ClientSearch): { dir: string; from: string }[] {
  const out: { dir: string; from: string }[] = [];
  if (search.pgBin) out.push({ dir: search.pgBin, from: '--pg-bin' });
  const pathDirs = search.pathDirs ?? (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of pathDirs) out.push({ dir, from: 'PATH' });
  for (const root of search.versionRoots ?? DEFAULT_VERSION_ROOTS) {
    let names: string[] = [];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    const versioned = names.filter((n) => /^\d+(\.\d+)?$/.test(n)).sort((a, b) => majorVersion(b) - majorVersion(a));
    for (const n of versioned) out.push({ dir: join(root, n, 'bin'), from: root });
  }
  return out;
}

function need(major: number): string {
  return major < 10 ? major.toFixed(1) : String(major);
}

/** How to get the client of `major` on GitHub's Ubuntu runners (and any Debian/Ubuntu). */
export function installHint(major: number): string {
  const v = need(major);
  return [
    `install the PostgreSQL ${v} client tools, then rerun (or pass --pg-bin DIR, input pg-bin, naming the folder that holds them). On Ubuntu (GitHub's runners) from the PGDG apt repository:`,
    '  sudo apt-get install -y postgresql-common',
    '  sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y',
    `  sudo apt-get install -y postgresql-client-${v}`,
    `(it installs into /usr/lib/postgresql/${v}/bin, where Strongbox finds it)`,
  ].join('\n');
}

/**
 * The first `tool` in search order whose major version is at least `minVersion`'s; when
 * PATH's is too old, the newest new-enough versioned install. Fails naming every version found.
 */
export async function findClient(tool: 'pg_dump' | 'pg_restore', minVersion: string, why: string, search: ClientSearch = {}): Promise<PgClient> {
  const versionOf = search.versionOf ?? versionRunner(search.env);
  const min = majorVersion(minVersion);
  const seen: string[] = [];
  const tried = new Set<string>();
  if (search.pgBin && !executable(join(search.pgBin, tool))) {
    throw new UsageError(`--pg-bin ${search.pgBin} holds no ${tool}`, 'name the folder holding the PostgreSQL client tools, e.g. /usr/lib/postgresql/16/bin');
  }
  for (const { dir, from } of candidateDirs(search)) {
    const path = join(dir, tool);
    if (tried.has(path) || !executable(path)) continue;
    tried.add(path);
    let version: string;
    try {
      version = await versionOf(path);
    } catch {
      continue; // a broken wrapper (pg_wrapper without a cluster…): keep looking
    }
    if (!version) continue;
    if (majorVersion(version) >= min) {
      const psql = join(dir, 'psql');
      return { tool: path, psql: executable(psql) ? psql : 'psql', version, dir };
    }
    seen.push(`${tool} ${version} (${path}, from ${from})`);
  }
  const found = seen.length ? `found only ${seen.join(', ')}` : `found no ${tool} at all`;
  throw new StrongboxError(`${why} needs ${tool} ${need(min)} or newer; ${found}`, { hint: installHint(min) });
}

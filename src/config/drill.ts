import { parseDuration } from '../core/duration.js';
import type { DrillOptions, ScratchTargets } from '../core/drill.js';
import { UsageError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import type { ConfigFile } from './file.js';
import { fromLocation, lockOf, resolveKey, resolveTrusted, type ReadSettings } from './read.js';
import { maskLocation, resolveDbLockTimeout, resolvePgBin, urlsFromEnv, warnPasswordInArgv } from './settings.js';

/** `strongbox drill` and the verify action's drill inputs, as the edges read them (undefined: not given). */
export interface DrillSettings extends ReadSettings {
  postgresScratch?: string;
  postgresScratchEnv?: string;
  mysqlScratch?: string;
  mysqlScratchEnv?: string;
  sqliteScratch?: string;
  filesScratch?: string;
  checkSql?: string[];
  maxAge?: string;
  /** Artifact names to drill (`--only`); the others are left out on purpose. */
  only?: string[];
  keep?: boolean;
  dbLockTimeout?: string;
  pgBin?: string;
  /** The scratch URLs were typed into argv (the CLI): warn about a password in one. */
  argv?: boolean;
}

/** The verify action's names for the drill options, for messages (`drill-postgres` ↔ `--postgres-scratch`). */
export const DRILL_ACTION_NAMES = { scratch: (kind: string) => `drill-${kind}` } as const;

/**
 * True when any scratch input is given (the verify action then drills after verifying). The
 * runner gives an omitted input and an unset secret alike as "", so drill-check-sql or
 * drill-max-age with every scratch input empty is refused (exit 2) instead of skipping the drill.
 */
export function drillRequested(s: DrillSettings): boolean {
  const requested = [s.postgresScratch, s.postgresScratchEnv, s.mysqlScratch, s.mysqlScratchEnv, s.sqliteScratch, s.filesScratch].some((v) => v !== undefined && v.trim() !== '');
  const checks = (s.checkSql ?? []).some((q) => q.trim() !== '') || !!s.maxAge?.trim();
  if (checks && !requested) {
    throw new UsageError(
      'drill-check-sql or drill-max-age is set, but every drill scratch input (drill-postgres, drill-mysql, drill-sqlite, drill-files) is empty, so no drill would run',
      'an unset secret or variable expands to ""; check the secret that drill-postgres or drill-mysql reads, or set drill-files/drill-sqlite to a path',
    );
  }
  return requested;
}

export function resolveScratch(s: DrillSettings, env: NodeJS.ProcessEnv, reporter: Reporter): ScratchTargets {
  const url = (kind: 'postgres' | 'mysql', value: string | undefined, envName: string | undefined) => {
    const flag = `--${kind}-scratch`;
    const v = value?.trim() ? value.trim() : undefined;
    const e = envName?.trim() ? envName.trim() : undefined;
    if (v !== undefined && e !== undefined) throw new UsageError(`${flag} and ${flag}-env both name the scratch server`, 'give one of them');
    const u = e !== undefined ? urlsFromEnv([e], env, `${flag}-env`)[0] : v;
    if (u !== undefined) maskLocation(kind, u, reporter);
    if (v !== undefined && s.argv) warnPasswordInArgv(v, flag, `${flag}-env`, reporter, kind);
    return u;
  };
  const path = (p: string | undefined) => (p?.trim() ? p.trim() : undefined);
  const out: ScratchTargets = {};
  const put = (kind: string, v: string | undefined) => {
    if (v !== undefined) out[kind] = v;
  };
  put('postgres', url('postgres', s.postgresScratch, s.postgresScratchEnv));
  put('mysql', url('mysql', s.mysqlScratch, s.mysqlScratchEnv));
  put('sqlite', path(s.sqliteScratch));
  put('files', path(s.filesScratch));
  return out;
}

export async function resolveDrillConfig(flags: DrillSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<DrillOptions> {
  const scratch = resolveScratch(flags, env, reporter);
  const maxAgeMs = flags.maxAge?.trim() ? parseDuration(flags.maxAge, '--max-age') : undefined;
  const checkSql = (flags.checkSql ?? []).map((q) => q.trim()).filter(Boolean);
  // A drill restores, so it needs the key whenever the backup is encrypted; the core says so then.
  const decrypt = await resolveKey(flags, file, env, reporter);
  return {
    destination: fromLocation(flags, file, env, reporter),
    selection: { selector: flags.backup?.trim() || 'latest' },
    decrypt,
    trusted: await resolveTrusted(flags, file),
    scratch,
    checkSql,
    ...(flags.only?.length ? { only: flags.only.map((n) => n.trim()).filter(Boolean) } : {}),
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    keep: !!flags.keep,
    reporter,
    lock: lockOf(flags, file, env),
    dbLockTimeoutMs: resolveDbLockTimeout(flags.dbLockTimeout ?? file?.dbLockTimeout),
    ...resolvePgBin(flags.pgBin),
  };
}

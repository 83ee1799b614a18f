import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecryptOptions } from '../codecs/age/index.js';
import type { SshPublicKey } from '../codecs/ssh-signature/index.js';
import type { Destination } from '../destinations/types.js';
import type { ArtifactKind, SourceAdapter } from '../sources/adapter.js';
import { findSourceAdapter, sourceAdapter, sourceAdapters } from '../sources/index.js';
import { beginActivity, onForcedExit, throwIfCancelled } from '../shared/cancel.js';
import { ExitCode, RefusedError, StrongboxError, UsageError, errorMessage, type ExitCodeValue } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { printable } from '../shared/text.js';
import { formatDuration } from './duration.js';
import { withLocks, type LockSettings } from './locking.js';
import { assertRepository, describeArtifact, listBackups, warnNewerDamaged, type BackupEntry, type Selection } from './repository.js';
import { restore, targetContext } from './restore.js';
import { seriesOf } from './series.js';
import { assertEncryptedAsDeclared, selectTrusted } from './trust.js';
import type { ArtifactRecord, Manifest } from './types.js';

/**
 * Restore drills: the chosen backup restored into scratch targets, never production, through
 * the restore core (stored checksums first, exact row counts compared by the adapters), then
 * compared further (file trees' entries and bytes), the --check-sql queries run, and the
 * restore time (RTO) measured per artifact and in total. What the drill created it removes
 * again (unless --keep), also when it fails or is cancelled.
 */

/** Where each kind is drilled: a server URL (databases) or a path (`--<kind>-scratch`). */
export type ScratchTargets = Partial<Record<ArtifactKind, string>>;

export interface DrillOptions {
  destination: Destination;
  selection: Selection;
  decrypt?: DecryptOptions;
  trusted?: SshPublicKey[];
  scratch: ScratchTargets;
  /**
   * Artifact names to drill (`--only`, repeatable); default every artifact. Without it a
   * database artifact with no scratch target is refused up front, never skipped silently.
   */
  only?: string[];
  /**
   * Queries that must return rows: `NAME:SQL` runs on the scratch database of artifact NAME,
   * plain SQL on the first restored database (in the backup's order).
   */
  checkSql: string[];
  /** The backup must be younger than this. */
  maxAgeMs?: number;
  /** Leave what the drill created in place (to inspect it). */
  keep: boolean;
  reporter: Reporter;
  lock?: LockSettings;
  dbLockTimeoutMs?: number;
  pgBin?: string;
  /** Milliseconds on a monotonic clock, for the RTO. */
  clock?: () => number;
  /** Wall time, for the backup's age. */
  now?: () => Date;
  /** Where scratch files and trees go when no --<kind>-scratch is given. */
  tempRoot?: string;
  /** The suffix of scratch database names (`strongbox_drill_<UTC time>_<id>`); random by default. */
  scratchId?: () => string;
  /** How the edge names the options in messages (the verify action's inputs); default the CLI's flags. */
  names?: { scratch: (kind: string) => string; only?: string };
}

export type DrillStatus = 'ok' | 'difference' | 'skipped';

export interface DrillArtifact {
  name: string;
  kind: string;
  status: DrillStatus;
  /** The scratch target as messages show it (no password). */
  target?: string;
  /** Download → decrypt → decompress → restore, seconds. */
  seconds?: number;
  /** Rows compared with the manifest's exact counts (databases). */
  rows?: { tables: number; rows: number };
  /** What else was compared (a tree's entries and bytes). */
  compared?: string;
  problem?: string;
}

export interface DrillCheck {
  /** As given (`NAME:SQL` included), or `max-age …`. */
  check: string;
  ok: boolean;
  detail: string;
}

export interface DrillResult {
  backupId: string;
  startedAt: string;
  series: string;
  labels: string[];
  ageSeconds: number;
  ok: boolean;
  exitCode: ExitCodeValue;
  artifacts: DrillArtifact[];
  checks: DrillCheck[];
  /**
   * The sum of the artifacts' seconds (download → decrypt → decompress → restore, one after
   * another): what getting this backup back took. Comparisons and checks are not in it.
   */
  rtoSeconds: number;
  /** Scratch targets left in place by --keep. */
  kept: string[];
}

/**
 * 10 when anything differed, a check failed or the backup was too old; else 0. A skipped
 * artifact is one the user left out with --only (missing scratch targets are refused up front).
 */
export function drillExitCode(r: Pick<DrillResult, 'artifacts' | 'checks'>): ExitCodeValue {
  return r.artifacts.some((a) => a.status === 'difference') || r.checks.some((c) => !c.ok) ? ExitCode.drillFailed : ExitCode.ok;
}

/** The max-age check: ok while the backup is younger than the limit. */
export function ageCheck(m: Pick<Manifest, 'startedAt'>, maxAgeMs: number, now: Date): DrillCheck {
  const age = now.getTime() - Date.parse(m.startedAt);
  const ok = age < maxAgeMs;
  return { check: `max-age ${formatDuration(maxAgeMs)}`, ok, detail: `the backup is ${formatDuration(Math.max(0, age))} old${ok ? '' : `, older than ${formatDuration(maxAgeMs)}`}` };
}

interface Scratch {
  adapter: SourceAdapter;
  artifact: ArtifactRecord;
  target: string;
  display: string;
  /** Removes what the drill created; undefined when the target existed before (kept as found). */
  remove?: () => Promise<void>;
}

export async function drill(opts: DrillOptions): Promise<DrillResult> {
  await assertRepository(opts.destination);
  const activity = beginActivity(`drill from ${opts.destination.display}`, 'only scratch targets were written');
  return withLocks([opts.destination], 'drill', false, opts.lock, opts.reporter, () => run(opts)).finally(() => activity.end());
}

async function run(opts: DrillOptions): Promise<DrillResult> {
  const { destination: dest, reporter } = opts;
  const clock = opts.clock ?? (() => performance.now());
  const now = opts.now ?? (() => new Date());
  const lock: LockSettings = { ...opts.lock, held: true };
  const kinds = Object.keys(opts.scratch).filter((k) => opts.scratch[k] !== undefined);
  for (const k of kinds) sourceAdapter(k);
  const names = opts.names ?? { scratch: (k: string) => `--${k}-scratch`, only: '--only NAME' };

  const entries = await listBackups(dest, reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: { kinds } }, opts.trusted, reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, reporter);
  const m = chosen.manifest;
  assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  if (m.encryption.scheme === 'age' && !opts.decrypt) throw new UsageError(`backup ${m.id} is encrypted`, 'pass --identity-file FILE or --passphrase-env NAME');

  // Everything the user could have got wrong is refused before a scratch target exists.
  const plan = planDrill(m, opts, names);
  const sqlChecks = planChecks(m, plan.drilled, opts.checkSql, names);
  await warnStale(plan.drilled, opts, now());

  const checks: DrillCheck[] = [];
  if (opts.maxAgeMs !== undefined) checks.push(ageCheck(m, opts.maxAgeMs, now()));
  const artifacts: DrillArtifact[] = [...plan.skipped];
  const scratches: Scratch[] = [];
  const unregister = onForcedExit(() => removeAll(scratches, opts));
  try {
    await prepare(m, plan.drilled, opts, scratches, now(), names);
    reporter.info(`Drilling ${m.id} (${m.startedAt}) from ${dest.display}: ${scratches.length} artifact(s) into scratch targets`);

    for (const s of scratches) artifacts.push(await restoreOne(chosen, s, opts, lock, clock));
    // Per artifact the clock stops before the comparison walk; the RTO is their sum.
    const rtoSeconds = seconds(artifacts.reduce((n, a) => n + (a.seconds ?? 0) * 1000, 0));

    checks.push(...(await runChecks(scratches, artifacts, sqlChecks, opts)));
    const kept = opts.keep ? scratches.filter((s) => s.remove).map((s) => s.display) : [];
    const result: DrillResult = {
      backupId: m.id,
      startedAt: m.startedAt,
      series: seriesOf(m),
      labels: m.labels,
      ageSeconds: Math.max(0, Math.round((now().getTime() - Date.parse(m.startedAt)) / 1000)),
      ok: false,
      exitCode: ExitCode.ok,
      artifacts: sortLike(m, artifacts),
      checks,
      rtoSeconds,
      kept,
    };
    result.exitCode = drillExitCode(result);
    result.ok = result.exitCode === ExitCode.ok;
    return result;
  } finally {
    unregister();
    if (!opts.keep) await removeAll(scratches, opts);
  }
}

const seconds = (ms: number) => Math.round(ms) / 1000;
const scratchFlags = (names: Names) => sourceAdapters.map((a) => `${names.scratch(a.kind)} …`).join(', ');
export const scratchFlag = (a: Pick<SourceAdapter, 'kind'>) => `--${a.kind}-scratch`;
const serverKind = (a: SourceAdapter) => !!a.createScratch;
type Names = NonNullable<DrillOptions['names']>;

/** Scratch databases are named `strongbox_drill_<UTC yyyymmddhhmmss>_<id>`, so a leftover's age shows in its name. */
export const SCRATCH_PREFIX = 'strongbox_drill_';
const STALE_MS = 24 * 3600 * 1000;
const stamp = (d: Date) => d.toISOString().replace(/\D/g, '').slice(0, 14);
export const scratchDatabaseName = (now: Date, id: string) => `${SCRATCH_PREFIX}${stamp(now)}_${id}`;

/** When a scratch database name was made (its stamp), or undefined for a name without one. */
export function scratchMadeAt(name: string): Date | undefined {
  const m = /^strongbox_drill_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_/.exec(name);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** Names older than a day, or without a time stamp: what a killed (SIGKILL, OOM, timeout) drill left. */
export function staleScratchNames(names: string[], now: Date): string[] {
  return names.filter((n) => n.startsWith(SCRATCH_PREFIX)).filter((n) => {
    const at = scratchMadeAt(n);
    return !at || now.getTime() - at.getTime() > STALE_MS;
  });
}

interface Plan {
  drilled: ArtifactRecord[];
  skipped: DrillArtifact[];
}

/**
 * Which artifacts are drilled. A database artifact without a scratch target is refused (exit 2)
 * rather than skipped, so a drill never reports OK without having restored the database; the
 * user narrows the drill on purpose with --only.
 */
function planDrill(m: Manifest, opts: DrillOptions, names: Names): Plan {
  const only = opts.only?.length ? opts.only : undefined;
  const unknown = (only ?? []).filter((n) => !m.artifacts.some((a) => a.name === n));
  if (unknown.length) {
    throw new UsageError(`${names.only?.split(' ')[0] ?? '--only'} ${unknown.map(printable).join(', ')}: backup ${m.id} has no such artifact`, `its artifacts: ${m.artifacts.map((a) => printable(a.name)).join(', ')}`);
  }
  const drilled: ArtifactRecord[] = [];
  const skipped: DrillArtifact[] = [];
  const missing: string[] = [];
  for (const artifact of m.artifacts) {
    if (only && !only.includes(artifact.name)) {
      skipped.push({ name: artifact.name, kind: artifact.kind, status: 'skipped', problem: `left out by ${names.only?.split(' ')[0] ?? '--only'}` });
      continue;
    }
    const adapter = findSourceAdapter(artifact.kind);
    if (!adapter) {
      missing.push(`${describeArtifact(artifact)}: this version cannot restore ${printable(artifact.kind)} artifacts`);
      continue;
    }
    if (serverKind(adapter) && opts.scratch[artifact.kind] === undefined) {
      missing.push(`${describeArtifact(artifact)}: no ${names.scratch(artifact.kind)} given`);
      continue;
    }
    drilled.push(artifact);
  }
  if (missing.length) {
    const narrow = names.only ? `, or drill only the others on purpose with ${names.only}` : '';
    throw new UsageError(
      `backup ${m.id} cannot be drilled completely, nothing was restored: ${missing.join('; ')}`,
      `give ${[...new Set(missing.map((x) => /no (\S+) given/.exec(x)?.[1]).filter(Boolean))].join(' and ') || 'a scratch target'} (an unset secret or variable expands to "")${narrow}`,
    );
  }
  if (!drilled.length) throw new UsageError(`nothing to drill: no artifact of ${m.id} selected`, `pass one of ${scratchFlags(names)}`);
  for (const kind of new Set(drilled.map((a) => a.kind))) {
    const n = drilled.filter((a) => a.kind === kind).length;
    const adapter = sourceAdapter(kind);
    const given = opts.scratch[kind];
    if (n > 1 && given !== undefined && (!serverKind(adapter) || adapter.scratchName?.(given) !== undefined)) {
      throw new UsageError(`backup ${m.id} holds ${n} ${kind} artifacts but ${names.scratch(kind)} names one target`, serverKind(adapter) ? 'name only the server (no database): the drill then creates one scratch database per artifact' : `leave ${names.scratch(kind)} out: the drill then restores each into its own temporary ${adapter.targetNoun}`);
    }
  }
  return { drilled, skipped };
}

interface SqlCheck {
  check: string;
  sql: string;
  /** The artifact whose scratch database it runs on; undefined: the first restored database. */
  artifact?: string;
}

/** `NAME:SQL` aims a check at one artifact's database; a NAME that is not a drilled database is refused up front. */
function planChecks(m: Manifest, drilled: ArtifactRecord[], checkSql: string[], names: Names): SqlCheck[] {
  const databases = drilled.filter((a) => findSourceAdapter(a.kind)?.countQueryRows).map((a) => a.name);
  return checkSql.map((check) => {
    const pre = /^([^\s:'"]+):(?!:)\s*([\s\S]+)$/.exec(check);
    if (!pre) return { check, sql: check };
    const [, name, sql] = pre;
    if (!databases.includes(name!)) {
      const known = m.artifacts.some((a) => a.name === name);
      throw new UsageError(
        `check-sql ${printable(check)}: ${printable(name!)} ${known ? 'is not a database artifact drilled here' : `is no artifact of backup ${m.id}`}`,
        databases.length ? `prefix a check with one of ${databases.map(printable).join(', ')} and a colon, or give none (the check then runs on ${printable(databases[0]!)})` : `give a ${scratchFlags(names)} for a database artifact`,
      );
    }
    return { check, sql: sql!, artifact: name };
  });
}

/** A warning naming old `strongbox_drill_…` databases on each scratch server; never drops them. */
async function warnStale(drilled: ArtifactRecord[], opts: DrillOptions, now: Date): Promise<void> {
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  for (const kind of new Set(drilled.map((a) => a.kind))) {
    const adapter = sourceAdapter(kind);
    const url = opts.scratch[kind];
    if (!adapter.listScratch || url === undefined) continue;
    try {
      const stale = staleScratchNames(await adapter.listScratch(url, SCRATCH_PREFIX, ctx), now);
      if (stale.length) {
        opts.reporter.warning(
          `the ${kind} scratch server holds ${stale.length} database(s) a killed drill left, older than a day or undated: ${stale.map(printable).join(', ')}; they may hold copies of production data: drop them by hand once no drill is running (nothing was dropped)`,
        );
      }
    } catch (err) {
      throwIfCancelled();
      opts.reporter.debug(`could not list the ${kind} scratch server's databases: ${printable(errorMessage(err))}`);
    }
  }
}

function sortLike(m: Manifest, list: DrillArtifact[]): DrillArtifact[] {
  const order = m.artifacts.map((a) => a.name);
  return [...list].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/**
 * Every scratch target, made ready before anything is restored: a database the drill creates
 * (and drops again), an SQLite file that must not exist, a directory that must be empty or
 * new; else the drill refuses and removes nothing it did not create.
 */
async function prepare(m: Manifest, drilled: ArtifactRecord[], opts: DrillOptions, scratches: Scratch[], now: Date, names: Names): Promise<void> {
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  const id = opts.scratchId ?? (() => randomBytes(4).toString('hex'));
  for (const artifact of drilled) {
    throwIfCancelled();
    const adapter = sourceAdapter(artifact.kind);
    const given = opts.scratch[artifact.kind];
    scratches.push(serverKind(adapter) ? await serverScratch(adapter, artifact, given!, scratchDatabaseName(now, id()), ctx, names) : await pathScratch(adapter, artifact, given, opts, ctx));
  }
}

/**
 * A database that existed before is refused (exit 2), empty or not: the drill could not give
 * it back as it found it (a restore brings schemas, extensions, roles' grants), so a copy of
 * production data would stay on the scratch server and the next drill would find it occupied.
 */
async function serverScratch(adapter: SourceAdapter, artifact: ArtifactRecord, url: string, fresh: string, ctx: ReturnType<typeof targetContext>, names: Names): Promise<Scratch> {
  const named = adapter.scratchName!(url);
  const { target, created } = await adapter.createScratch!(url, named ?? fresh, ctx);
  const display = adapter.displayTarget(target);
  if (!created) {
    throw new UsageError(
      `${names.scratch(artifact.kind)} names the ${adapter.targetNoun} ${display}, which exists; a drill restores only into a database it creates and drops again, so nothing was restored or dropped`,
      `name only the server in ${names.scratch(artifact.kind)} (e.g. ${adapter.kind}://user@host:port/): the drill then creates its own ${SCRATCH_PREFIX}… database and drops it afterwards`,
    );
  }
  return { adapter, artifact, target, display, remove: () => adapter.dropScratch!(target, ctx) };
}

async function pathScratch(adapter: SourceAdapter, artifact: ArtifactRecord, given: string | undefined, opts: DrillOptions, ctx: ReturnType<typeof targetContext>): Promise<Scratch> {
  if (given === undefined) {
    // A private folder of our own; the target inside it does not exist yet, as a new restore's.
    const dir = await mkdtemp(join(opts.tempRoot ?? tmpdir(), 'strongbox-drill-'));
    const target = adapter.normalizeTarget(join(dir, artifact.name + (adapter.kind === 'files' ? '' : adapter.extension)));
    return { adapter, artifact, target, display: adapter.displayTarget(target), remove: () => rm(dir, { recursive: true, force: true }) };
  }
  const target = adapter.normalizeTarget(given);
  const display = adapter.displayTarget(target);
  const existed = await lstat(target).then(() => true, () => false);
  await adapter.checkTarget(target, ctx);
  // An SQLite scratch must not exist; a directory may exist empty (then only its contents go).
  if (existed && (adapter.kind === 'sqlite' || !(await adapter.isTargetEmpty(target, ctx)))) {
    throw new RefusedError(
      `the scratch ${adapter.targetNoun} ${display} ${adapter.kind === 'sqlite' ? 'exists' : 'is not empty'}; a drill restores only into ${adapter.kind === 'sqlite' ? 'a new file' : 'an empty or new directory'}, so nothing was restored or removed`,
      `give ${scratchFlag(adapter)} a path that does not exist yet, or leave it out (the drill then uses a temporary one)`,
    );
  }
  const remove = existed
    ? async () => {
        for (const name of await readdir(target).catch(() => [] as string[])) await rm(join(target, name), { recursive: true, force: true });
      }
    : () => Promise.all([target, `${target}-wal`, `${target}-shm`, `${target}-journal`].map((p) => rm(p, { recursive: true, force: true }))).then(() => undefined);
  return { adapter, artifact, target, display, remove };
}

async function removeAll(scratches: Scratch[], opts: DrillOptions): Promise<void> {
  for (const s of scratches.splice(0)) {
    if (!s.remove) continue;
    try {
      await s.remove();
    } catch (err) {
      opts.reporter.warning(`could not remove the scratch ${s.adapter.targetNoun} ${s.display}: ${printable(errorMessage(err))}; remove it by hand`);
    }
  }
}

async function restoreOne(chosen: BackupEntry & { manifest: Manifest }, s: Scratch, opts: DrillOptions, lock: LockSettings, clock: () => number): Promise<DrillArtifact> {
  const m = chosen.manifest;
  const { artifact, adapter } = s;
  const base = { name: artifact.name, kind: artifact.kind, target: s.display };
  const t0 = clock();
  try {
    await restore({
      destination: opts.destination,
      selection: { selector: m.id },
      chosen,
      decrypt: opts.decrypt,
      trusted: opts.trusted,
      targets: { [artifact.kind]: s.target },
      only: [artifact.name],
      force: false,
      reporter: opts.reporter,
      lock,
      dbLockTimeoutMs: opts.dbLockTimeoutMs,
      pgBin: opts.pgBin,
    });
  } catch (err) {
    // A damaged artifact, a checksum or row-count difference: what the drill is for (exit 10).
    // Anything else (a server down, a wrong key) is not the backup's fault and keeps its code.
    if (err instanceof StrongboxError && err.exitCode === ExitCode.verifyFailed) {
      opts.reporter.error(`DRILL FAILED: ${describeArtifact(artifact)} did not restore as recorded: ${err.message}`);
      return { ...base, status: 'difference', seconds: seconds(clock() - t0), problem: err.message };
    }
    throw err;
  }
  const secs = seconds(clock() - t0);
  const exact = artifact.rowCounts && (artifact.rowCountMode ?? 'exact') === 'exact';
  const rows = exact ? { tables: Object.keys(artifact.rowCounts!).length, rows: Object.values(artifact.rowCounts!).reduce((a, b) => a + b, 0) } : undefined;
  const found = adapter.compareRestored ? await adapter.compareRestored(s.target, artifact) : undefined;
  if (found?.differences.length) {
    const problem = found.differences.join('; ');
    opts.reporter.error(`DRILL FAILED: ${describeArtifact(artifact)} restored into ${s.display} differs from the backup's record: ${problem}`);
    return { ...base, status: 'difference', seconds: secs, compared: found.compared, problem };
  }
  return { ...base, status: 'ok', seconds: secs, ...(rows ? { rows } : {}), ...(found ? { compared: found.compared } : {}) };
}

async function runChecks(scratches: Scratch[], artifacts: DrillArtifact[], sqlChecks: SqlCheck[], opts: DrillOptions): Promise<DrillCheck[]> {
  if (!sqlChecks.length) return [];
  const restored = new Set(artifacts.filter((a) => a.status === 'ok').map((a) => a.name));
  const first = scratches.find((s) => s.adapter.countQueryRows && restored.has(s.artifact.name));
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  const checks: DrillCheck[] = [];
  for (const { check, sql, artifact } of sqlChecks) {
    throwIfCancelled();
    const database = artifact === undefined ? first : scratches.find((s) => s.artifact.name === artifact && restored.has(artifact));
    if (!database) {
      checks.push({ check, ok: false, detail: artifact === undefined ? 'no database was restored to run it against' : `${artifact} did not restore as recorded` });
      continue;
    }
    try {
      const rows = await database.adapter.countQueryRows!(database.target, sql, ctx);
      checks.push({ check, ok: rows > 0, detail: rows > 0 ? `${rows} row(s) from ${database.artifact.name}` : `returned no rows from ${database.artifact.name}` });
    } catch (err) {
      throwIfCancelled();
      // A server's error text quotes the values it choked on (`invalid input syntax …: "<a
      // patient's name>"`): that is production data, so it goes to debug only, never to the
      // report, the summary or a notification.
      opts.reporter.debug(`check ${check} on ${database.artifact.name}: ${errorMessage(err)}`);
      checks.push({ check, ok: false, detail: `failed on ${database.artifact.name}; the server's message is left out because it can quote row data (STRONGBOX_DEBUG=1 prints it)` });
    }
  }
  return checks;
}

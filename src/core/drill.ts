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
import { assertRepository, describeArtifact, listBackups, warnNewerDamaged, type Selection } from './repository.js';
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
  /** Queries that must return rows, run against the first restored database. */
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
  /** The suffix of scratch database names (`strongbox_drill_<id>`); random by default. */
  scratchId?: () => string;
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
  /** The whole restore phase, seconds: what getting this backup back took. */
  rtoSeconds: number;
  /** Scratch targets left in place by --keep. */
  kept: string[];
}

/** 10 when anything differed, a check failed or the backup was too old; else 0. */
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

  const entries = await listBackups(dest, reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: { kinds } }, opts.trusted, reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, reporter);
  const m = chosen.manifest;
  assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  if (m.encryption.scheme === 'age' && !opts.decrypt) throw new UsageError(`backup ${m.id} is encrypted`, 'pass --identity-file FILE or --passphrase-env NAME');

  const checks: DrillCheck[] = [];
  if (opts.maxAgeMs !== undefined) checks.push(ageCheck(m, opts.maxAgeMs, now()));
  const artifacts: DrillArtifact[] = [];
  const scratches: Scratch[] = [];
  const unregister = onForcedExit(() => removeAll(scratches, opts));
  try {
    await prepare(m, opts, artifacts, scratches);
    if (!scratches.length) throw new UsageError(`nothing to drill: no scratch target for any artifact of ${m.id}`, `pass one of ${scratchFlags()}`);
    reporter.info(`Drilling ${m.id} (${m.startedAt}) from ${dest.display}: ${scratches.length} artifact(s) into scratch targets`);

    const began = clock();
    for (const s of scratches) artifacts.push(await restoreOne(m, s, opts, lock, clock));
    const rtoSeconds = seconds(clock() - began);

    checks.push(...(await runChecks(scratches, artifacts, opts)));
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
const scratchFlags = () => sourceAdapters.map((a) => `${scratchFlag(a)} …`).join(', ');
export const scratchFlag = (a: Pick<SourceAdapter, 'kind'>) => `--${a.kind}-scratch`;
const serverKind = (a: SourceAdapter) => !!a.createScratch;

function sortLike(m: Manifest, list: DrillArtifact[]): DrillArtifact[] {
  const order = m.artifacts.map((a) => a.name);
  return [...list].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/**
 * Every scratch target, checked before anything is restored: a given one must be empty (a
 * database) or absent (an SQLite file), else the drill refuses (exit 7) and drops nothing it
 * did not create. Artifacts with nowhere to go are skipped with a warning.
 */
async function prepare(m: Manifest, opts: DrillOptions, artifacts: DrillArtifact[], scratches: Scratch[]): Promise<void> {
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
  const id = opts.scratchId ?? (() => randomBytes(4).toString('hex'));
  for (const kind of Object.keys(opts.scratch)) {
    if (opts.scratch[kind] === undefined) continue;
    const n = m.artifacts.filter((a) => a.kind === kind).length;
    const adapter = sourceAdapter(kind);
    if (n > 1 && (!serverKind(adapter) || adapter.scratchName?.(opts.scratch[kind]!) !== undefined)) {
      throw new UsageError(`backup ${m.id} holds ${n} ${kind} artifacts but ${scratchFlag(adapter)} names one target`, serverKind(adapter) ? 'name only the server (no database): the drill then creates one scratch database per artifact' : `leave ${scratchFlag(adapter)} out: the drill then restores each into its own temporary ${adapter.targetNoun}`);
    }
  }
  for (const artifact of m.artifacts) {
    throwIfCancelled();
    const adapter = findSourceAdapter(artifact.kind);
    const given = opts.scratch[artifact.kind];
    if (!adapter || (serverKind(adapter) && given === undefined)) {
      const why = adapter ? `no ${scratchFlag(adapter)} given` : `this version cannot restore ${printable(artifact.kind)} artifacts`;
      opts.reporter.warning(`not drilling ${describeArtifact(artifact)}: ${why}`);
      artifacts.push({ name: artifact.name, kind: artifact.kind, status: 'skipped', problem: why });
      continue;
    }
    scratches.push(serverKind(adapter) ? await serverScratch(adapter, artifact, given!, id, ctx) : await pathScratch(adapter, artifact, given, opts, ctx));
  }
}

async function serverScratch(adapter: SourceAdapter, artifact: ArtifactRecord, url: string, id: () => string, ctx: ReturnType<typeof targetContext>): Promise<Scratch> {
  const named = adapter.scratchName!(url);
  const { target, created } = await adapter.createScratch!(url, named ?? `strongbox_drill_${id()}`, ctx);
  const display = adapter.displayTarget(target);
  const remove = created ? () => adapter.dropScratch!(target, ctx) : undefined;
  if (!created) {
    await adapter.checkTarget(target, ctx);
    if (!(await adapter.isTargetEmpty(target, ctx))) {
      throw new RefusedError(
        `the scratch ${adapter.targetNoun} ${display} is not empty; a drill restores only into an empty or new one, so nothing was restored or dropped`,
        `name only the server in ${scratchFlag(adapter)} (the drill then creates and drops its own database), or an empty database`,
      );
    }
  }
  return { adapter, artifact, target, display, remove };
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

async function restoreOne(m: Manifest, s: Scratch, opts: DrillOptions, lock: LockSettings, clock: () => number): Promise<DrillArtifact> {
  const { artifact, adapter } = s;
  const base = { name: artifact.name, kind: artifact.kind, target: s.display };
  const t0 = clock();
  try {
    await restore({
      destination: opts.destination,
      selection: { selector: m.id },
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

async function runChecks(scratches: Scratch[], artifacts: DrillArtifact[], opts: DrillOptions): Promise<DrillCheck[]> {
  if (!opts.checkSql.length) return [];
  const restored = new Set(artifacts.filter((a) => a.status === 'ok').map((a) => a.name));
  const database = scratches.find((s) => s.adapter.countQueryRows && restored.has(s.artifact.name));
  const ctx = targetContext({ destination: opts.destination, force: false, reporter: opts.reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs });
  const checks: DrillCheck[] = [];
  for (const sql of opts.checkSql) {
    throwIfCancelled();
    if (!database) {
      checks.push({ check: sql, ok: false, detail: 'no database was restored to run it against' });
      continue;
    }
    try {
      const rows = await database.adapter.countQueryRows!(database.target, sql, ctx);
      checks.push({ check: sql, ok: rows > 0, detail: rows > 0 ? `${rows} row(s) from ${database.artifact.name}` : `returned no rows from ${database.artifact.name}` });
    } catch (err) {
      throwIfCancelled();
      checks.push({ check: sql, ok: false, detail: errorMessage(err) });
    }
  }
  return checks;
}

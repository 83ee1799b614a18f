import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { identityToRecipient, type DecryptOptions, type EncryptOptions } from '../codecs/age/index.js';
import type { SshPrivateKey, SshPublicKey } from '../codecs/ssh-signature/index.js';
import type { Destination } from '../destinations/types.js';
import type { SourceAdapter } from '../sources/adapter.js';
import { sourceAdapters } from '../sources/index.js';
import { backup, type SourceSpec } from './backup.js';
import { RefusedError, StrongboxError, UsageError, VerificationError, errorMessage } from '../shared/errors.js';
import { withLocks, type LockSettings } from './locking.js';
import type { Reporter } from '../shared/reporter.js';
import { secondsSince } from './duration.js';
import { assertRepository, listBackups, warnNewerDamaged, type Selection } from './repository.js';
import { shellWord } from '../shared/text.js';
import { restore, restoreNeeds, targetContext, type Targets } from './restore.js';
import { checkCanDecrypt } from './artifact-reader.js';
import type { Compression, Origin } from './types.js';
import { verify } from './verify.js';
import { assertEncryptedAsDeclared, checkTrust, reportSignature, selectTrusted } from './trust.js';
import { describeRelease, releaseOf, type BackupRelease } from './release.js';
import { beginActivity, throwIfCancelled } from '../shared/cancel.js';

export const SAFETY_LABEL = 'pre-rollback';

export interface RollbackOptions {
  destination: Destination;
  /** Which snapshot to return to; must match exactly one backup. */
  selection: Omit<Selection, 'unique'>;
  /** Opens the snapshot; its recipient (or passphrase) also encrypts the safety backup. */
  decrypt: DecryptOptions;
  /** More recipients for the safety backup. */
  recipients: string[];
  /** Refuse a snapshot whose manifest is not signed by one of these keys. */
  trusted?: SshPublicKey[];
  /** Signs the safety backup. */
  signingKey?: SshPrivateKey;
  /** What to roll back, per kind of artifact (`--<kind>-target`). */
  targets: Targets;
  /** Must repeat the target's name: the database name, or the files target's folder name. */
  confirm: string;
  /** Queries that must return rows afterwards, run against the (first) database target. */
  checkSql: string[];
  /** A path, relative to the files target, that must exist after the rollback. */
  checkFile?: string;
  compression?: { algorithm: Compression; level?: number };
  origin: Origin;
  reporter: Reporter;
  lock?: LockSettings;
  /** How long the safety backup and the restore wait for a table lock (`--db-lock-timeout`). */
  dbLockTimeoutMs?: number;
  /** A folder of PostgreSQL client tools to prefer (`--pg-bin`), for the restore. */
  pgBin?: string;
  now?: () => Date;
}

export interface RollbackCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface RollbackResult {
  backupId: string;
  snapshotStartedAt: string;
  /** What to redeploy, and the run that took the snapshot: see release.ts. */
  gitSha?: string;
  gitRef?: string;
  gitShaSource: BackupRelease['gitShaSource'];
  backupRunSha?: string;
  backupRunRef?: string;
  safetyBackupId: string;
  restored: { name: string; kind: string; target: string }[];
  checks: RollbackCheck[];
  /** The command that undoes this rollback (restores the safety backup). */
  undo: string;
  /** From holding the lock to the end of the smoke checks: safety backup, its verify, restore, checks. */
  durationSeconds: number;
}

/** The targets given, in the registry's order (databases first). */
function givenTargets(targets: Targets): { adapter: SourceAdapter; target: string }[] {
  return sourceAdapters.filter((a) => targets[a.kind] !== undefined).map((a) => ({ adapter: a, target: targets[a.kind]! }));
}

export function expectedConfirmation(opts: Pick<RollbackOptions, 'targets'>): string {
  const first = givenTargets(opts.targets)[0];
  if (first) return first.adapter.confirmName(first.target);
  throw new UsageError('rollback needs a target', `pass one of ${sourceAdapters.map((a) => `${a.targetFlag} …`).join(', ')}`);
}

/**
 * Returns targets to a snapshot: picks exactly one backup, takes and deep-verifies a safety
 * backup of the targets' current state (labelled pre-rollback, encrypted so whoever rolls back
 * can undo), restores the snapshot over the targets, then runs the smoke checks. Holds the
 * destination's exclusive lock throughout, so no prune or other rollback interleaves.
 */
export async function rollback(opts: RollbackOptions): Promise<RollbackResult> {
  const { destination: dest, reporter } = opts;
  const expected = expectedConfirmation(opts);
  if (opts.confirm !== expected) {
    throw new RefusedError(
      `--confirm "${opts.confirm}" does not repeat the target name "${expected}"; nothing was changed`,
      `rerun with --confirm ${expected} to replace ${expected} with the snapshot`,
    );
  }
  const encryption = safetyEncryption(opts.decrypt, opts.recipients);
  await assertRepository(dest);

  const activity = beginActivity(`rollback of ${expected}`, 'the targets were left unchanged');
  return withLocks<RollbackResult>([dest], 'rollback', true, opts.lock, reporter, async () => {
    const held: LockSettings = { ...opts.lock, held: true };
    const started = (opts.now ?? (() => new Date()))();
    const entries = await listBackups(dest, reporter);
    const snapshot = await selectTrusted(dest, entries, { ...opts.selection, unique: true, needs: restoreNeeds(opts) }, opts.trusted, reporter);
    warnNewerDamaged(entries, snapshot, opts.selection.selector, reporter);
    const m = snapshot.manifest;
    const release = releaseOf(m.origin);
    reporter.info(`Rolling back to ${m.id} (${m.startedAt}; ${describeRelease(release)})`);
    activity.what = `rollback of ${expected} to ${m.id}`;

    // Before anything is written: the snapshot must be signed by a trusted key (when any are
    // named) and encrypted throughout, the key must open it, and the repository must not sit
    // inside the files target the restore would replace.
    reportSignature(m.id, await checkTrust(dest, snapshot, opts.trusted), !!opts.trusted?.length, reporter);
    assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
    for (const a of m.artifacts) await checkCanDecrypt(dest, m.id, a, opts.decrypt);
    const ctx = targetContext({ destination: dest, force: true, reporter, dbLockTimeoutMs: opts.dbLockTimeoutMs, pgBin: opts.pgBin });
    const given = givenTargets(opts.targets);
    for (const { adapter, target } of given) await adapter.checkTarget(target, ctx);

    const sources: SourceSpec[] = [];
    for (const { adapter, target } of given) {
      const spec = await adapter.safetySource(target);
      // Options an adapter does not use it ignores: only PostgreSQL's reads pgBin.
      if (spec) sources.push(opts.pgBin ? { ...spec, options: { ...spec.options, pgBin: opts.pgBin } } : spec);
    }
    if (!sources.length) throw new UsageError('nothing to roll back: no target holds anything yet', 'restore the snapshot instead (strongbox restore)');

    if (opts.trusted?.length && !opts.signingKey) {
      reporter.warning('the safety backup will be unsigned (no --sign-key given), so restoring it to undo this rollback must be done without --trust');
    }
    reporter.info('Taking the safety backup of the current state…');
    const safety = await backup({
      destinations: [dest],
      sources,
      encryption,
      compression: opts.compression ?? { algorithm: 'zstd' },
      labels: [SAFETY_LABEL],
      origin: opts.origin,
      reporter,
      lock: held,
      signingKey: opts.signingKey,
      dbLockTimeoutMs: opts.dbLockTimeoutMs,
      ...(opts.now ? { now: opts.now } : {}),
    });
    const check = await verify({ destination: dest, selector: safety.id, deep: true, decrypt: opts.decrypt, reporter, lock: held, ...(opts.now ? { now: opts.now } : {}) });
    if (!check.ok) {
      throw new VerificationError(
        `the safety backup ${safety.id} failed verification (${check.problems.map((p) => p.problem).join('; ')}); nothing was rolled back`,
      );
    }

    const undo = undoCommand(dest, safety.id, opts);
    activity.outcome = `the targets were left unchanged (the safety backup ${safety.id} was kept)`;
    // The restore knows what it has replaced so far; the line says that, and how to undo it.
    activity.nested = (inner) => `${inner}; the safety backup ${safety.id} was kept (to undo: ${undo})`;
    let restored;
    try {
      restored = await restore({
        destination: dest,
        selection: { selector: m.id },
        decrypt: opts.decrypt,
        trusted: opts.trusted,
        targets: opts.targets,
        force: true,
        reporter,
        lock: held,
        dbLockTimeoutMs: opts.dbLockTimeoutMs,
        pgBin: opts.pgBin,
        ...(opts.now ? { now: opts.now } : {}),
      });
    } catch (err) {
      throw new StrongboxError(`restoring ${m.id} failed: ${errorMessage(err)}`, {
        cause: err,
        exitCode: err instanceof StrongboxError ? err.exitCode : undefined,
        hint: `the targets are as they were if the restore stopped before committing; the safety backup ${safety.id} holds the state before the rollback: ${undo}`,
      });
    }

    activity.nested = undefined;
    activity.outcome = `the targets had been rolled back to ${m.id}, the smoke checks did not finish; the safety backup ${safety.id} was kept (to undo: ${undo})`;
    // A cancellation during the checks is not a failed check: it propagates as itself.
    const checks = await runChecks(opts);
    for (const c of checks) {
      const line = `  check ${c.ok ? 'ok' : 'FAILED'}: ${c.check} — ${c.detail}`;
      if (c.ok) reporter.info(line);
      else reporter.error(line);
    }
    if (checks.some((c) => !c.ok)) reporter.error(`Smoke checks failed after the rollback. To return to the state before it: ${undo}`);
    const durationSeconds = secondsSince(started, opts.now);
    reporter.info(`Rolled back to ${m.id} in ${durationSeconds.toFixed(1)} s`);
    return {
      backupId: m.id,
      snapshotStartedAt: m.startedAt,
      ...release,
      safetyBackupId: safety.id,
      restored: restored.restored,
      checks,
      undo,
      durationSeconds,
    };
  }).finally(() => activity.end());
}

function safetyEncryption(decrypt: DecryptOptions, extra: string[]): EncryptOptions {
  if (decrypt.passphrase !== undefined) {
    if (extra.length) throw new UsageError('--recipient cannot be combined with a passphrase', 'the age format does not mix passphrases with recipients');
    return { passphrase: decrypt.passphrase };
  }
  const own = (decrypt.identities ?? []).map(identityToRecipient);
  if (!own.length) throw new UsageError('rollback needs the identity or passphrase that opens the snapshot');
  return { recipients: [...new Set([...own, ...extra])] };
}

async function runChecks(opts: RollbackOptions): Promise<RollbackCheck[]> {
  const checks: RollbackCheck[] = [];
  const database = givenTargets(opts.targets).find((t) => t.adapter.countQueryRows);
  for (const sql of opts.checkSql) {
    throwIfCancelled();
    if (!database) {
      const flags = sourceAdapters.filter((a) => a.countQueryRows).map((a) => a.targetFlag);
      checks.push({ check: sql, ok: false, detail: `--check-sql needs a database target (${flags.join(', ')})` });
      continue;
    }
    try {
      const rows = await database.adapter.countQueryRows!(database.target, sql, targetContext({ destination: opts.destination, force: true, reporter: opts.reporter }));
      checks.push({ check: sql, ok: rows > 0, detail: rows > 0 ? `${rows} row(s)` : 'returned no rows' });
    } catch (err) {
      throwIfCancelled(); // the client killed by the cancellation: not the check's failure
      checks.push({ check: sql, ok: false, detail: errorMessage(err) });
    }
  }
  throwIfCancelled();
  if (opts.checkFile) {
    const filesTarget = opts.targets.files;
    const ok = !!filesTarget && existsSync(join(resolve(filesTarget), opts.checkFile));
    checks.push({ check: `file ${opts.checkFile}`, ok, detail: ok ? 'exists' : 'is missing' });
  }
  return checks;
}

function undoCommand(dest: Destination, safetyId: string, opts: RollbackOptions): string {
  const key = opts.decrypt.passphrase !== undefined ? '--passphrase-env NAME' : '--identity-file KEY';
  // As the adapters display them: a URL without its password (give it as the URL's own
  // environment variable or credentials file would), a path made absolute.
  const targets = givenTargets(opts.targets).map(({ adapter, target }) => `${adapter.targetFlag} ${shellWord(adapter.displayTarget(adapter.normalizeTarget(target)))}`);
  const from = dest.location ?? dest.display;
  return `strongbox restore --from ${shellWord(from)} --backup ${safetyId} ${key} ${targets.join(' ')} --force`;
}

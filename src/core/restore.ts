import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DecryptOptions } from '../codecs/age/index.js';
import type { SshPublicKey } from '../codecs/ssh-signature/index.js';
import type { Destination } from '../destinations/types.js';
import { restoreFiles } from '../sources/files.js';
import { checkRestoreTarget } from '../sources/files-target.js';
import { inspectTarget, refuseMountPoint } from '../sources/target-check.js';
import { printable } from '../shared/text.js';
import { isPostgresDatabaseEmpty, redactPostgresUrl, restorePostgres } from '../sources/postgres.js';
import { checkCanDecrypt, checkStored, fetchVerified, openPlaintext, type LocalCopy } from './artifact-reader.js';
import { RefusedError, UsageError, VerificationError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { assertRepository, describeArtifact, listBackups, warnNewerDamaged, type Selection } from './repository.js';
import { withLocks, type LockSettings } from './locking.js';
import { assertEncryptedAsDeclared, checkTrust, reportSignature, selectTrusted } from './trust.js';
import type { ArtifactRecord, Manifest } from './types.js';
import { beginActivity, throwIfCancelled, type Activity } from '../shared/cancel.js';

export interface RestoreOptions {
  destination: Destination;
  selection: Selection;
  decrypt?: DecryptOptions;
  /** Refuse a backup whose manifest is not signed by one of these keys. */
  trusted?: SshPublicKey[];
  postgresTarget?: string;
  filesTarget?: string;
  /** Artifact names to restore; default: every artifact that has a target. */
  only?: string[];
  force: boolean;
  reporter: Reporter;
  lock?: LockSettings;
  /** How long the restore waits for a table lock held elsewhere (`--db-lock-timeout`); default 5 min. */
  dbLockTimeoutMs?: number;
}

export interface RestoreResult {
  backupId: string;
  manifest: Manifest;
  restored: { name: string; kind: string; target: string }[];
}

interface Job {
  artifact: ArtifactRecord;
  target: string;
  display: string;
}

/**
 * Restores a backup. Everything that can be checked is checked before any target is touched:
 * that the key opens each artifact, that targets are empty or --force was given, the stored
 * SHA-256 of a PostgreSQL artifact (downloaded once to a private temp file that the restore
 * then reads), and, when several artifacts are restored together, of every one. The restore
 * itself then re-verifies while streaming, into a single transaction (PostgreSQL) or a
 * staging directory (files), so a late failure changes nothing.
 */
export async function restore(opts: RestoreOptions): Promise<RestoreResult> {
  await assertRepository(opts.destination);
  const activity = beginActivity(`restore from ${opts.destination.display}`, 'the targets were left unchanged');
  return withLocks([opts.destination], 'restore', false, opts.lock, opts.reporter, () => run(opts, activity)).finally(() => activity.end());
}

async function run(opts: RestoreOptions, activity: Activity): Promise<RestoreResult> {
  const { destination: dest, reporter } = opts;
  const entries = await listBackups(dest, reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: restoreNeeds(opts) }, opts.trusted, reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, reporter);
  const m = chosen.manifest;
  // Trust first: nothing of a planted or edited backup is read as data.
  reportSignature(m.id, await checkTrust(dest, chosen, opts.trusted), !!opts.trusted?.length, reporter);
  assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  const jobs = planJobs(m, opts);
  // A listed object that is not there is a damaged backup (exit 3, as verify says), not "not found".
  const present = new Set(chosen.objects.map((o) => o.key));
  const missing = jobs.filter((j) => !present.has(`${m.id}/${j.artifact.key}`));
  if (missing.length) {
    throw new VerificationError(
      `backup ${m.id} is damaged: ${missing.map((j) => `${printable(j.artifact.name)} (${dest.display}/${m.id}/${printable(j.artifact.key)}) is missing`).join(', ')}; nothing was written`,
      'restore another backup (strongbox list) and check the storage',
    );
  }
  await assertRepositoryOutside(dest, opts.filesTarget);
  reporter.info(`Restoring ${m.id} (${m.startedAt}) from ${dest.display}`);
  activity.what = `restore of ${m.id}`;

  for (const job of jobs) {
    if (job.artifact.kind === 'postgres' && !opts.force && !(await isPostgresDatabaseEmpty(job.target))) {
      throw new RefusedError(`database ${job.display} is not empty`, 'restoring replaces its objects: rerun with --force if that is intended');
    }
    if (job.artifact.kind === 'files') await checkRestoreTarget(job.target);
    if (job.artifact.kind === 'files' && !opts.force && !(await isEmptyOrMissing(job.target))) {
      throw new RefusedError(`directory ${job.display} is not empty`, 'rerun with --force to replace it (the old contents are moved away only after the restore succeeds)');
    }
  }
  const locals = new Map<Job, LocalCopy>();
  try {
    return await restoreJobs(opts, m, jobs, locals, activity);
  } finally {
    for (const copy of locals.values()) await copy.remove();
  }
}

async function restoreJobs(opts: RestoreOptions, m: Manifest, jobs: Job[], locals: Map<Job, LocalCopy>, activity: Activity): Promise<RestoreResult> {
  const { destination: dest, reporter } = opts;
  for (const job of jobs) {
    if (job.artifact.encryption.scheme === 'age' && !opts.decrypt) {
      throw new UsageError(`backup ${m.id} is encrypted`, 'pass --identity-file FILE or --passphrase-env NAME');
    }
    // The key first (its header only), so a wrong key fails before a long download.
    if (opts.decrypt) await checkCanDecrypt(dest, m.id, job.artifact, opts.decrypt);
    if (job.artifact.kind === 'postgres') {
      // psql runs statements as they arrive, some with effects no rollback undoes: the stored
      // bytes are proven against the (signed) manifest before pg_restore sees one, and the
      // restore reads that same local copy, so nothing can be swapped in between.
      reporter.info(`  downloading ${printable(job.artifact.name)} (${job.artifact.stored.size} bytes) and checking its SHA-256…`);
      locals.set(job, await fetchVerified(dest, m.id, job.artifact));
    } else if (jobs.length > 1) {
      // A files restore verifies while extracting into staging, swapped in only at the end.
      // With several artifacts, read it through first, so a damaged one can't leave another
      // restored and this one not.
      reporter.info(`  checking ${printable(job.artifact.name)}…`);
      await checkStored(dest, m.id, job.artifact);
    }
  }

  const restored: RestoreResult['restored'] = [];
  for (const job of jobs) {
    throwIfCancelled();
    reporter.info(`  restoring ${describeArtifact(job.artifact)} → ${job.display}`);
    const plain = await openPlaintext(dest, m.id, job.artifact, opts.decrypt, locals.get(job));
    if (job.artifact.kind === 'postgres') await restorePostgres(plain, job.target, { force: opts.force, reporter, lockTimeoutMs: opts.dbLockTimeoutMs });
    else await restoreFiles(plain, job.target, { force: opts.force, reporter });
    restored.push({ name: job.artifact.name, kind: job.artifact.kind, target: job.display });
    const left = jobs.slice(restored.length).map((j) => `${printable(j.artifact.name)} → ${j.display}`);
    activity.outcome = `${restored.map((r) => `${printable(r.name)} → ${r.target}`).join(', ')} had been restored${left.length ? `; ${left.join(', ')} ${left.length > 1 ? 'were' : 'was'} left unchanged` : ''}`;
  }
  reporter.info(`Restored ${restored.length} artifact(s) from ${m.id}`);
  return { backupId: m.id, manifest: m, restored };
}

/** What the targets and --only ask for, so `latest` picks a backup that can fill them. */
export function restoreNeeds(opts: Pick<RestoreOptions, 'postgresTarget' | 'filesTarget' | 'only'>): NonNullable<Selection['needs']> {
  const kinds: ('postgres' | 'files')[] = [];
  if (opts.postgresTarget) kinds.push('postgres');
  if (opts.filesTarget) kinds.push('files');
  return { kinds, names: opts.only ?? [] };
}

function planJobs(m: Manifest, opts: RestoreOptions): Job[] {
  const names = m.artifacts.map((a) => a.name);
  // Each with its source: files-data and files-data-2 are numbered in argument order.
  const has = `it has: ${m.artifacts.map(describeArtifact).join(', ')}`;
  for (const n of opts.only ?? []) {
    if (!names.includes(n)) throw new UsageError(`backup ${m.id} has no artifact "${printable(n)}"`, has);
  }
  const chosen = m.artifacts.filter((a) => !opts.only?.length || opts.only.includes(a.name));
  const jobs: Job[] = [];
  for (const kind of ['postgres', 'files'] as const) {
    const ofKind = chosen.filter((a) => a.kind === kind);
    const target = kind === 'postgres' ? opts.postgresTarget : opts.filesTarget;
    const flag = kind === 'postgres' ? '--postgres-target' : '--files-target';
    if (!ofKind.length) {
      if (target) throw new UsageError(`${flag} was given but the selected artifacts of ${m.id} hold no ${kind} data`, has);
      continue;
    }
    if (!target) {
      if (opts.only?.length) throw new UsageError(`restoring ${ofKind.map((a) => printable(a.name)).join(', ')} needs ${flag}`);
      opts.reporter.warning(`skipping ${ofKind.map((a) => printable(a.name)).join(', ')}: no ${flag} given`);
      continue;
    }
    if (ofKind.length > 1) {
      throw new UsageError(`backup ${m.id} holds several ${kind} artifacts (${ofKind.map(describeArtifact).join(', ')}) but one ${flag}`, 'choose one with --only NAME');
    }
    const display = printable(kind === 'postgres' ? redactPostgresUrl(target) : resolve(target));
    jobs.push({ artifact: ofKind[0]!, target: kind === 'files' ? resolve(target) : target, display });
  }
  if (!jobs.length) throw new UsageError('nothing to restore: no target given', 'pass --postgres-target URL and/or --files-target DIR');
  return jobs;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    // A file (or a link) where the directory should go counts as occupied, like a non-empty one.
    if (!(await lstat(dir)).isDirectory()) return false;
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Replacing a directory moves its old contents aside and deletes them. Refused, before
 * anything is written, when that would take the repository with it (the backups, and in a
 * rollback the safety backup just written there) or a mounted volume below the target
 * (its data would be deleted with the old contents). Decided by device and inode.
 */
export async function assertRepositoryOutside(dest: Destination, filesTarget: string | undefined): Promise<void> {
  if (!filesTarget) return;
  const target = resolve(filesTarget);
  const found = await inspectTarget(target, dest.localPath);
  if (found.repository !== undefined) {
    const where = found.repository === '' ? '' : ` (as ${printable(join(target, found.repository))}, the same directory by device and inode)`;
    throw new UsageError(
      `the files target ${printable(target)} contains the repository ${dest.display}${where}`,
      'replacing the target would delete the backups in it; restore into another directory, or keep the repository elsewhere',
    );
  }
  await refuseMountPoint(target);
  if (found.mountPoints.length) {
    const shown = found.mountPoints.slice(0, 5).map(printable).join(', ');
    const more = found.mountPoints.length > 5 ? ` and ${found.mountPoints.length - 5} more` : '';
    throw new RefusedError(
      `the files target ${printable(target)} has a file system mounted below it (${shown}${more}): replacing the target would move the mounted volume aside with the old contents and delete its data; nothing was changed`,
      'restore into a new directory instead, or unmount it and rerun; do not delete the target to make room, that would delete the data on the mounted volume',
    );
  }
}


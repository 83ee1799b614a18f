import type { DecryptOptions } from '../codecs/age/index.js';
import { objectName } from '../destinations/types.js';
import type { SshPublicKey } from '../codecs/ssh-signature/index.js';
import type { Destination } from '../destinations/types.js';
import type { ArtifactKind, BucketConnection, RestoreArtifact, SourceAdapter, TargetContext } from '../sources/adapter.js';
import type { CollectionRestoreResult, IndexMemberLike } from '../sources/collection.js';
import { openMembers, readIndex } from './collection/read.js';
import { PathSelection } from './path-select.js';
import { findSourceAdapter, sourceAdapter, sourceAdapters } from '../sources/index.js';
import { printable } from '../shared/text.js';
import { checkCanDecrypt, checkStored, fetchVerified, openPlaintext, type LocalCopy } from './artifact-reader.js';
import { RefusedError, UsageError, VerificationError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { assertRepository, describeArtifact, listBackups, warnNewerDamaged, type BackupEntry, type Selection } from './repository.js';
import { withLocks, type LockSettings } from './locking.js';
import { assertEncryptedAsDeclared, checkTrust, reportSignature, selectTrusted } from './trust.js';
import type { ArtifactRecord, Manifest } from './types.js';
import { beginActivity, throwIfCancelled, type Activity } from '../shared/cancel.js';
import { secondsSince } from './duration.js';

export interface RestoreOptions {
  destination: Destination;
  selection: Selection;
  decrypt?: DecryptOptions;
  /** Refuse a backup whose manifest is not signed by one of these keys. */
  trusted?: SshPublicKey[];
  /** Where each kind of artifact goes: `{ postgres: URL, files: DIR }` (`--<kind>-target`). */
  targets: Targets;
  /** Artifact names to restore; default: every artifact that has a target. */
  only?: string[];
  force: boolean;
  /**
   * `--path GLOB` (repeatable): restore only these entries or members (a folder name: its whole
   * subtree), written INTO the target: equal ones left alone, differing ones refused unless force.
   */
  paths?: string[];
  /** List what would be written, replaced or left alone; write nothing. */
  dryRun?: boolean;
  reporter: Reporter;
  lock?: LockSettings;
  /** How long the restore waits for a table lock held elsewhere (`--db-lock-timeout`); default 5 min. */
  dbLockTimeoutMs?: number;
  /** A folder of PostgreSQL client tools to prefer (`--pg-bin`). */
  pgBin?: string;
  /** The bucket target's connection, resolved by the edges (src/config/bucket.ts). */
  bucket?: BucketConnection;
  now?: () => Date;
  /**
   * The backup already listed and selected by the caller (a drill restores one artifact at a
   * time): restore then neither lists the repository again nor re-selects; trust is still checked.
   */
  chosen?: BackupEntry & { manifest: Manifest };
}

export interface RestoreResult {
  backupId: string;
  manifest: Manifest;
  restored: { name: string; kind: string; target: string; members?: number; written?: CollectionRestoreResult }[];
  dryRun?: boolean;
  /** From holding the lock to the last target restored: the restore's share of an RTO. */
  durationSeconds: number;
}

/** A target per kind of artifact, as `--<kind>-target` gave it. */
export type Targets = Partial<Record<ArtifactKind, string>>;

interface Job {
  artifact: ArtifactRecord;
  adapter: SourceAdapter;
  target: string;
  display: string;
  /** A collection of another kind restored as files (a bucket's objects into --files-target). */
  asFile?: (m: IndexMemberLike) => IndexMemberLike;
}

/** --path and --dry-run write into a target instead of replacing it. */
const intoMode = (opts: Pick<RestoreOptions, 'paths' | 'dryRun'>) => !!opts.paths?.length || !!opts.dryRun;

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

async function selectFrom(dest: Destination, opts: RestoreOptions): Promise<BackupEntry & { manifest: Manifest }> {
  const entries = await listBackups(dest, opts.reporter);
  const chosen = await selectTrusted(dest, entries, { ...opts.selection, needs: restoreNeeds(opts) }, opts.trusted, opts.reporter);
  warnNewerDamaged(entries, chosen, opts.selection.selector, opts.reporter);
  return chosen;
}

async function run(opts: RestoreOptions, activity: Activity): Promise<RestoreResult> {
  const { destination: dest, reporter } = opts;
  const started = (opts.now ?? (() => new Date()))();
  const chosen = opts.chosen ?? (await selectFrom(dest, opts));
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
      `backup ${m.id} is damaged: ${missing.map((j) => `${printable(j.artifact.name)} (${objectName(dest, `${m.id}/${printable(j.artifact.key)}`)}) is missing`).join(', ')}; nothing was written`,
      'restore another backup (strongbox list) and check the storage',
    );
  }
  // Every target is checked before any is touched.
  const ctx = targetContext(opts);
  for (const job of jobs) {
    if (intoMode(opts) && !canWriteInto(job)) {
      throw new UsageError(`${opts.paths?.length ? '--path' : '--dry-run'} works for file trees and buckets, not for ${printable(job.artifact.name)} (${printable(job.artifact.kind)})`, 'restore that artifact in full, or leave it out with --only');
    }
    await job.adapter.checkTarget(job.target, ctx);
    // With --path the target keeps what it has: conflicts are decided per file, later.
    if (!intoMode(opts) && !opts.force && !(await job.adapter.isTargetEmpty(job.target, ctx))) {
      throw new RefusedError(`${job.adapter.targetNoun} ${job.display} is not empty`, job.adapter.replaceHint);
    }
  }
  reporter.info(`Restoring ${m.id} (${m.startedAt}) from ${dest.display}`);
  activity.what = `restore of ${m.id}`;
  const locals = new Map<Job, LocalCopy>();
  try {
    return await restoreJobs(opts, m, jobs, locals, activity, started);
  } finally {
    for (const copy of locals.values()) await copy.remove();
  }
}

async function restoreJobs(opts: RestoreOptions, m: Manifest, jobs: Job[], locals: Map<Job, LocalCopy>, activity: Activity, started: Date): Promise<RestoreResult> {
  const { destination: dest, reporter } = opts;
  const show = (verb: string, job: Job) => ({ progress: reporter.progress, label: `${verb} ${printable(job.artifact.name)}` });
  for (const job of jobs) {
    if (job.artifact.encryption.scheme === 'age' && !opts.decrypt) {
      throw new UsageError(`backup ${m.id} is encrypted`, 'pass --identity-file FILE or --passphrase-env NAME');
    }
    // The key first (its header only), so a wrong key fails before a long download.
    if (opts.decrypt) await checkCanDecrypt(dest, m.id, job.artifact, opts.decrypt);
    if (job.adapter.verifyBeforeRestore) {
      // The engine runs statements as they arrive, some with effects no rollback undoes: the
      // stored bytes are proven against the (signed) manifest before it sees one, and the
      // restore reads that same local copy, so nothing can be swapped in between.
      reporter.info(`  downloading ${printable(job.artifact.name)} (${job.artifact.stored.size} bytes) and checking its SHA-256…`);
      locals.set(job, await fetchVerified(dest, m.id, job.artifact, show('download', job)));
    } else if (jobs.length > 1) {
      // A staged restore verifies while extracting, swapped in only at the end.
      // With several artifacts, read it through first, so a damaged one can't leave another
      // restored and this one not.
      reporter.info(`  checking ${printable(job.artifact.name)}…`);
      await checkStored(dest, m.id, job.artifact, show('check', job));
    }
  }

  const restored: RestoreResult['restored'] = [];
  for (const job of jobs) {
    throwIfCancelled();
    reporter.info(`  ${opts.dryRun ? 'checking what a restore of' : 'restoring'} ${describeArtifact(job.artifact)} ${opts.dryRun ? 'would change in' : '→'} ${job.display}`);
    const written = await restoreJob(opts, m, job, locals.get(job), show('restore', job));
    restored.push({ name: job.artifact.name, kind: job.artifact.kind, target: job.display, ...(job.artifact.collection ? { members: job.artifact.collection.members } : {}), ...(written ? { written } : {}) });
    const left = jobs.slice(restored.length).map((j) => `${printable(j.artifact.name)} → ${j.display}`);
    activity.outcome = `${restored.map((r) => `${printable(r.name)} → ${r.target}`).join(', ')} had been restored${left.length ? `; ${left.join(', ')} ${left.length > 1 ? 'were' : 'was'} left unchanged` : ''}`;
  }
  const durationSeconds = secondsSince(started, opts.now);
  if (opts.dryRun) reporter.info(`Dry run: nothing was written (${m.id})`);
  else reporter.info(`Restored ${restored.length} artifact(s) from ${m.id} in ${durationSeconds.toFixed(1)} s`);
  return { backupId: m.id, manifest: m, restored, durationSeconds, ...(opts.dryRun ? { dryRun: true } : {}) };
}

function canWriteInto(job: Job): boolean {
  return job.adapter.restoreInto !== undefined || (!!job.artifact.collection && !job.asFile && job.adapter.collection?.restoreMembers !== undefined);
}

/**
 * One artifact into its target. A collection is read member by member (openMembers: each
 * member's SHA-256 checked as it streams): a tree target gets it as the adapter's plaintext
 * (files: a tar stream), a bucket its members. With --path the selection is checked against
 * the index (or, for a plain tar, against the archive) before the target is compared or written.
 */
async function restoreJob(opts: RestoreOptions, m: Manifest, job: Job, local: LocalCopy | undefined, show: { progress: Reporter['progress']; label: string }): Promise<CollectionRestoreResult | undefined> {
  const { destination: dest } = opts;
  const a = job.artifact;
  const ctx = targetContext(opts);
  const restoreArtifact: RestoreArtifact = a;
  const paths = opts.paths?.length ? new PathSelection(opts.paths) : undefined;
  const what = `${printable(a.name)} of backup ${m.id}`;
  if (a.collection) {
    if (paths) {
      // The index alone says what matches: a pattern matching nothing fails before a pack is read.
      const { members } = await readIndex(dest, m.id, a, opts.decrypt);
      for await (const member of members) paths.select(member.name);
      paths.assertAllMatched(what);
    }
    const select = paths ? { select: paths.select } : {};
    const own = !job.asFile && job.adapter.collection?.restoreMembers;
    // Re-iterable (each pass reads the index again): a bucket target checks every key before it writes one.
    if (own) return job.adapter.collection!.restoreMembers!({ [Symbol.asyncIterator]: () => openMembers(dest, m.id, a, opts.decrypt, select) }, job.target, restoreArtifact, { ...ctx, dryRun: !!opts.dryRun });
    const members = openMembers(dest, m.id, a, opts.decrypt, { ...select, root: true });
    if (!job.adapter.fromMembers) throw new UsageError(`${printable(a.name)} is a collection, and ${job.adapter.targetFlag} cannot take one`);
    const plain = job.adapter.fromMembers(members, job.asFile);
    return runAdapter(opts, job, plain, restoreArtifact, ctx, paths, what);
  }
  const plain = await openPlaintext(dest, m.id, a, opts.decrypt, local, show);
  // A second pass, when the selection needs it, reads and verifies the artifact again.
  const reopen = () => openPlaintext(dest, m.id, a, opts.decrypt, local, { ...show, label: `${show.label} (again)` });
  return runAdapter(opts, job, plain, restoreArtifact, ctx, paths, what, reopen);
}

async function runAdapter(
  opts: RestoreOptions,
  job: Job,
  plain: import('node:stream').Readable,
  artifact: RestoreArtifact,
  ctx: TargetContext,
  paths: PathSelection | undefined,
  what: string,
  reopen?: () => Promise<import('node:stream').Readable>,
): Promise<CollectionRestoreResult | undefined> {
  try {
    if (intoMode(opts)) {
      return await job.adapter.restoreInto!(plain, job.target, artifact, {
        ...ctx,
        dryRun: !!opts.dryRun,
        ...(paths ? { select: paths.select, beforeWrite: () => paths.assertAllMatched(what) } : {}),
        ...(reopen ? { reopen } : {}),
      });
    }
    await job.adapter.restore(plain, job.target, artifact, ctx);
    return undefined;
  } catch (err) {
    // An adapter that fails before reading its input (a refused login) must not leave the
    // decryptor and zstd child waiting to write: the process would never exit.
    plain.destroy();
    throw err;
  }
}

export function targetContext(opts: Pick<RestoreOptions, 'destination' | 'force' | 'reporter' | 'dbLockTimeoutMs' | 'pgBin' | 'bucket'>): TargetContext {
  return {
    reporter: opts.reporter,
    force: opts.force,
    lockTimeoutMs: opts.dbLockTimeoutMs,
    ...(opts.pgBin ? { pgBin: opts.pgBin } : {}),
    ...(opts.bucket ? { bucket: opts.bucket } : {}),
    repository: { localPath: opts.destination.localPath, display: opts.destination.display },
  };
}

/**
 * What the targets and --only ask for, so `latest` picks a backup that can fill them. Named
 * artifacts (--only) decide alone for --files-target: it may take another kind's collection
 * (a bucket's objects as files), which planJobs then checks.
 */
export function restoreNeeds(opts: Pick<RestoreOptions, 'targets' | 'only'>): NonNullable<Selection['needs']> {
  const names = opts.only ?? [];
  const kinds = givenKinds(opts.targets).filter((k) => !(k === 'files' && names.length));
  return { kinds, names };
}

function givenKinds(targets: Targets): ArtifactKind[] {
  return Object.keys(targets).filter((k) => targets[k] !== undefined);
}

const targetFlags = () => sourceAdapters.map((a) => `${a.targetFlag} …`).join(', ');

function planJobs(m: Manifest, opts: RestoreOptions): Job[] {
  const names = m.artifacts.map((a) => a.name);
  // Each with its source: files-data and files-data-2 are numbered in argument order.
  const has = `it has: ${m.artifacts.map(describeArtifact).join(', ')}`;
  for (const n of opts.only ?? []) {
    if (!names.includes(n)) throw new UsageError(`backup ${m.id} has no artifact "${printable(n)}"`, has);
  }
  for (const kind of givenKinds(opts.targets)) sourceAdapter(kind); // a target of a kind nobody knows: a bug at the edge
  const chosen = m.artifacts.filter((a) => !opts.only?.length || opts.only.includes(a.name));
  // An artifact of a kind this version does not know is refused only when it was asked for.
  for (const a of chosen) if (!findSourceAdapter(a.kind) && opts.only?.includes(a.name)) sourceAdapter(a.kind);
  const jobs: Job[] = [];
  // A collection of another kind (a bucket) with no target of its own but --files-target: its members as files.
  const files = findSourceAdapter('files');
  const asFiles =
    files && opts.targets.files !== undefined && !chosen.some((a) => a.kind === 'files')
      ? sourceAdapters.filter((ad) => ad.kind !== 'files' && ad.collection?.asFile && opts.targets[ad.kind] === undefined && chosen.some((a) => a.kind === ad.kind && a.collection))
      : [];
  for (const adapter of sourceAdapters) {
    const { kind, targetFlag: flag } = adapter;
    const ofKind = chosen.filter((a) => a.kind === kind);
    const target = opts.targets[kind];
    if (asFiles.includes(adapter)) {
      if (ofKind.length > 1) throw new UsageError(`backup ${m.id} holds several ${kind} artifacts (${ofKind.map(describeArtifact).join(', ')}) but one --files-target`, 'choose one with --only NAME');
      const t = opts.targets.files!;
      jobs.push({ artifact: ofKind[0]!, adapter: files!, target: files!.normalizeTarget(t), display: files!.displayTarget(t), asFile: adapter.collection!.asFile!.bind(adapter.collection) });
      continue;
    }
    if (kind === 'files' && !ofKind.length && asFiles.length) continue;
    if (!ofKind.length) {
      if (target !== undefined) throw new UsageError(`${flag} was given but the selected artifacts of ${m.id} hold no ${kind} data`, has);
      continue;
    }
    if (target === undefined) {
      if (opts.only?.length) throw new UsageError(`restoring ${ofKind.map((a) => printable(a.name)).join(', ')} needs ${flag}`);
      opts.reporter.warning(`skipping ${ofKind.map((a) => printable(a.name)).join(', ')}: no ${flag} given`);
      continue;
    }
    if (ofKind.length > 1) {
      throw new UsageError(`backup ${m.id} holds several ${kind} artifacts (${ofKind.map(describeArtifact).join(', ')}) but one ${flag}`, 'choose one with --only NAME');
    }
    jobs.push({ artifact: ofKind[0]!, adapter, target: adapter.normalizeTarget(target), display: adapter.displayTarget(target) });
  }
  if (!jobs.length) throw new UsageError('nothing to restore: no target given', `pass one of ${targetFlags()}`);
  return jobs;
}

import type { DecryptOptions } from '../codecs/age/index.js';
import { objectName } from '../destinations/types.js';
import type { Destination } from '../destinations/types.js';
import { checkStored, openPlaintext, storedLocation } from './artifact-reader.js';
import { checkMembers } from './collection/read.js';
import type { SshPublicKey } from '../codecs/ssh-signature/index.js';
import { ExitCode, NotFoundError, StrongboxError, VerificationError, errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { secondsSince } from './duration.js';
import { assertRepository, damagedError, listBackups, objectKey } from './repository.js';
import { withLocks, type LockSettings } from './locking.js';
import { assertEncryptedAsDeclared, checkTrust, describeSignature, readSignatureStatus, selectTrusted, type SignatureStatus } from './trust.js';
import { MANIFEST_NAME } from './types.js';
import { beginActivity, throwIfCancelled, type Activity } from '../shared/cancel.js';
import { printable } from '../shared/text.js';
import { checkCollectionStorage, listPacks } from './collection/verify-storage.js';

export interface VerifyOptions {
  destination: Destination;
  selector: string;
  /** Also decrypt and decompress, checking the plaintext SHA-256 (needs the key). A key implies it. */
  deep: boolean;
  decrypt?: DecryptOptions;
  /** Require the manifest to be signed by one of these keys. */
  trusted?: SshPublicKey[];
  /** Fail when the chosen backup finished longer ago than this. */
  maxAgeMs?: number;
  reporter: Reporter;
  now?: () => Date;
  lock?: LockSettings;
}

export interface VerifyProblem {
  artifact?: string;
  object?: string;
  problem: string;
  /** The exit code this problem calls for: 5 for a wrong key, else 3. */
  exitCode: number;
}

export interface VerifyResult {
  ok: boolean;
  backupId: string;
  finishedAt: string;
  ageSeconds: number;
  deep: boolean;
  artifacts: {
    name: string;
    kind: string;
    object: string;
    storedOk: boolean;
    plaintextOk?: boolean;
    /** A collection: the packs its refs name, and how many are present with their size and SHA-256. */
    packs?: { total: number; ok: number };
    /** Collections, deep: members whose content was read back and matched its SHA-256. */
    membersChecked?: number;
  }[];
  problems: VerifyProblem[];
  signature: SignatureStatus;
  /** 0, 3 (a problem found), or 5 (the key opens no artifact's header). */
  exitCode: number;
  /** From holding the lock to the last artifact checked. */
  durationSeconds: number;
}

/**
 * Checks one backup and reports every problem found, by object, instead of stopping at the
 * first: freshness, presence, stored size and SHA-256, and with `deep` the decrypted plaintext.
 */
export async function verify(opts: VerifyOptions): Promise<VerifyResult> {
  await assertRepository(opts.destination);
  return withLocks([opts.destination], 'verify', false, opts.lock, opts.reporter, () => {
    const activity = beginActivity(`verify of ${opts.selector} at ${opts.destination.display}`, 'nothing was changed');
    return run(opts, activity).finally(() => activity.end());
  });
}

async function run(opts: VerifyOptions, activity: Activity): Promise<VerifyResult> {
  const { destination: dest, reporter } = opts;
  const now = (opts.now ?? (() => new Date()))();
  const progressOf = (a: { name: string }) => ({ progress: reporter.progress, label: `verify ${printable(a.name)}` });
  const entries = await listBackups(dest, reporter);
  const damaged = entries.filter((e) => e.damaged);
  const named = damaged.find((e) => e.id === opts.selector);
  if (named || (!entries.some((e) => e.complete) && damaged.length)) {
    // A backup whose manifest is there but unreadable is a damaged backup, not a missing one.
    throw damagedError(named ? [named] : damaged.reverse(), { where: dest.display, otherwise: named ? 'choose another backup (strongbox list shows them all)' : undefined });
  }
  if (!entries.some((e) => e.complete)) {
    throw new NotFoundError(`no complete backup at ${dest.display}`, 'run a backup first, or check the destination');
  }
  const chosen = await selectTrusted(dest, entries, { selector: opts.selector }, opts.trusted, reporter);
  const m = chosen.manifest;
  activity.what = `verify of ${m.id} at ${dest.display}`;
  const manifestAt = `${objectName(dest, objectKey(m.id, MANIFEST_NAME))}`;
  const problems: VerifyProblem[] = [];
  // Each problem is printed once, when found; the edges end with a one-line summary.
  // Those found before the "Verifying …" header are printed right after it, so they follow the backup's name.
  let headerShown = false;
  const show = (p: Omit<VerifyProblem, 'exitCode'>) => reporter.error(`FAILED ${p.artifact ? `${p.artifact} ` : ''}${p.object ? `(${p.object})` : `backup ${m.id}`}: ${p.problem}`);
  const problem = (p: Omit<VerifyProblem, 'exitCode'>, exitCode: number = ExitCode.verifyFailed) => {
    problems.push({ ...p, exitCode });
    if (headerShown) show(p);
  };
  const ageSeconds = (now.getTime() - Date.parse(m.finishedAt)) / 1000;
  if (opts.maxAgeMs !== undefined && ageSeconds * 1000 > opts.maxAgeMs) {
    problem({ problem: `backup ${m.id} finished ${formatAge(ageSeconds)} ago, older than the allowed ${formatAge(opts.maxAgeMs / 1000)}` });
  }
  if (opts.selector === 'latest') {
    // A newer backup whose manifest can't be read must not let an older one pass as "latest".
    for (const e of entries) {
      if (e.damaged && e.time > chosen.time) problem({ object: objectName(dest, `${e.id}/manifest.json`), problem: `newer backup ${e.id} is unreadable: ${e.damaged} (${e.damagedHint})` });
    }
  }
  const deep = opts.deep || opts.decrypt !== undefined;
  if (deep && !opts.deep) reporter.info('A key was given, so this is a deep verification: every artifact is decrypted and its plaintext checked');
  const manifestProblems: string[] = [];
  let signature: SignatureStatus = { signed: false };
  try {
    signature = await checkTrust(dest, chosen, opts.trusted);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    manifestProblems.push(err.message);
    // Say whose signature it carries (an untrusted key is not "unsigned").
    const found = await readSignatureStatus(dest, chosen);
    signature = found.signed && !found.unreadable && found.valid !== false ? { ...found, trusted: false } : found;
  }
  let encryptionOk = true;
  try {
    assertEncryptedAsDeclared(m, dest.display, opts.decrypt);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    encryptionOk = false;
    manifestProblems.push(err.message);
  }
  for (const p of manifestProblems) problem({ object: manifestAt, problem: p });
  reporter.info(`Verifying ${m.id} at ${dest.display}${deep ? ' (deep: decrypting)' : ''}; ${describeSignature(signature, !!opts.trusted?.length)}`);
  headerShown = true;
  for (const p of problems) show(p);
  const artifacts: VerifyResult['artifacts'] = [];
  const present = new Map(chosen.objects.map((o) => [o.key, o.size]));
  let packSizes: Map<string, number> | undefined;
  const collectionRows = new Map<string, { total: number; ok: number }>();
  for (const a of m.artifacts) {
    if (a.collection) {
      // Key-less, so it runs whether or not the index below can be decrypted.
      packSizes ??= await listPacks(dest);
      const c = await checkCollectionStorage(dest, m.id, a, { packs: packSizes, readBack: true, progress: reporter.progress, label: `verify ${printable(a.name)}` });
      for (const p of c.problems) problem({ artifact: a.name, ...p });
      if (!c.problems.length) reporter.info(`  ok ${printable(a.name)}: refs and ${c.packs} pack(s) (present, sizes and SHA-256 as recorded)`);
      collectionRows.set(a.name, { total: c.packs, ok: c.packsOk });
    }
    const where = storedLocation(dest, m.id, a);
    const packs = collectionRows.get(a.name);
    const row: VerifyResult['artifacts'][number] = { name: a.name, kind: a.kind, object: where, storedOk: false, ...(packs ? { packs } : {}) };
    artifacts.push(row);
    const size = present.get(objectKey(m.id, a.key));
    if (size === undefined) {
      problem({ artifact: a.name, object: where, problem: 'object is missing' });
      continue;
    }
    if (size !== a.stored.size) {
      problem({ artifact: a.name, object: where, problem: `object holds ${size} bytes, the manifest says ${a.stored.size}` });
      continue;
    }
    try {
      // A manifest that contradicts its own encryption is not read as plaintext.
      if (deep && encryptionOk && (opts.decrypt !== undefined || a.encryption.scheme === 'none')) {
        // One read checks all three: stored SHA-256, age authentication, plaintext SHA-256.
        const plain = await openPlaintext(dest, m.id, a, opts.decrypt, undefined, progressOf(a));
        for await (const _ of plain) {
          // discard
        }
        // A collection's index is only its list: every member is read back from its pack too.
        if (a.collection) row.membersChecked = (await checkMembers(dest, m.id, a, opts.decrypt)).members;
        row.storedOk = row.plaintextOk = true;
      } else {
        await checkStored(dest, m.id, a, progressOf(a));
        row.storedOk = true;
      }
      reporter.info(`  ok ${printable(a.name)} [${printable(a.kind)}] (${where})${row.membersChecked !== undefined ? `: ${row.membersChecked} members read back and checked` : ''}`);
    } catch (err) {
      throwIfCancelled(); // a cancelled read is not a problem of the backup
      problem({ artifact: a.name, object: where, problem: errorMessage(err) }, err instanceof StrongboxError ? exitFor(err) : ExitCode.verifyFailed);
    }
  }
  const exitCode = problems.some((p) => p.exitCode === ExitCode.wrongKey) ? ExitCode.wrongKey : problems.length ? ExitCode.verifyFailed : ExitCode.ok;
  const durationSeconds = secondsSince(now, opts.now);
  return { ok: problems.length === 0, backupId: m.id, finishedAt: m.finishedAt, ageSeconds, deep, artifacts, problems, signature, exitCode, durationSeconds };
}

function exitFor(err: StrongboxError): number {
  return err.exitCode === ExitCode.wrongKey ? ExitCode.wrongKey : ExitCode.verifyFailed;
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}

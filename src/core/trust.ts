import type { DecryptOptions } from '../codecs/age/index.js';
import { objectName } from '../destinations/types.js';
import { fingerprint, parseSignature, verifySignature, type SshPublicKey } from '../codecs/ssh-signature/index.js';
import type { Destination } from '../destinations/types.js';
import { printable } from '../shared/text.js';
import { isBackupId } from './backup-id.js';
import { NotFoundError, VerificationError, errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { objectKey, selectBackup, type BackupEntry, type Selection } from './repository.js';
import { SIGNATURE_NAME, SIGNATURE_NAMESPACE, type Manifest } from './types.js';

/**
 * What a reader checks about a backup before it writes anything: that it is signed by a key
 * the user trusts (when they named some), and that no artifact escapes the encryption the
 * backup declares. An attacker with write access to the storage can plant any bytes, and a
 * manifest is only as trustworthy as its signature.
 */

/**
 * An edited manifest could mark one artifact `none` so a planted plain tar is restored.
 * Strongbox never writes a mixed backup, and a key given for an unencrypted one means the
 * user expected encryption: both are refused, naming the backup and artifact.
 */
export function assertEncryptedAsDeclared(m: Manifest, where: string, decrypt: DecryptOptions | undefined): void {
  if (m.encryption.scheme === 'none') {
    if (!decrypt) return;
    throw new VerificationError(
      `backup ${m.id} at ${where} is not encrypted, but a key was given`,
      'a backup made with --unencrypted needs no key: rerun without --identity-file/--passphrase-env if you made it so; otherwise its manifest was edited: do not restore it',
    );
  }
  for (const a of m.artifacts) {
    if (a.encryption.scheme !== 'age') {
      throw new VerificationError(
        `artifact ${printable(a.name)} of backup ${m.id} at ${where} is marked unencrypted (encryption ${printable(String(a.encryption.scheme))}), but the backup is encrypted`,
        'Strongbox never writes such a backup: its manifest was edited. Do not restore it; choose another backup (strongbox list) and check who can write to the storage',
      );
    }
  }
}

export interface SignatureStatus {
  signed: boolean;
  /** `SHA256:…` of the key the signature names (checked against trusted keys or not). */
  signer?: string;
  /** False when the signature does not verify over the manifest's bytes with the key it names. */
  valid?: boolean;
  /** Why the signature could not be read. */
  unreadable?: string;
  /** False when trusted keys were named and the signer is none of them. */
  trusted?: boolean;
}

/** Reads the signature object, if any, and checks it over the manifest's bytes with the key it names (which says nothing about trust). */
export async function readSignatureStatus(dest: Destination, e: BackupEntry): Promise<SignatureStatus> {
  const key = objectKey(e.id, SIGNATURE_NAME);
  if (!e.objects.some((o) => o.key === key)) return { signed: false };
  try {
    // A signature that cannot be fetched or parsed is reported, never fatal to a listing.
    const bytes = await dest.getBytes(key);
    if (!bytes) return { signed: false };
    const sig = parseSignature(Buffer.from(bytes).toString('utf8'));
    const valid = !!e.manifestBytes && verifySignature(sig, SIGNATURE_NAMESPACE, e.manifestBytes);
    return { signed: true, signer: fingerprint(sig.publicKey), valid };
  } catch (err) {
    return { signed: true, valid: false, unreadable: errorMessage(err) };
  }
}

/** For `list --json`: a signer is named only when its signature verified over the manifest. */
export function signatureJson(s: SignatureStatus | undefined): { signature: 'valid' | 'invalid' | 'unsigned'; signedBy: string | null } {
  if (!s?.signed) return { signature: 'unsigned', signedBy: null };
  if (s.valid === false || s.unreadable) return { signature: 'invalid', signedBy: null };
  return { signature: 'valid', signedBy: s.signer ?? null };
}

export function describeSignature(s: SignatureStatus, checked: boolean): string {
  if (!s.signed) return 'unsigned';
  if (s.unreadable) return `carries an unreadable signature (${s.unreadable})`;
  if (s.valid === false) return `carries an invalid signature (naming ${s.signer}, it does not match the manifest)`;
  if (s.trusted === false) return `signed by ${s.signer}, which is not a trusted key`;
  return `signed by ${s.signer}${checked ? ', trusted' : ', not checked'}`;
}

/** Why a backup is not signed by a trusted key (undefined: it is), read without throwing. */
async function trustProblem(
  dest: Destination,
  e: BackupEntry,
  trusted: SshPublicKey[],
): Promise<{ problem: string; signer?: undefined } | { problem?: undefined; signer: string }> {
  const where = `${objectName(dest, objectKey(e.id, SIGNATURE_NAME))}`;
  const bytes = e.objects.some((o) => o.key === objectKey(e.id, SIGNATURE_NAME)) ? await dest.getBytes(objectKey(e.id, SIGNATURE_NAME)) : undefined;
  if (!bytes) return { problem: `is not signed (no ${SIGNATURE_NAME}), but trusted keys were named (--trust, trusted-keys)` };
  let sig;
  try {
    sig = parseSignature(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    return { problem: `has an unreadable signature ${where}: ${errorMessage(err)}` };
  }
  const signer = fingerprint(sig.publicKey);
  if (!trusted.some((k) => k.raw.equals(sig.publicKey))) {
    return { problem: `is signed by ${signer}, which is not a trusted key (trusted: ${trusted.map((k) => fingerprint(k.raw)).join(', ')})` };
  }
  if (!e.manifestBytes || !verifySignature(sig, SIGNATURE_NAMESPACE, e.manifestBytes)) {
    return { problem: `has a signature by ${signer} that does not match its manifest (namespace ${printable(sig.namespace)})` };
  }
  return { signer };
}

const PLANTED = 'someone with write access to the storage may have planted or edited it: do not restore it; choose a backup signed by a trusted key (strongbox list shows signers)';

/**
 * With trusted keys: refuses, before anything is written, a backup whose manifest is unsigned,
 * badly signed or signed by another key. Without: returns whose signature it carries, unchecked.
 * The signature covers the manifest's bytes exactly as stored — the ones that were parsed.
 */
export async function checkTrust(
  dest: Destination,
  e: BackupEntry & { manifest: Manifest },
  trusted: SshPublicKey[] | undefined,
): Promise<SignatureStatus> {
  if (!trusted?.length) return readSignatureStatus(dest, e);
  const v = await trustProblem(dest, e, trusted);
  if (v.problem !== undefined) throw new VerificationError(`backup ${e.id} at ${dest.display} ${v.problem}; nothing was written`, PLANTED);
  return { signed: true, signer: v.signer, valid: true };
}

/**
 * selectBackup, but with trusted keys `latest` and `label:NAME` choose among backups signed by
 * one of them only, so a planted backup can neither hide the newest trusted one nor make a
 * label ambiguous. An explicit id keeps its meaning (the caller's checkTrust refuses it).
 * Without trusted keys nothing changes.
 */
export async function selectTrusted(
  dest: Destination,
  entries: BackupEntry[],
  sel: Selection,
  trusted: SshPublicKey[] | undefined,
  reporter: Reporter,
): Promise<BackupEntry & { manifest: Manifest }> {
  if (!trusted?.length || isBackupId(sel.selector)) return selectBackup(entries, sel);
  const problems = new Map<string, string>();
  const complete = entries.filter((e) => e.complete && e.manifest);
  // Signatures are small; a few at a time keeps a large S3 repository quick without a burst.
  for (let i = 0; i < complete.length; i += 8) {
    await Promise.all(
      complete.slice(i, i + 8).map(async (e) => {
        const v = await trustProblem(dest, e, trusted).catch((err: unknown) => ({ problem: `has a signature that could not be read: ${errorMessage(err)}` }));
        if (v.problem !== undefined) problems.set(e.id, v.problem);
      }),
    );
  }
  const untrusted = complete.filter((e) => problems.has(e.id));
  const matching = (e: BackupEntry) => {
    try {
      selectBackup([e], { ...sel, unique: false });
      return true;
    } catch {
      return false;
    }
  };
  const describe = (e: BackupEntry) => `backup ${e.id} at ${dest.display} ${problems.get(e.id)}`;
  let chosen: BackupEntry & { manifest: Manifest };
  try {
    chosen = selectBackup(entries.filter((e) => !problems.has(e.id)), sel);
  } catch (err) {
    const refused = untrusted.filter(matching).reverse();
    if (!(err instanceof NotFoundError) || !refused.length) throw err;
    throw new VerificationError(
      `${refused.slice(0, 5).map(describe).join('; ')}${refused.length > 5 ? `; and ${refused.length - 5} more` : ''}; no backup signed by a trusted key matches ${sel.selector}${sel.before ? ` before ${sel.before}` : ''}; nothing was written`,
      PLANTED,
    );
  }
  const skipped = untrusted.filter((e) => e.time > chosen.time && matching(e)).reverse();
  if (skipped.length) {
    const shown = skipped.slice(0, 5).map((e) => `${e.id} (${problems.get(e.id)!.replace(/ \(.*$/, '')})`);
    reporter.info(`Skipped ${skipped.length} newer backup(s) not signed by a trusted key: ${shown.join(', ')}${skipped.length > 5 ? ', …' : ''}`);
  }
  return chosen;
}

/** One line for restore and rollback logs: whose signature the backup carries, and whether it was checked. */
export function reportSignature(id: string, s: SignatureStatus, checked: boolean, reporter: Reporter): void {
  if (checked) reporter.info(`Backup ${id} is signed by trusted key ${s.signer}`);
  else if (s.signed) reporter.info(`Backup ${id} is ${describeSignature(s, false)} (trusted keys, --trust FILE.pub, would require it)`);
}

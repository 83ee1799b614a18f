import type { DecryptOptions } from '../codecs/age/index.js';
import { fingerprint, parseSignature, verifySignature, type SshPublicKey } from '../codecs/ssh-signature/index.js';
import type { Destination } from '../destinations/types.js';
import { printable } from '../shared/text.js';
import { VerificationError, errorMessage } from './errors.js';
import type { Reporter } from './reporter.js';
import { objectKey, type BackupEntry } from './repository.js';
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
  /** `SHA256:…` of the key the signature names (checked or not). */
  signer?: string;
  /** Why the signature could not be read. */
  unreadable?: string;
}

/** Reads the signature object, if any, without judging it. */
export async function readSignatureStatus(dest: Destination, e: BackupEntry): Promise<SignatureStatus> {
  const key = objectKey(e.id, SIGNATURE_NAME);
  if (!e.objects.some((o) => o.key === key)) return { signed: false };
  try {
    // A signature that cannot be fetched or parsed is reported, never fatal to a listing.
    const bytes = await dest.getBytes(key);
    if (!bytes) return { signed: false };
    return { signed: true, signer: fingerprint(parseSignature(Buffer.from(bytes).toString('utf8')).publicKey) };
  } catch (err) {
    return { signed: true, unreadable: errorMessage(err) };
  }
}

export function describeSignature(s: SignatureStatus, checked: boolean): string {
  if (!s.signed) return 'unsigned';
  if (s.unreadable) return `carries an unreadable signature (${s.unreadable})`;
  return `signed by ${s.signer}${checked ? ', trusted' : ', not checked'}`;
}

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
  const where = `${dest.display}/${objectKey(e.id, SIGNATURE_NAME)}`;
  if (!trusted?.length) return readSignatureStatus(dest, e);
  const refuse = (problem: string, hint: string) => new VerificationError(`backup ${e.id} at ${dest.display} ${problem}; nothing was written`, hint);
  const planted = 'someone with write access to the storage may have planted or edited it: do not restore it; choose a backup signed by a trusted key (strongbox list shows signers)';
  const bytes = e.objects.some((o) => o.key === objectKey(e.id, SIGNATURE_NAME)) ? await dest.getBytes(objectKey(e.id, SIGNATURE_NAME)) : undefined;
  if (!bytes) throw refuse(`is not signed (no ${SIGNATURE_NAME}), but trusted keys were named (--trust, trusted-keys)`, planted);
  let sig;
  try {
    sig = parseSignature(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw refuse(`has an unreadable signature ${where}: ${errorMessage(err)}`, planted);
  }
  const signer = fingerprint(sig.publicKey);
  if (!trusted.some((k) => k.raw.equals(sig.publicKey))) {
    throw refuse(`is signed by ${signer}, which is not a trusted key (trusted: ${trusted.map((k) => fingerprint(k.raw)).join(', ')})`, planted);
  }
  if (!e.manifestBytes || !verifySignature(sig, SIGNATURE_NAMESPACE, e.manifestBytes)) {
    throw refuse(`has a signature by ${signer} that does not match its manifest (namespace ${printable(sig.namespace)})`, planted);
  }
  return { signed: true, signer };
}

/** One line for restore and rollback logs: whose signature the backup carries, and whether it was checked. */
export function reportSignature(id: string, s: SignatureStatus, checked: boolean, reporter: Reporter): void {
  if (checked) reporter.info(`Backup ${id} is signed by trusted key ${s.signer}`);
  else if (s.signed) reporter.info(`Backup ${id} is ${describeSignature(s, false)} (trusted keys, --trust FILE.pub, would require it)`);
}

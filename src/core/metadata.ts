import { UsageError } from '../shared/errors.js';

/**
 * Free-form facts a team records with each backup (`metadata:` in strongbox.yml, `--meta
 * key=value`): an application name, an environment, a release. Bounded, so a manifest stays
 * small and a list of backups stays fast to read.
 */
export const METADATA_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_METADATA_ENTRIES = 50;
export const MAX_METADATA_VALUE_BYTES = 1024;

/** The problems of a metadata map, in words (empty when it is fine). */
export function metadataProblems(m: unknown): string[] {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return ['metadata is not a map of names to text'];
  const entries = Object.entries(m);
  const p: string[] = [];
  if (entries.length > MAX_METADATA_ENTRIES) p.push(`metadata has ${entries.length} entries; at most ${MAX_METADATA_ENTRIES} are allowed`);
  for (const [k, v] of entries) {
    if (!METADATA_KEY.test(k)) p.push(`metadata key ${JSON.stringify(k.slice(0, 80))} is not allowed (letters, digits, ".", "_" and "-", up to 64)`);
    if (typeof v !== 'string') p.push(`metadata ${JSON.stringify(k.slice(0, 80))} is not text`);
    // The manifest is readable by anyone who can read the storage, without the key.
    else if (looksSecret(v)) p.push(`metadata ${JSON.stringify(k.slice(0, 80))} looks like it holds a secret (a URL with a password, a private key); the value is not shown, and metadata is stored unencrypted`);
    else if (Buffer.byteLength(v) > MAX_METADATA_VALUE_BYTES) p.push(`metadata ${JSON.stringify(k.slice(0, 80))} is ${Buffer.byteLength(v)} bytes long; at most ${MAX_METADATA_VALUE_BYTES} are allowed`);
  }
  return p;
}

/** A URL with user:password@, an age identity, a PEM/OpenSSH private key. */
export function looksSecret(v: string): boolean {
  return /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i.test(v) || /AGE-SECRET-KEY-/i.test(v) || /-----BEGIN /.test(v);
}

export function validateMetadata(m: Record<string, string>): void {
  const p = metadataProblems(m);
  if (p.length) throw new UsageError(p.join('; '), 'metadata keys are letters, digits, ".", "_" and "-" (up to 64); values are text of at most 1 KB; at most 50 entries');
}

import { createHash, createHmac, scryptSync, type Hmac } from 'node:crypto';
import type { EncryptOptions } from '../../codecs/age/index.js';

/**
 * The content key: blob ids are HMAC-SHA256(key, content), so someone who reads the storage
 * cannot confirm that a file they know is there. Where it comes from (first that applies):
 *   - a secret given with --content-key-env NAME / input content-key: SHA-256("strongbox content key v1\0" + value);
 *   - a passphrase: scrypt(passphrase, salt "strongbox content key v1");
 *   - age recipients: SHA-256("strongbox content key v1 recipients\0" + sorted recipients joined by "\n"),
 *     which protects only while the recipients' public keys are unknown to whoever reads the storage;
 *   - unencrypted: a fixed key (the content is readable anyway).
 * The same source of the key must be used by every backup that should share content.
 */

const PREFIX = 'strongbox content key v1';

export interface ContentKey {
  /** 32 bytes; never printed. */
  key: Buffer;
  /** First 16 hex digits of SHA-256("id\0" + key): recorded in refs, state and manifest. */
  id: string;
  /** Where it came from, for debug lines and the README. */
  source: 'secret' | 'passphrase' | 'recipients' | 'fixed';
}

function sha256(...parts: (string | Buffer)[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function contentKeyId(key: Buffer): string {
  return sha256('id\0', key).toString('hex').slice(0, 16);
}

function make(key: Buffer, source: ContentKey['source']): ContentKey {
  return { key, id: contentKeyId(key), source };
}

/** The content key of a backup: `secret` when given, else derived from how it is encrypted. */
export function contentKeyFor(opts: { secret?: string; encryption?: EncryptOptions }): ContentKey {
  if (opts.secret !== undefined && opts.secret !== '') return make(sha256(`${PREFIX}\0`, opts.secret), 'secret');
  const enc = opts.encryption;
  if (enc?.passphrase !== undefined) {
    // scrypt N=2^15, r=8: ~32 MiB and a fraction of a second, once per run.
    return make(scryptSync(enc.passphrase, PREFIX, 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }), 'passphrase');
  }
  if (enc?.recipients?.length) {
    const sorted = [...enc.recipients].map((r) => r.trim()).sort();
    return make(sha256(`${PREFIX} recipients\0`, sorted.join('\n')), 'recipients');
  }
  return make(sha256(`${PREFIX} unencrypted`), 'fixed');
}

/** An HMAC-SHA256 over one blob's content: `update` as the bytes go by, `digest` → the blob id (hex). */
export function blobHasher(key: ContentKey): Hmac {
  return createHmac('sha256', key.key);
}

/** The blob id of content held whole. */
export function blobId(key: ContentKey, content: Buffer): string {
  return blobHasher(key).update(content).digest('hex');
}

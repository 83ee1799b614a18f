/**
 * The few primitives age is built from, on Node's native (OpenSSL) implementations:
 * HKDF-SHA-256, ChaCha20-Poly1305 with a zero nonce for wrapping the 16-byte file key, and
 * scrypt with a memory ceiling derived from the work factor.
 */
import { createCipheriv, createDecipheriv, hkdfSync, scrypt } from 'node:crypto';

export const FILE_KEY_SIZE = 16;
export const TAG_SIZE = 16;
/** A wrapped file key: 16 bytes of ciphertext plus the Poly1305 tag. */
export const WRAPPED_KEY_SIZE = FILE_KEY_SIZE + TAG_SIZE;

const ZERO_NONCE = Buffer.alloc(12);

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

/** Encrypts the file key under a one-time key (every wrapping key is fresh, so a zero nonce is safe). */
export function sealFileKey(key: Uint8Array, fileKey: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_SIZE });
  const body = cipher.update(fileKey);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** The file key, or null when the tag does not verify (a different key: not an error by itself). */
export function openFileKey(key: Uint8Array, body: Uint8Array): Buffer | null {
  if (body.length !== WRAPPED_KEY_SIZE) return null;
  const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(body.subarray(FILE_KEY_SIZE));
  const fileKey = decipher.update(body.subarray(0, FILE_KEY_SIZE));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return fileKey;
}

/**
 * scrypt(N = 2^logN, r = 8, p = 1) as age uses it. Node refuses anything above 32 MiB of
 * working memory by default; age's work factors need 128·r·N bytes (256 MiB at logN 18), so
 * the ceiling is set from logN itself — the caller has already bounded logN.
 */
export function scryptKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  const r = 8;
  const maxmem = 128 * r * (N + 2) + 128 * r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, 32, { N, r, p: 1, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

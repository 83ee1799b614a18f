/**
 * The age v1 file format (https://age-encryption.org/v1) on Node's native crypto: X25519
 * recipients or an scrypt passphrase, the STREAM payload at native ChaCha20-Poly1305 speed.
 * Files are interchangeable with the `age` CLI and typage, so a person with the identity can
 * always restore without Strongbox: `age -d -i key.txt < backup.age`.
 */
export { createEncryptStream } from './encrypt.js';
export type { EncryptOptions } from './encrypt.js';
export { createDecryptStream, MAX_HEADER_BYTES } from './decrypt.js';
export type { DecryptOptions } from './decrypt.js';
export {
  generateIdentity,
  identityToRecipient,
  parseIdentityFile,
  recipientFingerprint,
  validateRecipient,
  SCRYPT_FINGERPRINT_SUBJECT,
} from './keys.js';
export { DEFAULT_MAX_SCRYPT_LOG_N, DEFAULT_SCRYPT_LOG_N } from './stanzas.js';

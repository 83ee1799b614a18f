/**
 * The two native age recipient types: X25519 (`-> X25519 <share>`) and scrypt
 * (`-> scrypt <salt> <logN>`). Wrapping puts the file key in a stanza; unwrapping finds the
 * stanza a key opens. A stanza of a known type that is malformed is damage (IntegrityError);
 * a well-formed stanza that doesn't open is simply not ours; unknown types are skipped.
 */
import { diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { IntegrityError, WrongKeyError } from '../../shared/errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { WRAPPED_KEY_SIZE, hkdf, openFileKey, scryptKey, sealFileKey } from './crypto.js';
import type { Stanza } from './header.js';
import { publicKeyFromRaw, rawPublicKey } from './keys.js';
import type { X25519Identity } from './keys.js';

const X25519_INFO = 'age-encryption.org/v1/X25519';
const SCRYPT_LABEL = Buffer.from('age-encryption.org/v1/scrypt', 'latin1');
const SCRYPT_SALT_SIZE = 16;

/**
 * The default scrypt work factor for encryption (2^18, ~256 MiB and about a second), and the
 * highest one decryption accepts unless told otherwise (2^20: 1 GiB of memory and a few
 * seconds). The ceiling stops a hostile header from demanding unbounded memory and CPU; 20 is
 * also typage's fixed limit, so every file we write opens there too.
 */
export const DEFAULT_SCRYPT_LOG_N = 18;
export const DEFAULT_MAX_SCRYPT_LOG_N = 20;
/** Lowest work factor we write: below 2^10 scrypt stops being a meaningful brake. */
export const MIN_SCRYPT_LOG_N = 10;
/** Highest ceiling a caller may set: 2^22 already needs 4 GiB. */
export const MAX_SCRYPT_LOG_N_LIMIT = 22;

function stanzaError(detail: string): IntegrityError {
  return new IntegrityError(
    `the age header is malformed: ${detail}`,
    'The file is damaged or was not written by an age implementation; restore from another copy or backup.',
  );
}

export function wrapX25519(fileKey: Uint8Array, recipient: KeyObject): Stanza {
  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  const secret = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const salt = Buffer.concat([share, rawPublicKey(recipient)]);
  return { args: ['X25519', encodeBase64(share)], body: sealFileKey(hkdf(secret, salt, X25519_INFO), fileKey) };
}

export async function wrapScrypt(fileKey: Uint8Array, passphrase: string, logN: number): Promise<Stanza> {
  const salt = randomBytes(SCRYPT_SALT_SIZE);
  const key = await scryptKey(passphrase, Buffer.concat([SCRYPT_LABEL, salt]), logN);
  return { args: ['scrypt', encodeBase64(salt), String(logN)], body: sealFileKey(key, fileKey) };
}

interface X25519Stanza {
  share: Buffer;
  shareKey: KeyObject;
  body: Buffer;
}

interface ScryptStanza {
  salt: Buffer;
  logN: number;
  body: Buffer;
}

function parseX25519Stanza(stanza: Stanza): X25519Stanza {
  const share = stanza.args.length === 2 ? decodeBase64(stanza.args[1]!) : null;
  if (share === null || share.length !== 32) throw stanzaError('invalid X25519 stanza arguments');
  if (stanza.body.length !== WRAPPED_KEY_SIZE) throw stanzaError('invalid X25519 stanza body');
  return { share, shareKey: publicKeyFromRaw(share), body: stanza.body };
}

function parseScryptStanza(stanza: Stanza): ScryptStanza {
  if (stanza.args.length !== 3) throw stanzaError('invalid scrypt stanza arguments');
  const salt = decodeBase64(stanza.args[1]!);
  if (salt === null || salt.length !== SCRYPT_SALT_SIZE) throw stanzaError('invalid scrypt salt');
  // Decimal without leading zeros or signs; anything past two digits is absurd anyway.
  if (!/^[1-9][0-9]?$/.test(stanza.args[2]!)) throw stanzaError('invalid scrypt work factor');
  if (stanza.body.length !== WRAPPED_KEY_SIZE) throw stanzaError('invalid scrypt stanza body');
  return { salt, logN: Number(stanza.args[2]), body: stanza.body };
}

export interface UnwrapKeys {
  identities: X25519Identity[];
  passphrase?: string;
  maxScryptLogN: number;
}

/**
 * Finds the file key among the header's stanzas. Structural checks run on every X25519 and
 * scrypt stanza first, whatever keys were given, so a damaged header is reported as damage
 * rather than as a wrong key. Throws WrongKeyError when nothing opens.
 */
export async function unwrapFileKey(stanzas: Stanza[], keys: UnwrapKeys): Promise<Buffer> {
  const x25519 = stanzas.filter((s) => s.args[0] === 'X25519').map(parseX25519Stanza);
  const scrypt = stanzas.filter((s) => s.args[0] === 'scrypt').map(parseScryptStanza);
  if (scrypt.length > 0 && stanzas.length !== 1) {
    throw stanzaError('an scrypt stanza must be the only stanza in the header');
  }

  for (const stanza of x25519) {
    for (const identity of keys.identities) {
      let secret: Buffer;
      try {
        secret = diffieHellman({ privateKey: identity.privateKey, publicKey: stanza.shareKey });
      } catch {
        // OpenSSL refuses low-order shares, whose shared secret would be all zeros.
        throw stanzaError('an X25519 share is a low-order point');
      }
      const salt = Buffer.concat([stanza.share, identity.publicKey]);
      const fileKey = openFileKey(hkdf(secret, salt, X25519_INFO), stanza.body);
      if (fileKey) return fileKey;
    }
  }

  const [scryptStanza] = scrypt;
  if (scryptStanza && keys.passphrase !== undefined) {
    if (scryptStanza.logN > keys.maxScryptLogN) {
      throw new IntegrityError(
        `the backup's scrypt work factor 2^${scryptStanza.logN} exceeds the allowed maximum 2^${keys.maxScryptLogN}`,
        'A file from an untrusted source could use this to exhaust memory. If you trust this file, raise maxScryptLogN.',
      );
    }
    const key = await scryptKey(keys.passphrase, Buffer.concat([SCRYPT_LABEL, scryptStanza.salt]), scryptStanza.logN);
    const fileKey = openFileKey(key, scryptStanza.body);
    if (fileKey) return fileKey;
    throw new WrongKeyError('wrong passphrase', 'Check the passphrase secret used when this backup was made.');
  }
  throw noMatch(stanzas, keys, scryptStanza !== undefined);
}

function noMatch(stanzas: Stanza[], keys: UnwrapKeys, isScrypt: boolean): WrongKeyError {
  if (isScrypt) {
    return new WrongKeyError(
      'this backup is encrypted with a passphrase, not to a recipient, and no passphrase was given',
      'Provide the passphrase used when the backup was made.',
    );
  }
  const types = [...new Set(stanzas.map((s) => s.args[0]))].join(', ');
  if (keys.identities.length === 0) {
    return new WrongKeyError(
      `this backup is encrypted to age recipients (${types}), not with a passphrase`,
      'Provide the identity (AGE-SECRET-KEY-1…) matching one of its recipients.',
    );
  }
  return new WrongKeyError(
    'the identity does not match any recipient of this backup',
    `Use the identity whose public key was a recipient when the backup was made (stanza types in this file: ${types}).`,
  );
}

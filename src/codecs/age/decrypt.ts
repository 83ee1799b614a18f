/**
 * createDecryptStream: an age v1 file in, plaintext out. The header is read, its file key
 * unwrapped and its MAC checked before a single plaintext byte is emitted, so a wrong key
 * (WrongKeyError) or a damaged header (IntegrityError) never yields output. Payload damage is
 * an IntegrityError at the chunk where it is found; chunks before it have already been
 * authenticated and emitted, so consumers must treat any stream error as "nothing restored".
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { IntegrityError, UsageError } from '../../shared/errors.js';
import { OutputBatch } from './batch.js';
import { HeaderEndScanner, VERSION_LINE, parseHeader, verifyHeaderMac } from './header.js';
import { parseIdentity } from './keys.js';
import { CHUNK_SIZE, PAYLOAD_NONCE_SIZE, PayloadDecryptor, payloadKey } from './payload.js';
import { DEFAULT_MAX_SCRYPT_LOG_N, MAX_SCRYPT_LOG_N_LIMIT, unwrapFileKey } from './stanzas.js';
import type { UnwrapKeys } from './stanzas.js';

export interface DecryptOptions {
  /** `AGE-SECRET-KEY-1…` identities (see parseIdentityFile for a key file's text). */
  identities?: string[];
  passphrase?: string;
  /** Highest scrypt work factor (log2) accepted from a file's header; default 20 (1 GiB, seconds of CPU). */
  maxScryptLogN?: number;
}

/** Headers are a few hundred bytes per recipient; past this the input is not a sane age file. */
export const MAX_HEADER_BYTES = 1024 * 1024;
const VERSION_PREFIX = Buffer.from(`${VERSION_LINE}\n`, 'latin1');
const ARMOR_PREFIX = Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----', 'latin1');

function keysFrom(opts: DecryptOptions): UnwrapKeys {
  const identities = opts.identities ?? [];
  if (!Array.isArray(identities)) throw new UsageError('age identities must be a list of AGE-SECRET-KEY-1… strings');
  const parsed = identities.map((identity, i) =>
    parseIdentity(identity, identities.length === 1 ? 'the age identity' : `age identity #${i + 1}`),
  );
  const { passphrase } = opts;
  if (passphrase !== undefined && (typeof passphrase !== 'string' || passphrase.trim() === '')) {
    throw new UsageError(
      'the decryption passphrase is empty',
      'Set the passphrase secret; an unset secret expands to an empty string.',
    );
  }
  if (parsed.length === 0 && passphrase === undefined) {
    throw new UsageError(
      'no age identity or passphrase was given to decrypt with',
      'Provide the identity (AGE-SECRET-KEY-1…) or the passphrase the backup was encrypted with.',
    );
  }
  const maxScryptLogN = opts.maxScryptLogN ?? DEFAULT_MAX_SCRYPT_LOG_N;
  if (!Number.isInteger(maxScryptLogN) || maxScryptLogN < 1 || maxScryptLogN > MAX_SCRYPT_LOG_N_LIMIT) {
    throw new UsageError(
      `maxScryptLogN must be an integer from 1 to ${MAX_SCRYPT_LOG_N_LIMIT}, got ${String(maxScryptLogN)}`,
      `The default, ${DEFAULT_MAX_SCRYPT_LOG_N}, opens every file age and Strongbox write by default.`,
    );
  }
  return { identities: parsed, passphrase, maxScryptLogN };
}

function notAgeError(detail: string): IntegrityError {
  return new IntegrityError(
    `the input is not an age encrypted file: ${detail}`,
    'Check that this is the .age artifact of the backup, and that it was not damaged or replaced.',
  );
}

class AgeDecryptStream extends Transform {
  private readonly batch = new OutputBatch((data) => this.push(data), CHUNK_SIZE);
  /** Header bytes (and then the payload nonce) until the payload can start. */
  private head: Buffer = Buffer.alloc(0);
  private readonly scanner = new HeaderEndScanner();
  private headerEnd = -1;
  private fileKey?: Buffer;
  private payload?: PayloadDecryptor;

  constructor(private readonly keys: UnwrapKeys) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.payload) {
      this.decrypt(chunk, callback);
      return;
    }
    this.readHead(chunk).then(
      (rest) => (rest === undefined ? callback() : this.decrypt(rest, callback)),
      (err: Error) => callback(err),
    );
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.payload) {
        if (this.head.length === 0) throw notAgeError('it is empty');
        if (this.headerEnd < 0) throw notAgeError('it ends before the end of the age header');
        throw new IntegrityError(
          'the age file is truncated: it ends before the payload nonce',
          'The backup was truncated after it was written; restore from another copy or backup.',
        );
      }
      this.payload.finish(this.batch.add);
      this.batch.flush();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private decrypt(data: Buffer, callback: TransformCallback): void {
    try {
      this.payload!.update(data, this.batch.add);
      callback();
    } catch (err) {
      // Plaintext authenticated before the damage goes out first, as age's own readers do.
      this.batch.flush();
      callback(err as Error);
    }
  }

  /** Accumulates header bytes; once header and nonce are complete, returns the payload bytes after them. */
  private async readHead(chunk: Buffer): Promise<Buffer | undefined> {
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    if (this.headerEnd < 0) {
      this.checkVersionPrefix();
      this.headerEnd = this.scanner.scan(this.head);
      if (this.headerEnd < 0) {
        if (this.head.length > MAX_HEADER_BYTES) throw notAgeError(`no end of header within ${MAX_HEADER_BYTES} bytes`);
        return undefined;
      }
      const header = parseHeader(this.head.subarray(0, this.headerEnd));
      const fileKey = await unwrapFileKey(header.stanzas, this.keys);
      if (!verifyHeaderMac(header, fileKey)) {
        throw new IntegrityError(
          'the age header failed authentication (its MAC does not match)',
          'The header was altered after the backup was written; restore from another copy or backup.',
        );
      }
      this.fileKey = fileKey;
    }
    const payloadStart = this.headerEnd + PAYLOAD_NONCE_SIZE;
    if (this.head.length < payloadStart) return undefined;
    const nonce = this.head.subarray(this.headerEnd, payloadStart);
    this.payload = new PayloadDecryptor(payloadKey(this.fileKey!, nonce));
    this.fileKey!.fill(0);
    const rest = this.head.subarray(payloadStart);
    this.head = Buffer.alloc(0);
    return rest;
  }

  /** Fails fast on input that cannot be age, rather than buffering up to the header limit. */
  private checkVersionPrefix(): void {
    const n = Math.min(this.head.length, VERSION_PREFIX.length);
    if (this.head.subarray(0, n).equals(VERSION_PREFIX.subarray(0, n))) return;
    if (this.head.subarray(0, ARMOR_PREFIX.length).equals(ARMOR_PREFIX.subarray(0, Math.min(this.head.length, ARMOR_PREFIX.length)))) {
      throw notAgeError('it is ASCII-armored (PEM), which Strongbox does not read; de-armor it with `age -d` first');
    }
    throw notAgeError(`it does not start with "${VERSION_LINE}"`);
  }
}

/** Age file in → plaintext out. Throws UsageError synchronously for missing, empty or invalid keys. */
export function createDecryptStream(opts: DecryptOptions): Transform {
  return new AgeDecryptStream(keysFrom(opts ?? {}));
}

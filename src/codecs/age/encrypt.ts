/**
 * createEncryptStream: plaintext in, a complete age v1 file out (header, payload nonce,
 * STREAM payload). Options are validated synchronously, before any stream exists, so a
 * missing or empty key can never produce output — least of all a plaintext one.
 */
import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { KeyObject } from 'node:crypto';
import { UsageError } from '../../shared/errors.js';
import { OutputBatch } from './batch.js';
import { FILE_KEY_SIZE } from './crypto.js';
import { encodeHeader } from './header.js';
import type { Stanza } from './header.js';
import { parseRecipient } from './keys.js';
import { ENCRYPTED_CHUNK_SIZE, PAYLOAD_NONCE_SIZE, PayloadEncryptor, payloadKey } from './payload.js';
import { DEFAULT_MAX_SCRYPT_LOG_N, DEFAULT_SCRYPT_LOG_N, MIN_SCRYPT_LOG_N, wrapScrypt, wrapX25519 } from './stanzas.js';

export interface EncryptOptions {
  /** `age1…` X25519 recipients; the file opens with any of their identities. */
  recipients?: string[];
  /** Passphrase (scrypt) encryption instead of recipients; age forbids mixing the two. */
  passphrase?: string;
  /** log2 of the scrypt work factor, 10–20; default 18. */
  scryptLogN?: number;
}

type Plan = { kind: 'recipients'; keys: KeyObject[] } | { kind: 'passphrase'; passphrase: string; logN: number };

function plan(opts: EncryptOptions): Plan {
  const recipients = opts.recipients ?? [];
  if (!Array.isArray(recipients)) throw new UsageError('age recipients must be a list of age1… strings');
  const hasPassphrase = opts.passphrase !== undefined;
  if (hasPassphrase && recipients.length > 0) {
    throw new UsageError(
      'both a passphrase and age recipients were given; age cannot mix passphrase and recipient encryption',
      'Use either recipients (recommended: the backup side then holds no secret) or a passphrase.',
    );
  }
  if (hasPassphrase) {
    const passphrase = opts.passphrase;
    if (typeof passphrase !== 'string' || passphrase.trim() === '') {
      throw new UsageError(
        'the encryption passphrase is empty',
        'Set the passphrase secret; an unset secret expands to an empty string. Strongbox never falls back to an unencrypted backup.',
      );
    }
    const logN = opts.scryptLogN ?? DEFAULT_SCRYPT_LOG_N;
    if (!Number.isInteger(logN) || logN < MIN_SCRYPT_LOG_N || logN > DEFAULT_MAX_SCRYPT_LOG_N) {
      throw new UsageError(
        `scryptLogN must be an integer from ${MIN_SCRYPT_LOG_N} to ${DEFAULT_MAX_SCRYPT_LOG_N}, got ${String(logN)}`,
        `The default is ${DEFAULT_SCRYPT_LOG_N}; above ${DEFAULT_MAX_SCRYPT_LOG_N} other age implementations refuse to decrypt.`,
      );
    }
    return { kind: 'passphrase', passphrase, logN };
  }
  if (recipients.length === 0) {
    throw new UsageError(
      'no age recipient or passphrase was given',
      'Set at least one age1… recipient (or a passphrase). Strongbox never writes an unencrypted backup by accident.',
    );
  }
  return { kind: 'recipients', keys: recipients.map((r) => parseRecipient(r)) };
}

class AgeEncryptStream extends Transform {
  private readonly fileKey = randomBytes(FILE_KEY_SIZE);
  private readonly batch = new OutputBatch((data) => this.push(data), ENCRYPTED_CHUNK_SIZE);
  private payload?: PayloadEncryptor;

  constructor(private readonly plan: Plan) {
    super();
  }

  // Builds the header before the first write: scrypt is slow, so it runs off the main thread.
  override _construct(callback: (error?: Error | null) => void): void {
    this.buildHeader().then(() => callback(), callback);
  }

  private async buildHeader(): Promise<void> {
    const { plan, fileKey } = this;
    const stanzas: Stanza[] =
      plan.kind === 'passphrase'
        ? [await wrapScrypt(fileKey, plan.passphrase, plan.logN)]
        : plan.keys.map((key) => wrapX25519(fileKey, key));
    const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
    this.batch.add(encodeHeader(stanzas, fileKey));
    this.batch.add(nonce);
    this.payload = new PayloadEncryptor(payloadKey(fileKey, nonce));
    this.fileKey.fill(0);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.payload!.update(chunk, this.batch.add);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.payload!.finish(this.batch.add);
      this.batch.flush();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}

/** Plaintext in → age file out. Throws UsageError synchronously for missing, empty or conflicting keys. */
export function createEncryptStream(opts: EncryptOptions): Transform {
  return new AgeEncryptStream(plan(opts ?? {}));
}

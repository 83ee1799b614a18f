import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrityError, UsageError, WrongKeyError } from '../../src/shared/errors.js';
import { createDecryptStream, createEncryptStream, generateIdentity } from '../../src/codecs/age/index.js';
import { decrypt, encrypt, headerLength, split } from '../fixtures/age/streams.js';

const KiB = 1024;
const CHUNK = 64 * KiB;
const alice = generateIdentity();
const bob = generateIdentity();
const carol = generateIdentity();
const PASSPHRASE = 'correct horse battery staple';

/** Payload bytes for a plaintext of n bytes: one tag per 64 KiB chunk, and one chunk at least. */
function payloadSize(n: number): number {
  return n + 16 * Math.max(1, Math.ceil(n / CHUNK));
}

describe('age round trips', () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * 1024 * KiB + 3]) {
    it(`round-trips ${size} bytes with the chunk layout the spec requires`, async () => {
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, { recipients: [alice.recipient] });
      // Exact multiples of 64 KiB end with a full final chunk, not an extra empty one.
      expect(file.length - headerLength(file) - 16).toBe(payloadSize(size));
      const { output, error } = await decrypt(file, { identities: [alice.identity] });
      expect(error).toBeUndefined();
      expect(output.equals(plaintext)).toBe(true);
    });
  }

  it('round-trips whatever way the input and the ciphertext are cut into writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * CHUNK + 100 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 3 * CHUNK })), { minLength: 1, maxLength: 6 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 3 * CHUNK })), { minLength: 1, maxLength: 6 }),
        async (size, plainCuts, cipherCuts) => {
          const plaintext = randomBytes(size);
          const file = await encrypt(split(plaintext, plainCuts), { recipients: [alice.recipient] });
          expect(file.length - headerLength(file) - 16).toBe(payloadSize(size));
          const { output, error } = await decrypt(split(file, cipherCuts), { identities: [alice.identity] });
          expect(error).toBeUndefined();
          expect(output.equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('reads the header and payload one byte at a time', async () => {
    const plaintext = randomBytes(CHUNK + 10);
    const file = await encrypt(plaintext, { recipients: [alice.recipient] });
    const { output, error } = await decrypt(split(file, [1]), { identities: [alice.identity] });
    expect(error).toBeUndefined();
    expect(output.equals(plaintext)).toBe(true);
  });

  it('encrypts to several recipients, each of whom can decrypt alone', async () => {
    const plaintext = randomBytes(100 * KiB);
    const file = await encrypt(plaintext, { recipients: [alice.recipient, bob.recipient, carol.recipient] });
    expect(file.subarray(0, headerLength(file)).toString().match(/^-> X25519 /gm)).toHaveLength(3);
    for (const who of [alice, bob, carol]) {
      const { output, error } = await decrypt(file, { identities: [who.identity] });
      expect(error).toBeUndefined();
      expect(output.equals(plaintext)).toBe(true);
    }
  });

  it('tries every identity given, so a key file with several keys works', async () => {
    const plaintext = Buffer.from('several identities');
    const file = await encrypt(plaintext, { recipients: [carol.recipient] });
    const { output, error } = await decrypt(file, { identities: [alice.identity, bob.identity, carol.identity] });
    expect(error).toBeUndefined();
    expect(output.toString()).toBe('several identities');
  });

  it('round-trips with a passphrase and records the work factor in the header', async () => {
    const plaintext = randomBytes(CHUNK * 2 + 5);
    const file = await encrypt(plaintext, { passphrase: PASSPHRASE, scryptLogN: 10 });
    expect(file.toString('latin1', 0, headerLength(file))).toMatch(/^age-encryption\.org\/v1\n-> scrypt \S{22} 10\n/);
    const { output, error } = await decrypt(file, { passphrase: PASSPHRASE });
    expect(error).toBeUndefined();
    expect(output.equals(plaintext)).toBe(true);
  });

  it('produces different ciphertext for the same input (fresh file key and nonce)', async () => {
    const plaintext = Buffer.from('same input');
    const a = await encrypt(plaintext, { recipients: [alice.recipient] });
    const b = await encrypt(plaintext, { recipients: [alice.recipient] });
    expect(a.equals(b)).toBe(false);
  });
});

describe('age streaming', () => {
  /** Writes `pieces` without ending the stream and resolves with the bytes that came out meanwhile. */
  async function outputBeforeEnd(stream: ReturnType<typeof createEncryptStream>, pieces: Buffer[]): Promise<number> {
    let seen = 0;
    stream.on('data', (chunk: Buffer) => (seen += chunk.length));
    for (const piece of pieces) stream.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.destroy();
    return seen;
  }

  it('emits ciphertext before its input ends (nothing buffers the whole file)', async () => {
    const pieces = split(randomBytes(20 * CHUNK), [CHUNK]);
    const seen = await outputBeforeEnd(createEncryptStream({ recipients: [alice.recipient] }), pieces);
    expect(seen).toBeGreaterThanOrEqual(18 * CHUNK);
  });

  it('emits plaintext before its input ends', async () => {
    const file = await encrypt(randomBytes(20 * CHUNK), { recipients: [alice.recipient] });
    const all = split(file, [CHUNK]);
    const seen = await outputBeforeEnd(createDecryptStream({ identities: [alice.identity] }), all.slice(0, -2));
    expect(seen).toBeGreaterThanOrEqual(17 * CHUNK);
  });

  it('keeps memory flat while 256 MiB pass through encrypt and decrypt', async () => {
    const block = randomBytes(CHUNK);
    const total = 256 * 1024 * KiB;
    const enc = createEncryptStream({ recipients: [alice.recipient] });
    const dec = createDecryptStream({ identities: [alice.identity] });
    let out = 0;
    let peak = 0;
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.length;
        if (out % (16 * 1024 * KiB) < chunk.length) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        cb();
      },
    });
    const before = process.memoryUsage().arrayBuffers;
    const done = new Promise<void>((resolve, reject) => sink.on('finish', resolve).on('error', reject));
    enc.pipe(dec).pipe(sink);
    for (let sent = 0; sent < total; sent += block.length) {
      if (!enc.write(block)) await new Promise((resolve) => enc.once('drain', resolve));
    }
    enc.end();
    await done;
    expect(out).toBe(total);
    // A whole-file buffer would be 256 MiB; allow generous slack for unreclaimed garbage.
    expect(peak - before).toBeLessThan(96 * 1024 * KiB);
  });
});

describe('age key errors', () => {
  it('refuses a wrong identity from the header, before any output', async () => {
    const file = await encrypt(randomBytes(3 * CHUNK), { recipients: [alice.recipient, bob.recipient] });
    const { output, error } = await decrypt(file, { identities: [carol.identity] });
    expect(error).toBeInstanceOf(WrongKeyError);
    expect((error as Error).message).toBe('the identity does not match any recipient of this backup');
    expect(output.length).toBe(0);
  });

  it('refuses a wrong passphrase before any output', async () => {
    const file = await encrypt(randomBytes(3 * CHUNK), { passphrase: PASSPHRASE, scryptLogN: 10 });
    const { output, error } = await decrypt(file, { passphrase: 'Correct horse battery staple' });
    expect(error).toBeInstanceOf(WrongKeyError);
    expect((error as Error).message).toBe('wrong passphrase');
    expect(output.length).toBe(0);
  });

  it('says so when an identity is given for a passphrase-encrypted backup, and vice versa', async () => {
    const scryptFile = await encrypt(Buffer.from('x'), { passphrase: PASSPHRASE, scryptLogN: 10 });
    const byIdentity = await decrypt(scryptFile, { identities: [alice.identity] });
    expect(byIdentity.error).toBeInstanceOf(WrongKeyError);
    expect((byIdentity.error as Error).message).toMatch(/encrypted with a passphrase/);

    const recipientFile = await encrypt(Buffer.from('x'), { recipients: [alice.recipient] });
    const byPassphrase = await decrypt(recipientFile, { passphrase: PASSPHRASE });
    expect(byPassphrase.error).toBeInstanceOf(WrongKeyError);
    expect((byPassphrase.error as Error).message).toMatch(/encrypted to age recipients \(X25519\)/);
  });

  it('refuses a scrypt work factor above the maximum without running scrypt', async () => {
    const file = await encrypt(Buffer.from('x'), { passphrase: PASSPHRASE, scryptLogN: 12 });
    const capped = await decrypt(file, { passphrase: PASSPHRASE, maxScryptLogN: 11 });
    expect(capped.error).toBeInstanceOf(IntegrityError);
    expect((capped.error as Error).message).toContain('2^12 exceeds the allowed maximum 2^11');
    expect(capped.output.length).toBe(0);
    expect((await decrypt(file, { passphrase: PASSPHRASE, maxScryptLogN: 12 })).output.toString()).toBe('x');

    // A hostile header asking for 2^40 (128 TiB of scrypt memory) is refused under the default cap.
    const hostile = Buffer.from(file.toString('latin1').replace(/^(-> scrypt \S+) 12$/m, '$1 40'), 'latin1');
    const started = Date.now();
    const refused = await decrypt(hostile, { passphrase: PASSPHRASE });
    expect(refused.error).toBeInstanceOf(IntegrityError);
    expect((refused.error as Error).message).toContain('2^40 exceeds the allowed maximum 2^20');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('age tampering', () => {
  it('rejects every flipped header byte with an integrity or wrong-key error and no output', async () => {
    // Decrypting with alice: her stanza is the first; damage anywhere else must trip the MAC.
    const file = await encrypt(randomBytes(1000), { recipients: [alice.recipient, bob.recipient] });
    const text = file.toString('latin1');
    const aliceStanzaEnd = text.indexOf('\n-> ', text.indexOf('\n-> ') + 1);
    const header = headerLength(file);
    for (let i = 0; i < header; i++) {
      const damaged = Buffer.from(file);
      damaged[i]! ^= 0x01;
      const { output, error } = await decrypt(damaged, { identities: [alice.identity] });
      expect(output.length, `byte ${i}`).toBe(0);
      const inAliceStanza = i >= 22 && i <= aliceStanzaEnd;
      expect(error, `byte ${i}`).toBeInstanceOf(inAliceStanza ? Error : IntegrityError);
      if (inAliceStanza) expect(error instanceof IntegrityError || error instanceof WrongKeyError, `byte ${i}`).toBe(true);
    }
  });

  it('reports a header MAC mismatch as an integrity error', async () => {
    const file = await encrypt(Buffer.from('mac'), { recipients: [alice.recipient] });
    const macAt = file.indexOf('\n--- ') + 5;
    const damaged = Buffer.from(file);
    damaged[macAt] = damaged[macAt] === 0x41 ? 0x42 : 0x41;
    const { error } = await decrypt(damaged, { identities: [alice.identity] });
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/MAC/);
  });

  it('rejects a flipped byte in the nonce, the first chunk or the last chunk', async () => {
    const plaintext = randomBytes(2 * CHUNK + 100);
    const file = await encrypt(plaintext, { recipients: [alice.recipient] });
    const payloadStart = headerLength(file) + 16;
    const cases = [
      { at: payloadStart - 3, released: 0 }, // payload nonce
      { at: payloadStart + 10, released: 0 }, // first chunk
      { at: file.length - 1, released: 2 * CHUNK }, // tag of the final chunk
    ];
    for (const { at, released } of cases) {
      const damaged = Buffer.from(file);
      damaged[at]! ^= 0x80;
      const { output, error } = await decrypt(damaged, { identities: [alice.identity] });
      expect(error, `offset ${at}`).toBeInstanceOf(IntegrityError);
      // Only chunks that authenticated before the damage come out.
      expect(output.equals(plaintext.subarray(0, released)), `offset ${at}`).toBe(true);
    }
  });

  it('rejects truncation at a chunk boundary, mid-chunk, inside the tag, and in the header', async () => {
    const partial = await encrypt(randomBytes(2 * CHUNK + 100), { recipients: [alice.recipient] });
    const exact = await encrypt(randomBytes(2 * CHUNK), { recipients: [alice.recipient] });
    const start = (f: Buffer) => headerLength(f) + 16;
    const cuts: Array<[string, Buffer]> = [
      ['after two full chunks', partial.subarray(0, start(partial) + 2 * (CHUNK + 16))],
      ['after one of two full chunks', exact.subarray(0, start(exact) + CHUNK + 16)],
      ['one byte short', partial.subarray(0, partial.length - 1)],
      ['one byte short (full final chunk)', exact.subarray(0, exact.length - 1)],
      ['inside the final tag', partial.subarray(0, start(partial) + 2 * (CHUNK + 16) + 10)],
      ['mid-chunk', partial.subarray(0, start(partial) + 1000)],
      ['right after the nonce', partial.subarray(0, start(partial))],
      ['inside the nonce', partial.subarray(0, start(partial) - 5)],
      ['inside the header', partial.subarray(0, 40)],
      ['to nothing', Buffer.alloc(0)],
    ];
    for (const [name, cut] of cuts) {
      const { error } = await decrypt(cut, { identities: [alice.identity] });
      expect(error, name).toBeInstanceOf(IntegrityError);
    }
  });

  it('rejects data appended after the final chunk', async () => {
    const partial = await encrypt(randomBytes(CHUNK + 100), { recipients: [alice.recipient] });
    const exact = await encrypt(randomBytes(CHUNK), { recipients: [alice.recipient] });
    const empty = await encrypt(Buffer.alloc(0), { recipients: [alice.recipient] });
    for (const file of [partial, exact, empty]) {
      for (const extra of [Buffer.from([0]), randomBytes(20), randomBytes(CHUNK + 16)]) {
        const { error } = await decrypt(Buffer.concat([file, extra]), { identities: [alice.identity] });
        expect(error).toBeInstanceOf(IntegrityError);
      }
    }
  });

  it('rejects a final chunk that is dropped and replaced by a non-final one from another file', async () => {
    // Same key, different file: chunks don't transplant (the nonce and key differ per file).
    const a = await encrypt(randomBytes(CHUNK + 10), { recipients: [alice.recipient] });
    const b = await encrypt(randomBytes(CHUNK + 10), { recipients: [alice.recipient] });
    const spliced = Buffer.concat([a.subarray(0, a.length - 26), b.subarray(b.length - 26)]);
    expect((await decrypt(spliced, { identities: [alice.identity] })).error).toBeInstanceOf(IntegrityError);
  });

  it('names an armored file as such instead of calling it damaged', async () => {
    const armored = Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n');
    const { error } = await decrypt(armored, { identities: [alice.identity] });
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/armored/);
  });

  it('rejects a non-age input early', async () => {
    const { error } = await decrypt(Buffer.from('\x28\xb5\x2f\xfd zstd frame, not age'), { identities: [alice.identity] });
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/not an age encrypted file/);
  });
});

describe('age option validation', () => {
  const usage = (fn: () => unknown) => expect(fn).toThrow(UsageError);

  it('refuses to encrypt without a usable key, synchronously', () => {
    usage(() => createEncryptStream({}));
    usage(() => createEncryptStream({ recipients: [] }));
    usage(() => createEncryptStream({ recipients: [''] }));
    usage(() => createEncryptStream({ recipients: [alice.recipient, ''] }));
    usage(() => createEncryptStream({ recipients: ['   '] }));
    usage(() => createEncryptStream({ passphrase: '' }));
    usage(() => createEncryptStream({ passphrase: ' \n' }));
    usage(() => createEncryptStream({ passphrase: PASSPHRASE, recipients: [alice.recipient] }));
    usage(() => createEncryptStream({ recipients: ['age1notarecipient'] }));
    for (const scryptLogN of [9, 21, 10.5, Number.NaN]) usage(() => createEncryptStream({ passphrase: PASSPHRASE, scryptLogN }));
  });

  it('refuses to decrypt without a usable key, synchronously', () => {
    usage(() => createDecryptStream({}));
    usage(() => createDecryptStream({ identities: [] }));
    usage(() => createDecryptStream({ identities: [''] }));
    usage(() => createDecryptStream({ identities: [alice.identity, ''] }));
    usage(() => createDecryptStream({ passphrase: '' }));
    usage(() => createDecryptStream({ identities: [alice.recipient] }));
    for (const maxScryptLogN of [0, 23, 1.5]) usage(() => createDecryptStream({ passphrase: PASSPHRASE, maxScryptLogN }));
  });

  it('never puts an identity or passphrase into an error', async () => {
    const messages: string[] = [];
    const collect = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        messages.push(JSON.stringify({ s: String(err), ...(err as object) }), (err as Error).stack ?? '');
      }
    };
    const badIdentity = `${alice.identity.slice(0, -1)}${alice.identity.endsWith('Q') ? 'P' : 'Q'}`;
    collect(() => createDecryptStream({ identities: [badIdentity] }));
    collect(() => createDecryptStream({ identities: [alice.identity.toLowerCase().replace('age-secret-key-1', 'age-secret-key-2')] }));
    collect(() => createEncryptStream({ recipients: [alice.identity] }));
    collect(() => createEncryptStream({ recipients: [PASSPHRASE] }));
    collect(() => createEncryptStream({ passphrase: PASSPHRASE, recipients: [bob.recipient] }));
    const file = await encrypt(Buffer.from('x'), { passphrase: PASSPHRASE, scryptLogN: 10 });
    const wrong = await decrypt(file, { passphrase: `${PASSPHRASE}!`, identities: [carol.identity] });
    messages.push(JSON.stringify({ s: String(wrong.error), ...(wrong.error as object) }));
    const other = await decrypt(await encrypt(Buffer.from('x'), { recipients: [bob.recipient] }), { identities: [alice.identity] });
    messages.push(JSON.stringify({ s: String(other.error), ...(other.error as object) }));

    expect(messages.length).toBe(12);
    const secrets = [alice.identity, badIdentity, carol.identity, PASSPHRASE, 'horse battery'];
    for (const message of messages) {
      for (const secret of secrets) {
        expect(message.toLowerCase()).not.toContain(secret.toLowerCase());
      }
      // Nor a recognisable fragment of a secret key.
      expect(message).not.toMatch(/AGE-SECRET-KEY-1[0-9A-Z]{8}/i);
    }
  });
});

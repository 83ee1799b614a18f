/**
 * Interop with typage (the `age-encryption` package by age's author): files we write open
 * there, and files it writes open here — recipients and passphrases, across the chunk
 * boundaries where implementations disagree if they get the last-chunk rule wrong.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { WrongKeyError } from '../../src/shared/errors.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { decrypt, encrypt, split } from '../fixtures/age/streams.js';

const CHUNK = 64 * 1024;
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7];

describe('age interop with typage', () => {
  it('typage decrypts files encrypted here to a recipient', async () => {
    const ours = generateIdentity();
    const theirs = await generateX25519Identity();
    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, { recipients: [ours.recipient, await identityToRecipient(theirs)] });
      for (const identity of [ours.identity, theirs]) {
        const decrypter = new Decrypter();
        decrypter.addIdentity(identity);
        expect(Buffer.from(await decrypter.decrypt(file)).equals(plaintext), `${size} bytes`).toBe(true);
      }
    }
  });

  it('typage decrypts files encrypted here with a passphrase', async () => {
    for (const size of [0, CHUNK, CHUNK + 1]) {
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, { passphrase: 'typage interop', scryptLogN: 10 });
      const decrypter = new Decrypter();
      decrypter.addPassphrase('typage interop');
      expect(Buffer.from(await decrypter.decrypt(file)).equals(plaintext), `${size} bytes`).toBe(true);
    }
  });

  it('decrypts files typage encrypted to a recipient, including its streaming output', async () => {
    const identity = await generateX25519Identity();
    const encrypter = new Encrypter();
    encrypter.addRecipient(await identityToRecipient(identity));
    for (const size of SIZES) {
      const plaintext = randomBytes(size);
      const file = Buffer.from(await encrypter.encrypt(plaintext));
      const { output, error } = await decrypt(split(file, [7, CHUNK + 3]), { identities: [identity] });
      expect(error, `${size} bytes`).toBeUndefined();
      expect(output.equals(plaintext), `${size} bytes`).toBe(true);
    }
    // typage's web-stream encryption path too.
    const plaintext = randomBytes(2 * CHUNK + 11);
    const stream = await encrypter.encrypt(Readable.toWeb(Readable.from([plaintext])) as ReadableStream<Uint8Array>);
    const file = await buffer(stream);
    expect((await decrypt(file, { identities: [identity] })).output.equals(plaintext)).toBe(true);
  });

  it('decrypts files typage encrypted with a passphrase, and refuses the wrong one', async () => {
    const encrypter = new Encrypter();
    encrypter.setPassphrase('from typage');
    encrypter.setScryptWorkFactor(10);
    const plaintext = randomBytes(CHUNK + 100);
    const file = Buffer.from(await encrypter.encrypt(plaintext));
    expect((await decrypt(file, { passphrase: 'from typage' })).output.equals(plaintext)).toBe(true);
    const wrong = await decrypt(file, { passphrase: 'from typage?' });
    expect(wrong.error).toBeInstanceOf(WrongKeyError);
    expect(wrong.output.length).toBe(0);
  });

  it('opens typage files with typage identities and our files with our identities only', async () => {
    const theirs = await generateX25519Identity();
    const encrypter = new Encrypter();
    encrypter.addRecipient(await identityToRecipient(theirs));
    const file = Buffer.from(await encrypter.encrypt('typage'));
    const { error } = await decrypt(file, { identities: [generateIdentity().identity] });
    expect(error).toBeInstanceOf(WrongKeyError);
  });
});

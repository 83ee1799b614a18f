/**
 * The community age test vectors (C2SP CCTV), rebuilt by test/fixtures/age/testkit.ts. Each
 * expected outcome maps onto Strongbox's errors: "no match" is a WrongKeyError; header,
 * HMAC and payload failures are IntegrityErrors, told apart by their messages; and whatever
 * plaintext came out before a payload failure must be exactly the authenticated prefix.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError, WrongKeyError } from '../../src/shared/errors.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { decrypt } from '../fixtures/age/streams.js';
import { TEST_X25519_IDENTITY, TEST_X25519_RECIPIENT, generateVectors } from '../fixtures/age/testkit.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const vectors = generateVectors();

describe('age community test vectors (CCTV)', () => {
  it('rebuilds the testkit keys and a representative set of vectors', () => {
    expect(TEST_X25519_IDENTITY).toHaveLength(32);
    expect(TEST_X25519_RECIPIENT).toHaveLength(32);
    expect(vectors.length).toBeGreaterThanOrEqual(55);
    const outcomes = new Set(vectors.map((v) => v.expect));
    expect([...outcomes].sort()).toEqual(['HMAC failure', 'header failure', 'no match', 'payload failure', 'success']);
  });

  for (const vector of vectors) {
    it(`${vector.name}: ${vector.expect}`, async () => {
      // Whole file at once, and cut into odd pieces: the outcome must not depend on the cut.
      for (const pieceSize of [vector.file.length || 1, 7]) {
        const pieces: Buffer[] = [];
        for (let i = 0; i < vector.file.length; i += pieceSize) pieces.push(vector.file.subarray(i, i + pieceSize));
        // A vector without keys (the empty file) still needs some key to be attempted with.
        const keyless = vector.identities.length === 0 && vector.passphrases.length === 0;
        const { output, error } = await decrypt(pieces, {
          identities: keyless ? [generateIdentity().identity] : vector.identities,
          passphrase: vector.passphrases[0],
        });
        const message = error instanceof Error ? error.message : '';
        switch (vector.expect) {
          case 'success':
            expect(error).toBeUndefined();
            expect(sha256(output)).toBe(vector.payload);
            break;
          case 'no match':
            expect(error).toBeInstanceOf(WrongKeyError);
            expect(output.length).toBe(0);
            break;
          case 'HMAC failure':
            expect(error).toBeInstanceOf(IntegrityError);
            expect(message).toMatch(/MAC does not match/);
            expect(output.length).toBe(0);
            break;
          case 'header failure':
            expect(error).toBeInstanceOf(IntegrityError);
            expect(message).not.toMatch(/MAC does not match|age payload/);
            expect(output.length).toBe(0);
            break;
          case 'payload failure':
            expect(error).toBeInstanceOf(IntegrityError);
            expect(message).toMatch(/age payload/);
            expect(sha256(output)).toBe(vector.payload);
            break;
        }
      }
    });
  }
});

import { createHash } from 'node:crypto';
import { bech32 } from '@scure/base';
import { identityToRecipient as typageIdentityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import {
  generateIdentity,
  identityToRecipient,
  parseIdentityFile,
  recipientFingerprint,
  validateRecipient,
} from '../../src/codecs/age/index.js';

/** The identity the community test vectors (C2SP CCTV age testkit) are generated with. */
const TESTKIT_IDENTITY = 'AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('age keys', () => {
  it('generates identities and recipients in the formats age-keygen writes', () => {
    const { identity, recipient } = generateIdentity();
    expect(identity).toMatch(/^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
    expect(recipient).toMatch(/^age1[02-9ac-hj-np-z]{58}$/);
    expect(identityToRecipient(identity)).toBe(recipient);
    expect(generateIdentity().identity).not.toBe(identity);
  });

  it('derives the same recipient as typage', async () => {
    for (const identity of [TESTKIT_IDENTITY, generateIdentity().identity, generateIdentity().identity]) {
      expect(identityToRecipient(identity)).toBe(await typageIdentityToRecipient(identity));
    }
  });

  it('parses an age-keygen key file, skipping comments and blank lines', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const text = `# created: 2024-01-01T00:00:00Z\r\n# public key: ${a.recipient}\r\n${a.identity}\r\n\n   \n# second\n  ${b.identity}  \n`;
    expect(parseIdentityFile(text)).toEqual([a.identity, b.identity]);
  });

  it('refuses a key file without identities, or with a line that is not one (without echoing it)', () => {
    expect(usageError(() => parseIdentityFile('')).message).toMatch(/no age identity/);
    expect(usageError(() => parseIdentityFile('# only a comment\n\n')).message).toMatch(/no age identity/);
    const broken = `${generateIdentity().identity.slice(0, -2)}XX`;
    const err = usageError(() => parseIdentityFile(`# key\n${generateIdentity().identity}\n${broken}\n`));
    expect(err.message).toContain('line 3 of the identity file');
    expect(JSON.stringify({ m: err.message, h: err.hint })).not.toContain(broken.slice(16, 40));
    expect(usageError(() => parseIdentityFile(generateIdentity().recipient)).message).toContain('line 1');
  });

  it('accepts valid recipients and names bad public values', () => {
    expect(() => validateRecipient(generateIdentity().recipient)).not.toThrow();
    expect(usageError(() => validateRecipient('')).message).toMatch(/empty/);
    expect(usageError(() => validateRecipient('age1qqqqqqq')).message).toContain('"age1qqqqqqq"');
    const { recipient } = generateIdentity();
    expect(usageError(() => validateRecipient(recipient.toUpperCase())).message).toContain(recipient.toUpperCase());
    expect(usageError(() => validateRecipient(`${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`)).message).toMatch(
      /not a valid age recipient/,
    );
    expect(usageError(() => validateRecipient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO')).message).toMatch(/SSH/);
  });

  it('does not echo a secret pasted as a recipient', () => {
    const { identity } = generateIdentity();
    for (const secret of [identity, identity.toLowerCase(), 'hunter2 is my password', 'AGE-PLUGIN-YUBIKEY-1QQQQQ']) {
      const err = usageError(() => validateRecipient(secret));
      expect(`${err.message} ${err.hint}`).not.toContain(secret);
    }
  });

  it('refuses a recipient that is a low-order point', () => {
    const zero = bech32.encode('age', bech32.toWords(new Uint8Array(32)), false);
    expect(usageError(() => validateRecipient(zero)).message).toMatch(/low-order/);
  });

  it('refuses plugin and post-quantum recipients by name', () => {
    const pq = bech32.encode('age1pq', bech32.toWords(new Uint8Array(64).fill(7)), false);
    expect(usageError(() => validateRecipient(pq)).message).toMatch(/plugin or post-quantum/);
  });

  it('fingerprints recipients and the scrypt marker, and nothing else', () => {
    const { recipient } = generateIdentity();
    const expected = createHash('sha256').update(recipient).digest('hex').slice(0, 16);
    expect(recipientFingerprint(recipient)).toBe(expected);
    expect(recipientFingerprint(` ${recipient}\n`)).toBe(expected);
    expect(recipientFingerprint('scrypt')).toBe(createHash('sha256').update('scrypt').digest('hex').slice(0, 16));
    expect(recipientFingerprint(generateIdentity().recipient)).not.toBe(expected);
    usageError(() => recipientFingerprint('my passphrase'));
    usageError(() => recipientFingerprint(generateIdentity().identity));
  });
});

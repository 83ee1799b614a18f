import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  formatPrivateKey,
  formatPublicKey,
  generateSigningKey,
  parsePrivateKey,
  parsePublicKey,
  parseSignature,
  signMessage,
  verifySignature,
} from '../../src/codecs/ssh-signature/index.js';

const message = Buffer.from('{"id":"x"}\n');

describe('SSH signing keys', () => {
  it('round-trips the OpenSSH private key and public key line', () => {
    const k = generateSigningKey('strongbox-signing');
    const text = formatPrivateKey(k);
    expect(text).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n$/);
    const back = parsePrivateKey(text);
    expect(back.seed.equals(k.seed)).toBe(true);
    expect(back.publicKey.comment).toBe('strongbox-signing');
    const line = formatPublicKey(k.publicKey);
    expect(line).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/=]+ strongbox-signing$/);
    expect(parsePublicKey(line).raw.equals(k.publicKey.raw)).toBe(true);
    expect(fingerprint(k.publicKey.raw)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('reads an allowed_signers line as the key it names, honouring namespaces= and refusing options it cannot check (TRIAL 8)', () => {
    const k = generateSigningKey('strongbox-signing');
    const line = formatPublicKey(k.publicKey);
    for (const l of [`backups@example.com ${line}`, `a@x,b@y namespaces="strongbox" ${line}`, `"*@example.com" namespaces="git,strong*" ${line}`, `ops ${line.replace(/ strongbox-signing$/, '')}`]) {
      expect(parsePublicKey(l).raw.equals(k.publicKey.raw)).toBe(true);
    }
    expect(parsePublicKey(`backups@example.com ${line}`).comment).toBe('strongbox-signing');
    expect(() => parsePublicKey(`b@x namespaces="git" ${line}`)).toThrow(/does not allow the "strongbox" namespace/);
    expect(() => parsePublicKey(`b@x namespaces="*,!strongbox" ${line}`)).toThrow(/does not allow/);
    expect(() => parsePublicKey(`b@x cert-authority ${line}`)).toThrow(/cert-authority is not supported/);
    expect(() => parsePublicKey(`b@x valid-before="20300101" ${line}`)).toThrow(/valid-before is not supported/);
    expect(() => parsePublicKey('b@x ssh-rsa AAAAB3NzaC1yc2E= x')).toThrow(/allowed_signers line/);
  });

  it('refuses other key types, garbage and a private key whose halves disagree', () => {
    expect(() => parsePublicKey('ssh-rsa AAAAB3NzaC1yc2E= x')).toThrow(/ssh-ed25519/);
    expect(() => parsePublicKey('ssh-ed25519 !!!')).toThrow(/base64|valid/);
    expect(() => parsePrivateKey('AGE-SECRET-KEY-1XYZ')).toThrow(/OPENSSH PRIVATE KEY/);
    const a = generateSigningKey('a');
    const b = generateSigningKey('b');
    expect(() => parsePrivateKey(formatPrivateKey({ seed: a.seed, publicKey: b.publicKey }))).toThrow(/corrupt|does not match/);
  });
});

describe('SSH signatures', () => {
  const k = generateSigningKey('t');

  it('verifies its own signature and names the signer', () => {
    const armored = signMessage(k, 'strongbox', message);
    expect(armored).toMatch(/^-----BEGIN SSH SIGNATURE-----\n[\s\S]+-----END SSH SIGNATURE-----\n$/);
    const sig = parseSignature(armored);
    expect(sig.hashAlgorithm).toBe('sha512');
    expect(fingerprint(sig.publicKey)).toBe(fingerprint(k.publicKey.raw));
    expect(verifySignature(sig, 'strongbox', message)).toBe(true);
  });

  it('fails for a changed message, another namespace, or a flipped signature byte', () => {
    const sig = parseSignature(signMessage(k, 'strongbox', message));
    expect(verifySignature(sig, 'strongbox', Buffer.from('{"id":"y"}\n'))).toBe(false);
    expect(verifySignature(sig, 'git', message)).toBe(false);
    const bad = { ...sig, signature: Buffer.from(sig.signature) };
    bad.signature[5]! ^= 1;
    expect(verifySignature(bad, 'strongbox', message)).toBe(false);
  });

  it('refuses truncated and non-signature text', () => {
    const armored = signMessage(k, 'strongbox', message);
    const lines = armored.trim().split('\n');
    expect(() => parseSignature([lines[0], lines[1]!.slice(0, 20), lines.at(-1)].join('\n'))).toThrow(/truncated|malformed/);
    expect(() => parseSignature('hello')).toThrow(/not an SSH signature/);
  });
});

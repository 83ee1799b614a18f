import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SshWireError, WireReader, sshString, u32 } from './wire.js';

/**
 * Ed25519 keys in OpenSSH's own formats, so `ssh-keygen` reads ours and we read its:
 * - public: the `ssh-ed25519 AAAA… comment` line (RFC 8709 key blob, base64);
 * - private: the unencrypted `openssh-key-v1` container (OpenSSH PROTOCOL.key), PEM-armored.
 */
export const KEY_TYPE = 'ssh-ed25519';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';

export class SshKeyError extends Error {}

export interface SshPublicKey {
  /** The 32-byte Ed25519 public key. */
  raw: Buffer;
  comment: string;
}

export interface SshPrivateKey {
  /** The 32-byte Ed25519 seed. */
  seed: Buffer;
  publicKey: SshPublicKey;
}

export function publicKeyBlob(raw: Uint8Array): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(raw)]);
}

export function parsePublicKeyBlob(blob: Uint8Array): Buffer {
  const r = new WireReader(Buffer.from(blob));
  try {
    const type = r.text();
    if (type !== KEY_TYPE) throw new SshKeyError(`key type ${type} is not supported (only ${KEY_TYPE})`);
    const raw = r.string();
    if (raw.length !== 32 || !r.done) throw new SshKeyError('not a valid ssh-ed25519 key');
    return Buffer.from(raw);
  } catch (err) {
    if (err instanceof SshWireError) throw new SshKeyError('not a valid ssh-ed25519 key (truncated)');
    throw err;
  }
}

/** `SHA256:…` as `ssh-keygen -l` prints it (unpadded base64 of the blob's SHA-256). */
export function fingerprint(raw: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob(raw)).digest('base64').replace(/=+$/, '');
}

export function formatPublicKey(k: SshPublicKey): string {
  return `${KEY_TYPE} ${publicKeyBlob(k.raw).toString('base64')}${k.comment ? ` ${k.comment}` : ''}`;
}

/** The namespace Strongbox signs manifests in. */
const NAMESPACE = 'strongbox';

/** Words of a line, a double-quoted part (`namespaces="a,b"`) kept within its word. */
const words = (line: string): string[] => line.trim().match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];

/** ssh-keygen's pattern lists: comma-separated, `*` and `?` wildcards, `!` negates. */
function patternListMatches(list: string, name: string): boolean {
  let matched = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const glob = negated ? raw.slice(1) : raw;
    const re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    if (re.test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * The options of an allowed_signers line: `namespaces="…"` must let this key sign in the
 * `strongbox` namespace (as `ssh-keygen -Y verify` would); any other option (cert-authority,
 * valid-after, valid-before) is a restriction we do not check, so the line is refused rather
 * than trusted more widely than written.
 */
function checkSignerOptions(options: string): void {
  for (const opt of options.match(/(?:[^,"]+|"[^"]*")+/g) ?? []) {
    const eq = opt.indexOf('=');
    const name = (eq < 0 ? opt : opt.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : opt.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    if (name === 'namespaces') {
      if (!patternListMatches(value, NAMESPACE)) throw new SshKeyError(`the allowed_signers line does not allow the "${NAMESPACE}" namespace (namespaces="${value}")`);
    } else {
      throw new SshKeyError(`the allowed_signers option ${name} is not supported; give the key without it (only namespaces="${NAMESPACE}" is understood)`);
    }
  }
}

/**
 * One public key line: the `.pub` form `ssh-ed25519 AAAA… [comment]`, or an OpenSSH
 * allowed_signers line `principals [options] ssh-ed25519 AAAA… [comment]` (as the README has
 * users write for `ssh-keygen -Y verify`). The principals are not checked: the key is what is trusted.
 */
export function parsePublicKey(line: string): SshPublicKey {
  const parts = words(line);
  const at = parts.indexOf(KEY_TYPE);
  if (at < 0 || at + 1 >= parts.length || at > 2) {
    throw new SshKeyError(`not an ssh-ed25519 public key line (expected "${KEY_TYPE} AAAA…", or an allowed_signers line "principal ${KEY_TYPE} AAAA…")`);
  }
  if (at === 2) checkSignerOptions(parts[1]!);
  const key = parts[at + 1]!;
  const blob = Buffer.from(key, 'base64');
  if (blob.toString('base64').replace(/=+$/, '') !== key.replace(/=+$/, '')) throw new SshKeyError('the public key is not valid base64');
  const comment = parts.slice(at + 2).join(' ') || (at > 0 ? parts[0]! : '');
  return { raw: parsePublicKeyBlob(blob), comment };
}

export function generateSigningKey(comment: string): SshPrivateKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { seed: Buffer.from(jwk.d!, 'base64url'), publicKey: { raw: Buffer.from(jwk.x!, 'base64url'), comment } };
}

export function formatPrivateKey(k: SshPrivateKey): string {
  const blob = publicKeyBlob(k.publicKey.raw);
  const check = randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(k.publicKey.raw),
    sshString(Buffer.concat([k.seed, k.publicKey.raw])),
    sshString(k.publicKey.comment),
  ]);
  // Padded with 1, 2, 3, … to the cipher block size (8 for "none").
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([MAGIC, sshString('none'), sshString('none'), sshString(''), u32(1), sshString(blob), sshString(secret)]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `${BEGIN}\n${b64}${END}\n`;
}

export function parsePrivateKey(text: string): SshPrivateKey {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new SshKeyError(`not an OpenSSH private key (no "${BEGIN}" block)`);
  const body = Buffer.from(text.slice(start + BEGIN.length, end).replace(/\s+/g, ''), 'base64');
  try {
    const r = new WireReader(body);
    if (!r.bytes(MAGIC.length).equals(MAGIC)) throw new SshKeyError('not an openssh-key-v1 private key');
    const cipher = r.text();
    const kdf = r.text();
    r.string();
    if (cipher !== 'none' || kdf !== 'none') {
      throw new SshKeyError('the signing key is protected by a passphrase, which Strongbox cannot use; export it without one (ssh-keygen -p -N "" -f FILE on a copy)');
    }
    if (r.u32() !== 1) throw new SshKeyError('the key file must hold exactly one key');
    const pub = parsePublicKeyBlob(r.string());
    const s = new WireReader(r.string());
    if (s.u32() !== s.u32()) throw new SshKeyError('the private key is corrupt (check bytes differ)');
    if (s.text() !== KEY_TYPE) throw new SshKeyError(`only ${KEY_TYPE} signing keys are supported`);
    const pub2 = s.string();
    const sk = s.string();
    const comment = s.text();
    if (!pub2.equals(pub) || sk.length !== 64 || !sk.subarray(32).equals(pub)) throw new SshKeyError('the private key is corrupt (its parts disagree)');
    const seed = Buffer.from(sk.subarray(0, 32));
    // The seed must produce the stated public key, or our signatures would not verify.
    if (!derivePublicKey(seed).equals(pub)) throw new SshKeyError('the private key does not match its public key');
    return { seed, publicKey: { raw: pub, comment } };
  } catch (err) {
    if (err instanceof SshWireError) throw new SshKeyError('the private key is truncated or corrupt');
    throw err;
  }
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410), so Node derives the key from the seed alone.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function toPrivateKeyObject(k: Pick<SshPrivateKey, 'seed'>): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, k.seed]), format: 'der', type: 'pkcs8' });
}

function derivePublicKey(seed: Buffer): Buffer {
  return Buffer.from(createPublicKey(toPrivateKeyObject({ seed })).export({ format: 'jwk' }).x!, 'base64url');
}

export function toPublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

import { createHash, sign, verify } from 'node:crypto';
import { KEY_TYPE, SshKeyError, parsePublicKeyBlob, publicKeyBlob, toPrivateKeyObject, toPublicKeyObject, type SshPrivateKey } from './keys.js';
import { SshWireError, WireReader, sshString, u32 } from './wire.js';

/**
 * SSH signatures as OpenSSH's PROTOCOL.sshsig defines them — what `ssh-keygen -Y sign` writes
 * and `ssh-keygen -Y verify` checks — for Ed25519 keys.
 */
const MAGIC = Buffer.from('SSHSIG', 'latin1');
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
const HASHES = ['sha512', 'sha256'] as const;

export class SshSignatureError extends Error {}

export interface SshSignature {
  /** The signer's raw Ed25519 public key, as embedded in the signature. */
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: (typeof HASHES)[number];
  signature: Buffer;
}

function signedData(namespace: string, hash: string, message: Uint8Array): Buffer {
  const digest = createHash(hash).update(message).digest();
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hash), sshString(digest)]);
}

/** Signs `message`; returns the armored signature text. */
export function signMessage(key: SshPrivateKey, namespace: string, message: Uint8Array): string {
  const hash = 'sha512';
  const sig = sign(null, signedData(namespace, hash, message), toPrivateKeyObject(key));
  const blob = Buffer.concat([
    MAGIC,
    u32(1),
    sshString(publicKeyBlob(key.publicKey.raw)),
    sshString(namespace),
    sshString(''),
    sshString(hash),
    sshString(Buffer.concat([sshString(KEY_TYPE), sshString(sig)])),
  ]);
  return `${BEGIN}\n${blob.toString('base64').replace(/.{1,70}/g, '$&\n')}${END}\n`;
}

export function parseSignature(text: string): SshSignature {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new SshSignatureError('not an SSH signature (no "-----BEGIN SSH SIGNATURE-----" block)');
  const r = new WireReader(Buffer.from(text.slice(start + BEGIN.length, end).replace(/\s+/g, ''), 'base64'));
  try {
    if (!r.bytes(MAGIC.length).equals(MAGIC)) throw new SshSignatureError('not an SSH signature (bad magic)');
    const version = r.u32();
    if (version !== 1) throw new SshSignatureError(`SSH signature version ${version} is not supported`);
    const publicKey = parsePublicKeyBlob(r.string());
    const namespace = r.text();
    r.string(); // reserved
    const hashAlgorithm = r.text();
    if (!(HASHES as readonly string[]).includes(hashAlgorithm)) throw new SshSignatureError(`SSH signature hash ${hashAlgorithm} is not supported`);
    const s = new WireReader(r.string());
    if (s.text() !== KEY_TYPE) throw new SshSignatureError(`only ${KEY_TYPE} signatures are supported`);
    const signature = s.string();
    if (signature.length !== 64 || !s.done || !r.done) throw new SshSignatureError('the SSH signature is malformed');
    return { publicKey, namespace, hashAlgorithm: hashAlgorithm as SshSignature['hashAlgorithm'], signature: Buffer.from(signature) };
  } catch (err) {
    if (err instanceof SshWireError) throw new SshSignatureError('the SSH signature is truncated');
    if (err instanceof SshKeyError) throw new SshSignatureError(`the SSH signature's key: ${err.message}`);
    throw err;
  }
}

/** True when `sig` is a valid signature of `message` in `namespace` by the key it embeds. */
export function verifySignature(sig: SshSignature, namespace: string, message: Uint8Array): boolean {
  if (sig.namespace !== namespace) return false;
  return verify(null, signedData(namespace, sig.hashAlgorithm, message), toPublicKeyObject(sig.publicKey), sig.signature);
}

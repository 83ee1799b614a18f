export {
  SshKeyError,
  fingerprint,
  formatPrivateKey,
  formatPublicKey,
  generateSigningKey,
  parsePrivateKey,
  parsePublicKey,
  type SshPrivateKey,
  type SshPublicKey,
} from './keys.js';
export { SshSignatureError, parseSignature, signMessage, verifySignature, type SshSignature } from './sshsig.js';

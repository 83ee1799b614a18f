import type { SshPrivateKey } from '../codecs/ssh-signature/index.js';
import type { Reporter } from '../shared/reporter.js';
import { secretFromEnv } from './env.js';
import type { ConfigFile } from './file.js';
import { resolveSigningKey, type SigningKeySettings } from './settings.js';

export interface SigningFlags {
  /** --sign-key FILE */
  signKeyFile?: string;
  /** The key text itself (action input signing-key). */
  signingKey?: string;
  signingKeySource?: string;
}

/**
 * The manifest signing key of a backup (and of rollback's safety backup): the flags' when one
 * is given, else the file's `signing:` (a key file, or the variable named by key-env).
 */
export function resolveSigningConfig(flags: SigningFlags, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<SshPrivateKey | undefined> {
  const given: SigningKeySettings = { signKeyFile: flags.signKeyFile, signingKey: flags.signingKey, source: flags.signingKeySource };
  if (flags.signingKey !== undefined || flags.signKeyFile !== undefined || !file?.signing) return resolveSigningKey(given, reporter);
  const s = file.signing;
  if (s.keyEnv !== undefined) {
    const text = secretFromEnv(s.keyEnv, env, file.where(['signing', 'key-env']), 'the OpenSSH signing key (strongbox keygen --signing)', reporter);
    return resolveSigningKey({ signingKey: text, source: `$${s.keyEnv} (signing.key-env)` }, reporter);
  }
  return resolveSigningKey({ signKeyFile: s.keyFile }, reporter);
}

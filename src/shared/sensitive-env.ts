/**
 * Environment variables a child process (pg_dump, psql, pg_restore, zstd, git) must not
 * inherit: every action input (`INPUT_*`: identities, passphrases, signing keys) and each
 * variable Strongbox read a secret from (`--passphrase-env`, `--postgres-env`,
 * `--postgres-target-env`), which src/config registers when it reads one. A child that is
 * compromised, or that logs its environment, then holds only what it needs.
 */
const names = new Set<string>(['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

/** The tools need these to connect, so they pass even when a secret was read from them. */
const NEEDED = new Set(['PGPASSWORD', 'PGPASSFILE']);

export const sensitiveEnv = {
  add(name: string): void {
    names.add(name);
  },
};

/** A copy of `base` without the variables above, for a child's `env`. */
export function childEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (NEEDED.has(k) || !(k.toUpperCase().startsWith('INPUT_') || names.has(k))) env[k] = v;
  }
  return env;
}

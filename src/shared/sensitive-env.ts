/**
 * Environment variables a child process (pg_dump, psql, pg_restore, zstd, git) must not
 * inherit: the action inputs (identities, passphrases, signing keys; the action edge registers
 * their prefix) and each variable Strongbox read a secret from (`--passphrase-env`,
 * `--postgres-env`, `--postgres-target-env`), which src/config registers when it reads one. A
 * child that is compromised, or that logs its environment, then holds only what it needs.
 */
// MYSQL_PWD: the MySQL adapter reads it and hands the password over in an option file, so no
// child (not even a mysql one) needs it.
const names = new Set<string>(['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'MYSQL_PWD']);
const prefixes = new Set<string>();

/** The PostgreSQL tools need these to connect, so they pass even when a secret was read from them (the MySQL adapter removes them for its children). */
const NEEDED = new Set(['PGPASSWORD', 'PGPASSFILE']);

export const sensitiveEnv = {
  add(name: string): void {
    names.add(name);
  },
  addPrefix(prefix: string): void {
    prefixes.add(prefix.toUpperCase());
  },
};

/** A copy of `base` without the variables above, for a child's `env`. */
export function childEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    const hidden = names.has(k) || [...prefixes].some((p) => k.toUpperCase().startsWith(p));
    if (NEEDED.has(k) || !hidden) env[k] = v;
  }
  return env;
}

import { UsageError } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import { sensitiveEnv } from '../shared/sensitive-env.js';
import { ENV_NAME } from './schema.js';

/**
 * Reads a secret from the environment variable a config key names (`postgres-env: NAME`), so
 * the file holds names only. The variable is kept from every child and its value masked
 * before anything can print it; an unset or empty one is refused naming the key.
 */
/** Without a reporter the value is not masked here: the caller checks it first (a short passphrase), then masks it. */
export function secretFromEnv(name: string, env: NodeJS.ProcessEnv, where: string, what: string, reporter: Reporter | undefined): string {
  if (!ENV_NAME.test(name)) throw new UsageError(`${where}: not an environment variable name`);
  sensitiveEnv.add(name);
  const v = env[name];
  if (v === undefined || v.trim() === '') {
    throw new UsageError(`${where}: environment variable ${name} is ${v === undefined ? 'unset' : 'empty'}`, `export ${what} in it (in Actions: env: { ${name}: \${{ secrets.${name} }} })`);
  }
  reporter?.setSecret(v);
  return v;
}

/** `--meta key=value` (repeatable) as a map; the last value of a key wins. */
export function parseMetaFlags(values: string[] | undefined, flag = '--meta'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    // Not repeated: a value pasted without its key may be anything, a secret too.
    if (eq <= 0) throw new UsageError(`a ${flag} value is not key=value (the value is not shown)`, `e.g. ${flag} release=v1.4.2`);
    out[v.slice(0, eq).trim()] = v.slice(eq + 1);
  }
  return out;
}

/** A list flag given on the command line replaces the file's list; an empty one was not given. */
export function given<T>(list: T[] | undefined): list is T[] {
  return list !== undefined && list.length > 0;
}

import { bucketSource } from './bucket.js';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseIdentityFile, validateRecipient, type DecryptOptions, type EncryptOptions } from '../codecs/age/index.js';
import { parseCompression, validateLevel } from '../codecs/compress.js';
import { parsePrivateKey, parsePublicKey, type SshPrivateKey, type SshPublicKey } from '../codecs/ssh-signature/index.js';
import type { BackupOptions, SourceSpec } from '../core/backup.js';
import { validateLabels } from '../core/backup.js';
import { parseDuration } from '../core/duration.js';
import { validateMetadata } from '../core/metadata.js';
import { UsageError } from '../shared/errors.js';
import type { LockSettings } from '../core/locking.js';
import { validatePolicy, type RetentionPolicy } from '../core/retention.js';
import type { Reporter } from '../shared/reporter.js';
import { sensitiveEnv } from '../shared/sensitive-env.js';
import type { Origin } from '../core/types.js';
import { openDestination } from '../destinations/index.js';
import type { Destination } from '../destinations/types.js';
import { printable } from '../shared/text.js';
import { findSourceAdapter } from '../sources/index.js';
import { scopeFromOptions } from '../sources/postgres/scope.js';
import type { RowCountMode, SourceOptions } from '../sources/adapter.js';
import { resolve as resolvePath } from 'node:path';

/**
 * Turns the user's strings — CLI flags or action inputs, which share names — into the typed,
 * validated configuration the core takes. Both edges call these, so a rule such as "an empty
 * recipient is fatal" is written once. Secrets are registered with the reporter first.
 */
export interface StorageSettings {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  preset?: string;
}

/**
 * Opens every location of `flag` (`--to`, `--from`; the storage flags fill what an S3 location
 * leaves unset) and masks the credentials each holds before anything can print them. The same
 * location twice (same folder, or same bucket and prefix at the same endpoint) is refused: its
 * objects would be written twice at once.
 */
export function openDestinations(urls: string[], storage: StorageSettings, flag: string, reporter: Reporter, env: NodeJS.ProcessEnv = process.env): Destination[] {
  const list = urls.map((u) => u.trim());
  if (list.length === 0) throw new UsageError(`${flag} is required`, 'a local path, file://PATH or s3://bucket/prefix');
  for (const u of list) if (!u) throw new UsageError(`${flag} is empty`, 'an unset variable or secret? give a path or s3://bucket/prefix');
  const dests = list.map((u) => {
    const dest = openDestination(u, storage, env);
    for (const secret of dest.secrets ?? []) reporter.setSecret(secret);
    return dest;
  });
  const seen = new Set<string>();
  for (const d of dests) {
    if (seen.has(d.display)) throw new UsageError(`${flag} names ${d.display} twice`, 'give each destination once; the same bucket and prefix at two different endpoints are two destinations');
    seen.add(d.display);
  }
  return dests;
}

export interface KeySettings {
  recipients: string[];
  /** The passphrase itself (already read from the named environment variable or input). */
  passphrase?: string;
  passphraseSource?: string;
  unencrypted?: boolean;
}

/** Shorter passphrases are refused for new backups (a short one is guessable, and masking it hides ordinary words). */
export const MIN_PASSPHRASE_LENGTH = 16;

export function resolveEncryption(k: KeySettings, reporter: Reporter): EncryptOptions | undefined {
  if (k.recipients.some((r) => r.trim() === '')) {
    throw new UsageError('a recipient is empty', 'an unset repository secret expands to ""; set it to an age1… public key. No plaintext backup is made.');
  }
  // Whitespace only counts as empty (the encryption stage would refuse it later, mid-run).
  if (k.passphrase !== undefined && k.passphrase.trim() === '') {
    throw new UsageError(
      `the passphrase${k.passphraseSource ? ` in ${k.passphraseSource}` : ''} is empty${k.passphrase ? ' (only whitespace)' : ''}`,
      'an unset secret expands to ""; no plaintext backup is made',
    );
  }
  // Only new backups: restoring or verifying an older one made with a shorter passphrase works.
  if (k.passphrase !== undefined && [...k.passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new UsageError(
      `the passphrase${k.passphraseSource ? ` in ${k.passphraseSource}` : ''} is ${[...k.passphrase].length} characters long; new backups need at least ${MIN_PASSPHRASE_LENGTH}`,
      'a short passphrase can be guessed offline by anyone who can read the bucket. Better, encrypt to a public key: `strongbox keygen --output key.txt` prints the age1… recipient for --recipient (input recipient); or use a passphrase of 16+ characters (e.g. five random words)',
    );
  }
  // Registered only now: masking a short passphrase (a common word) would mangle the refusal above.
  if (k.passphrase !== undefined) reporter.setSecret(k.passphrase);
  const recipients = k.recipients.map((r) => r.trim());
  const hasKey = recipients.length > 0 || k.passphrase !== undefined;
  if (k.unencrypted) {
    if (hasKey) throw new UsageError('--unencrypted contradicts --recipient/--passphrase-env', 'drop one of them');
    reporter.warning('writing an UNENCRYPTED backup, as asked (--unencrypted)');
    return undefined;
  }
  if (!hasKey) {
    throw new UsageError('no encryption key given', 'pass --recipient age1… (or --passphrase-env NAME); use --unencrypted only if you really want plaintext backups');
  }
  if (recipients.length && k.passphrase !== undefined) {
    throw new UsageError('use either --recipient or --passphrase-env, not both', 'the age format does not mix passphrases with recipients');
  }
  for (const r of recipients) validateRecipient(r);
  return k.passphrase !== undefined ? { passphrase: k.passphrase } : { recipients };
}

export interface IdentitySettings {
  identityFile?: string;
  /** Identity text given directly (an action input fed from a secret). */
  identity?: string;
  passphrase?: string;
  passphraseSource?: string;
}

export async function resolveDecryption(k: IdentitySettings, reporter: Reporter): Promise<DecryptOptions | undefined> {
  // Before registering it as a secret: a whitespace-only one would mask every space of the message.
  if (k.passphrase !== undefined && k.passphrase.trim() === '') {
    throw new UsageError(`the passphrase${k.passphraseSource ? ` in ${k.passphraseSource}` : ''} is empty${k.passphrase ? ' (only whitespace)' : ''}`, 'set it to the passphrase the backup was made with');
  }
  if (k.identity !== undefined) reporter.setSecret(k.identity);
  if (k.passphrase !== undefined) reporter.setSecret(k.passphrase);
  const identities: string[] = [];
  if (k.identity !== undefined) {
    if (k.identity.trim() === '') throw new UsageError('the identity is empty', 'an unset secret expands to ""; set it to the AGE-SECRET-KEY-1… line');
    identities.push(...parseIdentityFile(k.identity));
  }
  if (k.identityFile !== undefined) {
    if (k.identityFile.trim() === '') throw new UsageError('--identity-file is empty');
    let text: string;
    try {
      text = await readFile(k.identityFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : ((err as Error).message ?? String(err));
      throw new UsageError(`cannot read identity file ${printable(k.identityFile)}: ${why}`, 'check the path (the file keygen wrote, holding an AGE-SECRET-KEY-1… line) and that this user can read it');
    }
    for (const line of text.split('\n')) if (line.trim()) reporter.setSecret(line.trim());
    await warnIfShared(k.identityFile, 'identity file', reporter);
    identities.push(...parseIdentityFile(text));
  }
  if (k.passphrase !== undefined) {
    return { passphrase: k.passphrase };
  }
  return identities.length ? { identities } : undefined;
}

/** A private key others on the machine can read is as good as theirs: say so, naming the file. */
async function warnIfShared(file: string, what: string, reporter: Reporter): Promise<void> {
  const mode = (await stat(file).catch(() => undefined))?.mode;
  if (mode === undefined || (mode & 0o077) === 0) return;
  reporter.warning(
    `${what} ${printable(file)} is readable by ${mode & 0o007 ? 'others' : 'its group'} (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 ${printable(file)}`,
  );
}

export interface SigningKeySettings {
  /** --sign-key FILE */
  signKeyFile?: string;
  /** The key text given directly (action input signing-key, from a secret). */
  signingKey?: string;
  source?: string;
}

/** The Ed25519 signing key for manifests; masked (every line) before anything can print it. */
export async function resolveSigningKey(k: SigningKeySettings, reporter: Reporter): Promise<SshPrivateKey | undefined> {
  let text: string;
  let where: string;
  if (k.signingKey !== undefined) {
    text = k.signingKey;
    where = k.source ?? 'the signing key';
  } else if (k.signKeyFile !== undefined) {
    if (k.signKeyFile.trim() === '') throw new UsageError('--sign-key is empty');
    where = `signing key file ${printable(k.signKeyFile)}`;
    try {
      text = await readFile(k.signKeyFile, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? err}`, 'create one with: strongbox keygen --signing --output FILE');
    }
  } else return undefined;
  reporter.setSecret(text.trim());
  for (const line of text.split('\n')) if (line.trim() && !line.startsWith('-----')) reporter.setSecret(line.trim());
  if (text.trim() === '') throw new UsageError(`${where} is empty`, 'an unset secret expands to ""; set it to the OpenSSH private key made by strongbox keygen --signing');
  if (k.signKeyFile !== undefined && k.signingKey === undefined) await warnIfShared(k.signKeyFile, 'signing key file', reporter);
  try {
    return parsePrivateKey(text);
  } catch (err) {
    throw new UsageError(`${where} is not a usable signing key: ${(err as Error).message}`, 'use the private key (not the .pub) made by strongbox keygen --signing, or an unencrypted ssh-ed25519 key');
  }
}

export interface TrustSettings {
  /** --trust FILE.pub (repeatable) */
  trustFiles?: string[];
  /** Public key lines given directly (action input trusted-keys). */
  trustedKeys?: string[];
}

/** The keys a backup's manifest must be signed by; undefined when none were named. */
export async function resolveTrust(s: TrustSettings): Promise<SshPublicKey[] | undefined> {
  const keys: SshPublicKey[] = [];
  const add = (text: string, where: string) => {
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (!lines.length) throw new UsageError(`${where} holds no public key`, 'give the .pub file written by strongbox keygen --signing (a line "ssh-ed25519 AAAA…"), or an allowed_signers file');
    lines.forEach((line, i) => {
      try {
        keys.push(parsePublicKey(line));
      } catch (err) {
        throw new UsageError(`${where}${lines.length > 1 ? ` (key ${i + 1})` : ''}: ${(err as Error).message}`, 'give the .pub file written by strongbox keygen --signing, or an allowed_signers file (lines "principal ssh-ed25519 AAAA…")');
      }
    });
  };
  for (const file of s.trustFiles ?? []) {
    if (file.trim() === '') throw new UsageError('--trust is empty', 'an unset variable? give a FILE.pub');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read trusted key file ${printable(file)}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    add(text, `trusted key file ${printable(file)}`);
  }
  // One text, as a file is: a comment or blank line is no key, but an input without any key is an error.
  if (s.trustedKeys?.length) add(s.trustedKeys.join('\n'), 'trusted-keys');
  return keys.length ? keys : undefined;
}

/** Reads the passphrase from the environment variable the user named. */
export function passphraseFromEnv(name: string | undefined, env: NodeJS.ProcessEnv): { passphrase?: string; passphraseSource?: string } {
  if (name === undefined) return {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--passphrase-env "${name}" is not an environment variable name`);
  sensitiveEnv.add(name);
  const v = env[name];
  if (v === undefined || v === '') {
    throw new UsageError(`environment variable ${name} (--passphrase-env) is ${v === undefined ? 'unset' : 'empty'}`, 'export the passphrase in it; no plaintext backup is made');
  }
  return { passphrase: v, passphraseSource: `$${name}` };
}

/**
 * Reads database URLs from the environment variables the user named (`--postgres-env NAME`),
 * so no password appears in any process's argv, where every user of the machine can read it.
 */
export function urlsFromEnv(names: string[], env: NodeJS.ProcessEnv, flag: string): string[] {
  return names.map((name) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`${flag} "${name}" is not an environment variable name`);
    sensitiveEnv.add(name);
    const v = env[name];
    if (v === undefined || v.trim() === '') {
      throw new UsageError(`environment variable ${name} (${flag}) is ${v === undefined ? 'unset' : 'empty'}`, `export the database URL in it, e.g. ${name}=${flag.startsWith('--mysql') ? 'mysql' : 'postgres'}://user:password@host/db`);
    }
    return v.trim();
  });
}

/** A password typed into argv is readable by every user of the machine (`ps`, /proc/<pid>/cmdline). */
export function warnPasswordInArgv(url: string, flag: string, envFlag: string, reporter: Reporter, kind = 'postgres'): void {
  const adapter = findSourceAdapter(kind);
  if (!adapter?.locationSecrets?.(url).length) return;
  reporter.warning(
    `the ${flag} URL holds a password, which other users of this machine can read in the process list (ps): ` +
      `put the URL in an environment variable and pass ${envFlag} NAME, or leave the password out of the URL and use ${adapter.credentialsHint ?? 'the client\'s own credentials file'}`,
  );
}

export interface BackupSettings extends KeySettings, StorageSettings {
  to: string[];
  /** Where `credentials=NAME` variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  postgres: string[];
  /** MySQL/MariaDB URLs (`--mysql`); SQLite files (`--sqlite`). */
  mysql?: string[];
  sqlite?: string[];
  files: string[];
  exclude: string[];
  /** --files trees as collections (`--incremental`), and what says a file is unchanged (`--compare`). */
  incremental?: boolean;
  compare?: string;
  bucket?: string[];
  /** bucket: non-current versions too (`--all-versions`). */
  allVersions?: boolean;
  /** PostgreSQL sources: what part to dump, as whom, which client. */
  postgresOptions?: PostgresBackupSettings;
  /** Every database source: exact (default), estimate or none (`--row-counts`). */
  rowCounts?: string;
  labels: string[];
  compression?: string;
  level?: string;
  confirm?: string;
  deployedSha?: string;
  deployedRef?: string;
  /** Sources already built, each with its own options (from the config file), after the lists above. */
  sourceSpecs?: SourceSpec[];
  /** Stored in the manifest (`metadata:` / `--meta`). */
  metadata?: Record<string, string>;
}

/** The PostgreSQL source options as the edges give them (before they are checked). */
export type PostgresBackupSettings = Pick<SourceOptions, 'schemas' | 'excludeSchemas' | 'tables' | 'excludeTables' | 'excludeTableData' | 'rowSecurity' | 'pgBin'>;

/** `--row-counts` / input row-counts: how every database source counts its rows into the manifest. */
export function resolveRowCounts(value: string | undefined): RowCountMode {
  const mode = value?.trim() || 'exact';
  if (mode !== 'exact' && mode !== 'estimate' && mode !== 'none') throw new UsageError(`--row-counts "${value}" must be exact, estimate or none`);
  return mode;
}

/** The PostgreSQL settings as SourceSpec options, checked (empty or flag-like patterns fail here). */
export function resolvePostgresOptions(s: PostgresBackupSettings = {}, rowCounts: RowCountMode = 'exact'): SourceOptions {
  const options: SourceOptions = {
    ...scopeFromOptions({
      schemas: s.schemas ?? [],
      excludeSchemas: s.excludeSchemas ?? [],
      tables: s.tables ?? [],
      excludeTables: s.excludeTables ?? [],
      excludeTableData: s.excludeTableData ?? [],
    }),
    rowCounts,
  };
  if (s.rowSecurity) options.rowSecurity = true;
  const pgBin = s.pgBin?.trim();
  if (pgBin) options.pgBin = resolvePgBin(pgBin).pgBin!;
  return options;
}

/** `--pg-bin DIR` / input pg-bin for restore and rollback: an absolute folder, or nothing. */
export function resolvePgBin(dir: string | undefined): { pgBin?: string } {
  const d = dir?.trim();
  return d ? { pgBin: resolvePath(d) } : {};
}

/** `--compare` (metadata or checksum), refused otherwise. */
export function resolveCompare(value: string | undefined): 'metadata' | 'checksum' | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  // `size,etag` is the bucket spelling of metadata (what says an object is unchanged).
  if (v.replace(/\s+/g, '') === 'size,etag') return 'metadata';
  if (v !== 'metadata' && v !== 'checksum') throw new UsageError(`--compare "${v}" must be metadata (size,etag for buckets) or checksum`, 'metadata (size, times, inode; for objects size and ETag) is the default; checksum reads everything');
  return v;
}

/** The collection options of a files source: --incremental, and --compare (which needs it). */
export function filesCollectionOptions(incremental: boolean | undefined, compare: string | undefined, bucketsToo = false): Pick<SourceOptions, 'incremental' | 'compare'> {
  const c = resolveCompare(compare);
  if (c && !incremental && !bucketsToo) throw new UsageError('--compare applies to incremental file trees only', 'add --incremental (or incremental: true on the files source)');
  return { ...(incremental ? { incremental: true } : {}), ...(c && incremental ? { compare: c } : {}) };
}

export function resolveBackup(s: BackupSettings, reporter: Reporter, origin: Origin): BackupOptions {
  for (const url of s.postgres) maskLocation('postgres', url, reporter);
  for (const url of s.mysql ?? []) maskLocation('mysql', url, reporter);
  // Validate everything before touching a destination: a typo fails fast, nothing is written.
  const encryption = resolveEncryption(s, reporter);
  const algorithm = parseCompression(s.compression?.trim() || 'zstd');
  const level = s.level?.trim() ? Number(s.level) : undefined;
  if (level !== undefined && !Number.isInteger(level)) throw new UsageError(`--level "${s.level}" is not a whole number`);
  validateLevel(algorithm, level);
  validateLabels(s.labels);
  const rowCounts = resolveRowCounts(s.rowCounts);
  const postgresOptions = resolvePostgresOptions(s.postgresOptions, rowCounts);
  const sources: SourceSpec[] = [
    ...s.postgres.map((location): SourceSpec => ({ kind: 'postgres', location, options: postgresOptions })),
    ...(s.mysql ?? []).map((location): SourceSpec => ({ kind: 'mysql', location, options: { rowCounts } })),
    ...(s.sqlite ?? []).map((location): SourceSpec => ({ kind: 'sqlite', location, options: { rowCounts } })),
    ...s.files.map((location): SourceSpec => ({ kind: 'files', location, options: { exclude: s.exclude, ...filesCollectionOptions(s.incremental, s.compare, !!s.bucket?.length) } })),
    ...(s.bucket ?? []).map((location) => bucketSource(location, s, s.env ?? process.env, reporter, { allVersions: s.allVersions, compare: resolveCompare(s.compare) })),
    ...(s.sourceSpecs ?? []),
  ];
  if (sources.some((x) => x.location.trim() === '')) {
    throw new UsageError('a --postgres, --mysql, --sqlite, --files or --bucket value is empty', 'an unset variable or secret?');
  }
  if (s.deployedSha !== undefined && !/^[0-9a-f]{7,64}$/i.test(s.deployedSha.trim())) {
    throw new UsageError(`--deployed-sha "${s.deployedSha}" is not a git sha`);
  }
  if (s.deployedSha?.trim()) origin = { ...origin, deployedSha: s.deployedSha.trim().toLowerCase() };
  if (s.deployedRef?.trim()) origin = { ...origin, deployedRef: s.deployedRef.trim() };
  const confirm = s.confirm?.trim() || 'hash';
  if (confirm !== 'hash' && confirm !== 'size') throw new UsageError(`--confirm-upload "${confirm}" must be hash or size`);
  if (s.metadata) validateMetadata(s.metadata);
  return {
    destinations: openDestinations(s.to, s, '--to', reporter, s.env),
    sources,
    encryption,
    compression: { algorithm, level },
    labels: s.labels,
    origin,
    confirm,
    reporter,
    ...(s.metadata && Object.keys(s.metadata).length ? { metadata: s.metadata } : {}),
  };
}

/** Every secret a source location (a database URL) carries; none for a path. */
export function locationSecrets(kind: string, location: string): string[] {
  return findSourceAdapter(kind)?.locationSecrets?.(location) ?? [];
}

/** Masks every secret a source location carries, before anything is printed. */
export function maskLocation(kind: string, location: string, reporter: Reporter): void {
  for (const secret of locationSecrets(kind, location)) reporter.setSecret(secret);
}


/** Where a backup ran, from the GitHub Actions environment when there is one. */
export function originFromEnv(env: NodeJS.ProcessEnv): Origin {
  const o: Origin = { host: hostname() };
  const map: [keyof Origin, string][] = [
    ['repository', 'GITHUB_REPOSITORY'],
    ['workflow', 'GITHUB_WORKFLOW'],
    ['runId', 'GITHUB_RUN_ID'],
    ['runAttempt', 'GITHUB_RUN_ATTEMPT'],
    ['sha', 'GITHUB_SHA'],
    ['ref', 'GITHUB_REF'],
    ['actor', 'GITHUB_ACTOR'],
    ['eventName', 'GITHUB_EVENT_NAME'],
  ];
  for (const [k, v] of map) if (env[v]) o[k] = env[v]!;
  return o;
}

export interface RetentionSettings {
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  keepLabels?: string[];
}

/** A retention policy from flags/inputs; undefined when none was given (no prune wanted). */
export function resolvePolicy(s: RetentionSettings): RetentionPolicy | undefined {
  const count = (v: string | undefined, flag: string): number | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag} "${v}" is not a whole number of 0 or more`);
    return n;
  };
  const p: RetentionPolicy = {
    keepLast: count(s.keepLast, '--keep-last'),
    keepHourly: count(s.keepHourly, '--keep-hourly'),
    keepDaily: count(s.keepDaily, '--keep-daily'),
    keepWeekly: count(s.keepWeekly, '--keep-weekly'),
    keepMonthly: count(s.keepMonthly, '--keep-monthly'),
    keepYearly: count(s.keepYearly, '--keep-yearly'),
    keepWithinMs: s.keepWithin?.trim() ? parseDuration(s.keepWithin, '--keep-within') : undefined,
    keepLabels: s.keepLabels?.length ? s.keepLabels : undefined,
  };
  const given = Object.values(p).some((v) => v !== undefined);
  if (!given) return undefined;
  validatePolicy(p);
  return p;
}

/** `--db-lock-timeout` (input db-lock-timeout): how long to wait for a table lock held elsewhere; default 5 min. */
export function resolveDbLockTimeout(value: string | undefined): number | undefined {
  if (!value?.trim()) return undefined;
  const ms = parseDuration(value, '--db-lock-timeout');
  // PostgreSQL takes lock_timeout in ms up to 2^31-1 (~24.8 days), and 0 means "wait forever".
  if (ms < 1_000 || ms > MAX_DB_LOCK_TIMEOUT_MS) {
    throw new UsageError(
      `--db-lock-timeout "${value}" is out of range: it must be from 1s to 24d20h (PostgreSQL's maximum, ${MAX_DB_LOCK_TIMEOUT_MS} ms)`,
      'PostgreSQL would treat 0 as "wait forever" and refuse anything longer; the default is 5m',
    );
  }
  return ms;
}

/** PostgreSQL's largest lock_timeout/statement_timeout, in milliseconds (INT_MAX). */
export const MAX_DB_LOCK_TIMEOUT_MS = 2_147_483_647;

export function resolveLock(s: { lockWait?: string; lockStale?: string }, env: NodeJS.ProcessEnv): LockSettings {
  return {
    waitMs: s.lockWait?.trim() ? parseDuration(s.lockWait, '--lock-wait') : undefined,
    staleMs: s.lockStale?.trim() ? parseDuration(s.lockStale, '--lock-stale', { minMs: 60_000 }) : undefined,
    runId: env.GITHUB_RUN_ID,
  };
}

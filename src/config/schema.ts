// zod/mini: the same validator with a functional API that bundles to ~30 KB (classic zod: ~740 KB).
import * as z from 'zod/mini';
import { validateRecipient } from '../codecs/age/index.js';
import { parseCompression, validateLevel } from '../codecs/compress.js';
import { validateLabels } from '../core/backup.js';
import { parseDuration } from '../core/duration.js';
import { MAX_METADATA_ENTRIES, MAX_METADATA_VALUE_BYTES, METADATA_KEY, looksSecret } from '../core/metadata.js';
import { GROUP_BY } from '../core/series.js';
import { openDestination } from '../destinations/index.js';
import { parseS3Url } from '../destinations/s3-location.js';
import { channelFactories, findChannelFactory } from '../notify/registry.js';
import { StrongboxError, UsageError } from '../shared/errors.js';
import { findSourceAdapter } from '../sources/index.js';
import { parseSize } from '../shared/size.js';
import { parsePercent } from './percent.js';

/**
 * The schema of `strongbox.yml` (COMMON.md, issue 7 §2). zod checks the shape — types, and
 * unknown keys, which are errors rather than silently ignored — and each leaf with the same
 * parser the flags use (durations, recipients, labels, location URLs), so a value that the
 * command line would refuse is refused here too, with the file's line. Rules that span keys
 * (one kind key per source, one encryption choice) are in `crossChecks`, which also runs when
 * the shape has problems, so one run reports everything it can.
 */

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const META_KEY = METADATA_KEY;
const MAX_METADATA = MAX_METADATA_ENTRIES;
const MAX_METADATA_VALUE = MAX_METADATA_VALUE_BYTES;

export const SOURCE_KINDS = ['postgres', 'postgres-env', 'mysql', 'mysql-env', 'sqlite', 'files', 'bucket'] as const;
export const POSTGRES_OPTIONS = ['schema', 'exclude-schema', 'table', 'exclude-table', 'exclude-table-data', 'row-security'] as const;
const DATABASE_OPTIONS = ['row-counts'] as const;
const FILES_OPTIONS = ['exclude', 'incremental', 'compare'] as const;
const BUCKET_OPTIONS = ['all-versions'] as const;
export const RETENTION_KEYS = ['keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly', 'keep-within', 'keep-label'] as const;

/** What each kind of source accepts besides its kind key. */
const OPTIONS_OF: Record<string, readonly string[]> = {
  postgres: [...POSTGRES_OPTIONS, ...DATABASE_OPTIONS],
  mysql: DATABASE_OPTIONS,
  sqlite: DATABASE_OPTIONS,
  files: FILES_OPTIONS,
  bucket: BUCKET_OPTIONS,
};
export const kindOf = (key: string): string => key.replace(/-env$/, '');

/** A refinement from one of the flags' parsers: its UsageError becomes an issue at this key. */
function via<T>(check: (v: T) => void) {
  return z.superRefine((v: T, ctx) => {
    try {
      check(v);
    } catch (err) {
      if (!(err instanceof StrongboxError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, params: { hint: err.hint } });
    }
  });
}

const text = z.string().check(z.trim(), z.minLength(1, { error: 'is empty' }));
const list = z.array(text);
const count = z.int().check(z.gte(0));
const envName = z.string().check(
  z.superRefine((v: string, ctx) => {
    // Never echoed: a value that is not a name may be the secret itself, pasted in.
    if (!ENV_NAME.test(v)) ctx.addIssue({ code: 'custom', message: 'is not an environment variable name (letters, digits and _, not starting with a digit); the value is not shown', params: { hint: 'write the NAME of the variable that holds the secret, e.g. DATABASE_URL' } });
  }),
);
// A bare number is accepted by the shape so that parseDuration can say which unit is missing.
const duration = (key: string, limits = {}) => z.pipe(z.union([z.string(), z.number()]), z.transform(String)).check(via((v: string) => void parseDuration(v, key, limits)));
const location = text.check(via((v: string) => void openDestination(v, {}, syntaxOnlyEnv(v))));

/**
 * The environment a location is checked with when the file is read: its syntax and settings
 * only. The `credentials=NAME` variables are read when a command opens the location, so
 * `config check` works where the secrets are not (it says whether each is set).
 */
export function syntaxOnlyEnv(v: string): Record<string, string> {
  if (!/^s3:\/\//i.test(v.trim())) return {};
  const name = parseS3Url(v.trim()).settings.credentials;
  return name ? { [`${name}_ACCESS_KEY_ID`]: 'not-read-yet', [`${name}_SECRET_ACCESS_KEY`]: 'not-read-yet' } : {};
}
const label = text.check(via((v: string) => validateLabels([v])));
const recipient = z.string().check(via((v: string) => validateRecipient(v)));

const pattern = list;
export const sourceSchema = z.strictObject({
  postgres: z.optional(text),
  'postgres-env': z.optional(envName),
  mysql: z.optional(text),
  'mysql-env': z.optional(envName),
  sqlite: z.optional(text),
  files: z.optional(text),
  bucket: z.optional(text),
  'all-versions': z.optional(z.boolean()),
  schema: z.optional(pattern),
  'exclude-schema': z.optional(pattern),
  table: z.optional(pattern),
  'exclude-table': z.optional(pattern),
  'exclude-table-data': z.optional(pattern),
  'row-security': z.optional(z.boolean()),
  'row-counts': z.optional(z.enum(['exact', 'estimate', 'none'])),
  exclude: z.optional(pattern),
  incremental: z.optional(z.boolean()),
  compare: z.optional(z.enum(['metadata', 'checksum'])),
});

export const retentionSchema = z.strictObject({
  'keep-last': z.optional(count),
  'keep-hourly': z.optional(count),
  'keep-daily': z.optional(count),
  'keep-weekly': z.optional(count),
  'keep-monthly': z.optional(count),
  'keep-yearly': z.optional(count),
  'keep-within': z.optional(duration('keep-within')),
  'keep-label': z.optional(z.array(label)),
});

export const destinationSchema = z.strictObject({
  url: location,
  name: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'must be a short name: letters, digits, ".", "_" and "-" (up to 64)' }))),
  retention: z.optional(retentionSchema),
  quota: z.optional(z.union([z.string(), z.number()]).check(via((v: string | number) => void parseSize(v, 'quota')))),
});

/**
 * A notification channel in the file. Webhook, Slack and healthcheck URLs are credentials
 * (whoever has one can post or ping), so the file only names their variable (`url-env:`); a
 * mail URL holds no secret (its password comes from SMTP_PASSWORD or password-env=), so
 * `url:` may give it literally.
 */
export const notifyChannelSchema = z.strictObject({
  url: z.optional(
    text.check(
      via((v: string) => {
        let scheme: string;
        try {
          scheme = new URL(v.trim()).protocol.replace(/:$/, '');
        } catch {
          throw new UsageError('is not a URL (the value is not shown)', 'e.g. smtp://user@mail.example.com:587?from=…&to=…, or url-env: NAME for a webhook');
        }
        const factory = findChannelFactory(scheme);
        if (!factory) throw new UsageError(`"${scheme}://" is not a notification channel`, `give one of: ${channelFactories.map((f) => f.form).join('; ')}`);
        if (factory.urlIsSecret) throw new UsageError(`a ${factory.channel} URL is a credential and never goes in the file (the value is not shown)`, 'put it in an environment variable and name it: url-env: NAME (in Actions, from a secret)');
      }),
    ),
  ),
  'url-env': z.optional(envName),
});

const percent = (key: string, max?: number) => z.union([z.string(), z.number()]).check(via((v: string | number) => void parsePercent(v, key, max)));

/** Anomaly and quota alerts (the --alert-* and --quota-alert flags, --fail-on-alert). */
export const alertsSchema = z.strictObject({
  'size-change': z.optional(percent('size-change')),
  'duration-change': z.optional(percent('duration-change')),
  'rows-drop': z.optional(percent('rows-drop', 100)),
  quota: z.optional(percent('quota', 100)),
  fail: z.optional(z.boolean()),
});

export const configSchema = z.strictObject({
  version: z.optional(z.literal(1, { error: 'must be 1 (the only version this Strongbox knows)' })),
  sources: z.optional(z.array(sourceSchema)),
  destinations: z.optional(z.array(destinationSchema)),
  'copy-to': z.optional(z.array(destinationSchema)),
  encryption: z.optional(
    z.strictObject({
      recipients: z.optional(z.array(recipient)),
      'passphrase-env': z.optional(envName),
      unencrypted: z.optional(z.boolean()),
    }),
  ),
  signing: z.optional(z.strictObject({ 'key-file': z.optional(text), 'key-env': z.optional(envName) })),
  decryption: z.optional(z.strictObject({ 'identity-file': z.optional(text), 'identity-env': z.optional(envName), 'passphrase-env': z.optional(envName) })),
  trust: z.optional(list),
  labels: z.optional(z.array(label)),
  metadata: z.optional(z.record(z.string(), z.string({ error: 'must be a text value (quote numbers and dates: "1.4")' }))),
  compression: z.optional(z.string().check(via((v: string) => void parseCompression(v)))),
  level: z.optional(z.int()),
  'group-by': z.optional(z.enum(GROUP_BY)),
  'lock-wait': z.optional(duration('lock-wait')),
  'lock-stale': z.optional(duration('lock-stale', { minMs: 60_000 })),
  'db-lock-timeout': z.optional(duration('db-lock-timeout')),
  'state-dir': z.optional(text),
  'content-key-env': z.optional(envName),
  notify: z.optional(z.array(notifyChannelSchema)),
  'notify-on': z.optional(z.enum(['failure', 'always'])),
  'notify-secret-env': z.optional(envName),
  'notify-timeout': z.optional(duration('notify-timeout', { minMs: 1_000, maxMs: 300_000 })),
  'healthcheck-env': z.optional(envName),
  alerts: z.optional(alertsSchema),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawSource = z.infer<typeof sourceSchema>;
export type RawDestination = z.infer<typeof destinationSchema>;

/** The keys each mapping allows, by its path pattern; for "did you mean" on an unknown key. */
export function knownKeys(path: readonly (string | number)[]): readonly string[] {
  const shapeOf = (s: z.ZodMiniType): string[] => Object.keys((s._zod.def as { shape?: object }).shape ?? {});
  const p = path.map((x) => (typeof x === 'number' ? '[]' : x)).join('.');
  if (p === '') return shapeOf(configSchema);
  if (p === 'sources.[]') return shapeOf(sourceSchema);
  if (p === 'destinations.[]' || p === 'copy-to.[]') return shapeOf(destinationSchema);
  if (p === 'notify.[]') return shapeOf(notifyChannelSchema);
  if (p.endsWith('.[].retention')) return shapeOf(retentionSchema);
  const top = configSchema.shape[p as keyof typeof configSchema.shape];
  const inner = (top?._zod.def as { innerType?: z.ZodMiniType } | undefined)?.innerType;
  return inner ? shapeOf(inner) : [];
}

export interface Issue {
  path: (string | number)[];
  message: string;
  hint?: string;
  /** Point at the key itself (an unknown or misplaced key), not at its value. */
  atKey?: boolean;
  /** "Nothing given here": dropped when the mapping has an unknown key, the typo that explains it. */
  missing?: boolean;
}

/**
 * Keys that would hold a secret in plain text, and where it belongs instead. They are refused
 * wherever they appear, before anything else looks at their value (which is never repeated).
 */
const LITERAL_SECRET_KEYS: Record<string, string> = {
  passphrase: 'name the environment variable that holds it: passphrase-env: NAME',
  password: 'put the whole URL in an environment variable and name it (postgres-env: NAME / mysql-env: NAME), or use PGPASSWORD, ~/.pgpass or MYSQL_PWD',
  identity: 'use identity-file: PATH or identity-env: NAME',
  key: 'use key-file: PATH or key-env: NAME',
  'signing-key': 'use signing: { key-file: PATH } or signing: { key-env: NAME }',
  'private-key': 'use signing: { key-file: PATH } or signing: { key-env: NAME }',
  secret: 'name the environment variable that holds it (…-env: NAME)',
  token: 'name the environment variable that holds it (…-env: NAME)',
  'access-key-id': 'add credentials=NAME to the s3:// URL; NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY are read from the environment',
  'secret-access-key': 'add credentials=NAME to the s3:// URL; NAME_ACCESS_KEY_ID and NAME_SECRET_ACCESS_KEY are read from the environment',
};

const PRIVATE_TEXT = [/AGE-SECRET-KEY-/i, /-----BEGIN/];

/**
 * Literal secrets anywhere in the document: a secret-named key, a private key's text in any
 * value, a database URL with a password. Returned first, so no later message (a type error,
 * an unknown key) can quote the value.
 */
export function literalSecrets(data: unknown): Issue[] {
  const found: Issue[] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (typeof v === 'string') {
      if (PRIVATE_TEXT.some((re) => re.test(v))) {
        found.push({ path, message: 'holds a private key (AGE-SECRET-KEY-… or -----BEGIN …); secrets never go in the file, and the value is not shown', hint: 'keep it in a file (identity-file, key-file) or an environment variable (identity-env, key-env, passphrase-env), and rotate the key if this file was shared' });
        return;
      }
      const key = path[path.length - 1];
      if ((key === 'postgres' || key === 'mysql') && path[0] === 'sources' && (findSourceAdapter(key)?.locationSecrets?.(v).length ?? 0) > 0) {
        found.push({ path, message: `the ${key} URL holds a password; secrets never go in the file, and the value is not shown`, hint: `put the URL in an environment variable and name it: ${key}-env: NAME (or leave the password out and use ${findSourceAdapter(key)?.credentialsHint ?? "the client's credentials file"})` });
      }
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const where = LITERAL_SECRET_KEYS[k];
        if (where && x !== undefined && x !== null) found.push({ path: [...path, k], message: `"${k}" would hold a secret in plain text; the file takes only the name of an environment variable (or a file path), and the value is not shown`, hint: where, atKey: true });
        else walk(x, [...path, k]);
      }
    }
  };
  walk(data, []);
  return found;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Rules across keys, on the raw data (so they run even where the types are wrong). */
export function crossChecks(data: unknown): Issue[] {
  const out: Issue[] = [];
  if (!isObj(data)) return out;
  if (Array.isArray(data.sources)) {
    data.sources.forEach((s, i) => {
      if (!isObj(s)) return;
      // In the order written, so the second kind key is the one pointed at.
      const kinds = Object.keys(s).filter((k) => (SOURCE_KINDS as readonly string[]).includes(k));
      if (kinds.length === 0) {
        out.push({ path: ['sources', i], missing: true, message: `names no source: give exactly one of ${SOURCE_KINDS.join(', ')}`, hint: 'e.g. "- postgres-env: DATABASE_URL" or "- files: /srv/media"' });
        return;
      }
      if (kinds.length > 1) {
        out.push({ path: ['sources', i, kinds[1]!], atKey: true, message: `a source has exactly one kind key, this one has ${kinds.join(' and ')}`, hint: 'start a new list item ("- ") for each source' });
        return;
      }
      const kind = kindOf(kinds[0]!);
      for (const k of Object.keys(s)) {
        if ((SOURCE_KINDS as readonly string[]).includes(k) || !(Object.values(OPTIONS_OF).some((o) => o.includes(k)))) continue;
        if (!OPTIONS_OF[kind]!.includes(k)) {
          const owners = Object.entries(OPTIONS_OF).filter(([, o]) => o.includes(k)).map(([x]) => x);
          out.push({ path: ['sources', i, k], atKey: true, message: `applies to ${owners.join('/')} sources, not to a ${kind} source` });
        }
      }
    });
  }
  const dests = [...(Array.isArray(data.destinations) ? data.destinations.map((d, i) => ['destinations', i, d] as const) : []), ...(Array.isArray(data['copy-to']) ? data['copy-to'].map((d, i) => ['copy-to', i, d] as const) : [])];
  const names = new Map<string, string>();
  const urls = new Map<string, string>();
  for (const [list, i, d] of dests) {
    if (!isObj(d)) continue;
    if (typeof d.name === 'string') {
      const prev = names.get(d.name);
      if (prev) out.push({ path: [list, i, 'name'], message: `"${d.name}" is already the name of ${prev}`, hint: 'give each location its own name' });
      else names.set(d.name, `${list}[${i}]`);
    }
    if (typeof d.url === 'string') {
      const prev = urls.get(d.url.trim());
      if (prev) out.push({ path: [list, i, 'url'], message: `the same location as ${prev}`, hint: 'list each location once (a copy-to tier must differ from every destination)' });
      else urls.set(d.url.trim(), `${list}[${i}]`);
    }
    if (isObj(d.retention) && Object.values(d.retention).every((v) => v === 0 || (Array.isArray(v) && v.length === 0))) out.push({ path: [list, i, 'retention'], message: 'is empty: it names no backups to keep', hint: 'give at least one keep-* rule, e.g. { keep-daily: 7 }, or leave retention out (then this location is never pruned)' });
  }
  if (Array.isArray(data.notify)) {
    data.notify.forEach((c, i) => {
      if (!isObj(c)) return;
      const chosen = ['url', 'url-env'].filter((k) => k in c);
      if (chosen.length !== 1) out.push({ path: ['notify', i], missing: chosen.length === 0, message: chosen.length ? 'give url or url-env, not both' : 'names no channel: give url-env: NAME (or url: for an smtp:// URL)' });
    });
  }
  if (isObj(data.encryption)) {
    const e = data.encryption;
    const chosen = ['recipients', 'passphrase-env', 'unencrypted'].filter((k) => k in e && !(k === 'unencrypted' && e[k] === false));
    if (chosen.length > 1) out.push({ path: ['encryption', chosen[1]!], atKey: true, message: `contradicts ${chosen[0]}: give one of recipients, passphrase-env or unencrypted: true`, hint: 'the age format does not mix passphrases with recipients' });
    // A literal `passphrase:` is refused on its own; "names no key" on top would only be noise.
    if (chosen.length === 0 && !Object.keys(e).some((k) => k in LITERAL_SECRET_KEYS)) out.push({ path: ['encryption'], missing: true, message: 'names no key: give recipients: [age1…], passphrase-env: NAME, or unencrypted: true' });
    if (Array.isArray(e.recipients) && e.recipients.length === 0) out.push({ path: ['encryption', 'recipients'], message: 'is an empty list' });
  }
  for (const [key, options] of [['signing', ['key-file', 'key-env']], ['decryption', ['identity-file', 'identity-env', 'passphrase-env']]] as const) {
    const o = data[key];
    if (!isObj(o)) continue;
    const chosen = options.filter((k) => k in o);
    if (chosen.length > 1 && !(key === 'decryption' && chosen.length === 2 && chosen.includes('identity-file') && chosen.includes('identity-env'))) {
      out.push({ path: [key, chosen[1]!], atKey: true, message: `contradicts ${chosen[0]}: give one of ${options.join(', ')}` });
    }
    if (chosen.length === 0 && !Object.keys(o).some((k) => k in LITERAL_SECRET_KEYS)) out.push({ path: [key], missing: true, message: `is empty: give one of ${options.join(', ')}` });
  }
  if (isObj(data.metadata)) {
    const entries = Object.entries(data.metadata);
    if (entries.length > MAX_METADATA) out.push({ path: ['metadata'], message: `has ${entries.length} entries; at most ${MAX_METADATA} are stored` });
    for (const [k, v] of entries) {
      if (!META_KEY.test(k)) out.push({ path: ['metadata', k], atKey: true, message: 'is not a metadata key: letters, digits, ".", "_" and "-", up to 64' });
      if (typeof v === 'string' && looksSecret(v)) out.push({ path: ['metadata', k], message: 'looks like it holds a secret (a URL with a password, a private key); the value is not shown, and metadata is stored unencrypted in every manifest' });
      else if (typeof v === 'string' && Buffer.byteLength(v) > MAX_METADATA_VALUE) out.push({ path: ['metadata', k], message: `is ${Buffer.byteLength(v)} bytes long; a metadata value is at most ${MAX_METADATA_VALUE}` });
    }
  }
  if (typeof data.level === 'number' && Number.isInteger(data.level)) {
    try {
      validateLevel(parseCompression(typeof data.compression === 'string' ? data.compression : 'zstd'), data.level);
    } catch (err) {
      if (err instanceof StrongboxError) out.push({ path: ['level'], message: err.message, hint: err.hint });
    }
  }
  return out;
}

/** zod's issues in our words (no value quoted: a misplaced one may be a secret). */
export function issueMessage(iss: z.core.$ZodRawIssue | z.core.$ZodIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      const expected = iss.expected as string;
      const noun: Record<string, string> = { string: 'a text value', number: 'a number', int: 'a whole number', boolean: 'true or false', array: 'a list', object: 'a mapping (key: value)', record: 'a mapping (key: value)' };
      const got = describe(iss.input);
      return `must be ${noun[expected] ?? expected}, not ${got}`;
    }
    case 'too_small':
      return iss.origin === 'number' ? `must be ${iss.minimum} or more` : iss.origin === 'string' ? 'is empty' : undefined;
    case 'invalid_union':
      return `must be a text value or a number, not ${describe(iss.input)}`;
    case 'invalid_value':
      return `must be one of ${(iss.values as unknown[]).map((v) => String(v)).join(', ')}`;
    default:
      return undefined;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'empty (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'a whole number' : 'a fraction';
  if (typeof v === 'boolean') return String(v);
  return typeof v === 'string' ? 'a text value' : typeof v;
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase().replace(/_/g, '-');
  let best: { key: string; d: number } | undefined;
  for (const c of known) {
    const d = editDistance(k, c);
    if (!best || d < best.d) best = { key: c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

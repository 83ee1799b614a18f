import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { parseDuration } from '../core/duration.js';
import type { RetentionPolicy } from '../core/retention.js';
import type { GroupBy } from '../core/series.js';
import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import type { SourceOptions } from '../sources/adapter.js';
import { configSchema, crossChecks, didYouMean, issueMessage, kindOf, knownKeys, literalSecrets, SOURCE_KINDS, type Issue, type RawConfig, type RawDestination, type RawSource } from './schema.js';
import { parseSize } from '../shared/size.js';

/** One source of the file, as SourceSpec will carry it (the URL itself is read later, from `env`). */
export interface ConfigSource {
  kind: 'postgres' | 'mysql' | 'sqlite' | 'files' | 'bucket';
  /** The location written in the file (a path, or a URL without a password). */
  location?: string;
  /** The environment variable holding the URL (`postgres-env: NAME`). */
  env?: string;
  options: SourceOptions;
  /** `FILE:LINE:COL: sources[i]`, for messages about it. */
  at: string;
}

/** A location of `destinations:` or `copy-to:`. */
export interface ConfigLocation {
  tier: 'destinations' | 'copy-to';
  /** As written, except a relative local path, made absolute against the file's folder. */
  url: string;
  name?: string;
  retention?: RetentionPolicy;
  quota?: { text: string; bytes: number };
  at: string;
}

export interface ConfigFile {
  path: string;
  /** undefined when the file has no `sources:` (then the flags must give them). */
  sources?: ConfigSource[];
  destinations: ConfigLocation[];
  copyTo: ConfigLocation[];
  encryption?: { recipients: string[]; passphraseEnv?: string; unencrypted: boolean };
  signing?: { keyFile?: string; keyEnv?: string };
  decryption?: { identityFile?: string; identityEnv?: string; passphraseEnv?: string };
  trust: string[];
  labels: string[];
  metadata: Record<string, string>;
  compression?: string;
  level?: number;
  groupBy?: GroupBy;
  lockWait?: string;
  lockStale?: string;
  dbLockTimeout?: string;
  /** Collections: where their state is kept (`state-dir:`, made absolute), and the variable holding the content key's secret. */
  stateDir?: string;
  contentKeyEnv?: string;
  /** `notify:` and its companions (src/config/notify.ts reads the variables they name). */
  notify?: { channels: { url?: string; env?: string }[]; on?: 'failure' | 'always'; secretEnv?: string; timeout?: string; healthcheckEnv?: string };
  /** `alerts:` as written (percentages still text; parsed by the backup resolver). */
  alerts?: { sizeChange?: string; durationChange?: string; rowsDrop?: string; quota?: string; fail?: boolean };
  /** `FILE:LINE:COL: key.path` of a key, for errors found later (an unset variable). */
  where(path: (string | number)[]): string;
}

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  /** `sources[0].schema` */
  key: string;
  message: string;
  hint?: string;
}

/** Every problem of a configuration file, in one message (exit 2). */
export class ConfigFileError extends UsageError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    const lines = problems.map(formatProblem);
    super(problems.length === 1 ? lines[0]! : `${printable(file)}: ${problems.length} problems:\n  ${lines.join('\n  ')}`, `fix the file, then run: strongbox config check --config ${printable(file)}`);
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${printable(p.file)}:${p.line}:${p.col}: ${p.key}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`;
}

export function keyPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${printable(String(p))}`)).join('');
}

/** Reads, parses and checks a configuration file; every problem found is in the one error thrown. */
export async function loadConfigFile(path: string): Promise<ConfigFile> {
  if (!path.trim()) throw new UsageError('--config is empty', 'give the path of a strongbox.yml');
  const shown = printable(path);
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) {
    const why = st.code === 'ENOENT' ? 'it does not exist' : st.code === 'EACCES' ? 'permission denied' : (st.code ?? st.message);
    throw new UsageError(`cannot read the configuration file ${shown}: ${why}`, 'check the --config path (relative paths start from the current folder)');
  }
  if (st.isDirectory()) throw new UsageError(`the configuration file ${shown} is a directory`, 'give the file itself, e.g. --config ./strongbox.yml');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the configuration file ${shown}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? (err as Error).message)}`, 'check that this user can read it');
  }
  return parseConfigText(text, path);
}

/** Parses and checks the text of a configuration file named `file` (relative paths in it start from its folder). */
export function parseConfigText(text: string, file: string): ConfigFile {
  const lineCounter = new LineCounter();
  // uniqueKeys: a key given twice is an error (YAML's default would keep one silently); no
  // pretty errors: they quote the source line, which may hold a secret.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const pos = (offset: number) => lineCounter.linePos(offset);
  const problems: ConfigProblem[] = [];
  const add = (offset: number, key: string, message: string, hint?: string) => problems.push({ file, ...pos(offset), key, message, hint });

  for (const e of doc.errors) add(e.pos[0], '(yaml)', yamlMessage(e.code, e.message));
  if (problems.length) throw new ConfigFileError(file, problems);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 }) ?? {};
  } catch (err) {
    // An alias bomb (a few lines expanding to millions of nodes) or a broken alias.
    add(0, '(yaml)', `cannot be read: ${(err as Error).message}`, 'use fewer YAML aliases (*name)');
    throw new ConfigFileError(file, problems);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    add(doc.contents?.range[0] ?? 0, '(top level)', 'the file must be a mapping of keys (sources:, destinations:, …)', 'see the README section "Configuration file"');
    throw new ConfigFileError(file, problems);
  }

  const locate = (issue: Issue) => {
    const offset = offsetOf(doc, issue.path, !!issue.atKey);
    add(offset, keyPath(issue.path), issue.message, issue.hint);
  };
  // Secrets first: every other issue at or under a secret's key is dropped, so none quotes it.
  const secrets = literalSecrets(data);
  secrets.forEach(locate);
  const underSecret = (path: (string | number)[]) => secrets.some((s) => s.path.every((p, i) => path[i] === p));

  const issues: Issue[] = [];
  const parsed = configSchema.safeParse(data, { error: (iss) => issueMessage(iss) });
  if (!parsed.success) {
    for (const iss of parsed.error.issues) {
      if (iss.code === 'unrecognized_keys') {
        for (const k of iss.keys) {
          if (secrets.some((s) => s.path.length === iss.path.length + 1 && s.path.every((p, i) => (i < iss.path.length ? iss.path[i] === p : p === k)))) continue;
          const path = [...(iss.path as (string | number)[]), k];
          const guess = didYouMean(k, knownKeys(iss.path as (string | number)[]));
          const misplaced = misplacedHint(k, iss.path as (string | number)[]);
          issues.push({ path, atKey: true, message: guess ? `unknown key; did you mean "${guess}"?` : 'unknown key', hint: misplaced ?? (guess ? undefined : `known here: ${knownKeys(iss.path as (string | number)[]).join(', ')}`) });
        }
      } else {
        const hint = (iss as { params?: { hint?: string } }).params?.hint;
        issues.push({ path: iss.path as (string | number)[], message: iss.message, hint });
      }
    }
  }
  const typoIn = new Set(issues.filter((i) => i.atKey && i.message.startsWith('unknown key')).map((i) => keyPath(i.path.slice(0, -1))));
  issues.push(...crossChecks(data).filter((i) => !(i.missing && typoIn.has(keyPath(i.path)))));
  for (const issue of issues) if (!underSecret(issue.path)) locate(issue);
  if (problems.length) {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigFileError(file, dedupe(problems));
  }
  return normalize(parsed.data!, file, (path) => {
    const p = pos(offsetOf(doc, path, false));
    return `${printable(file)}:${p.line}:${p.col}: ${keyPath(path)}`;
  });
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.line}:${p.col}:${p.key}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'a key is given twice in one mapping';
  // yaml's own messages name the construct, never the value (prettyErrors is off).
  return message.replace(/ at line \d+, column \d+.*$/s, '');
}

/** A source option written at the top level, a retention rule outside `retention:`: say where it belongs. */
function misplacedHint(key: string, parent: (string | number)[]): string | undefined {
  if (parent.length === 0 && (SOURCE_KINDS as readonly string[]).includes(key)) return 'sources are listed under sources:, e.g. sources: [{ postgres-env: DATABASE_URL }]';
  if (parent.length === 0 && /^keep-/.test(key)) return 'retention belongs to a destination: destinations: [{ url: …, retention: { keep-daily: 7 } }]';
  if (parent.length === 2 && (parent[0] === 'destinations' || parent[0] === 'copy-to') && /^keep-/.test(key)) return `write it under retention: { ${key}: … }`;
  if (parent.length === 0 && ['recipients', 'recipient', 'passphrase-env', 'unencrypted'].includes(key)) return `it belongs under encryption: { ${key === 'recipient' ? 'recipients' : key}: … }`;
  return undefined;
}

/** Where a path is in the text: the key (for unknown keys) or the value; the nearest existing parent otherwise. */
function offsetOf(doc: Document, path: readonly (string | number)[], atKey: boolean): number {
  let node: unknown = doc.contents;
  let keyOffset: number | undefined;
  for (const p of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && (isScalar(it.key) ? it.key.value : it.key) === p);
      if (!pair) break;
      keyOffset = (pair.key as Node | null)?.range?.[0];
      node = pair.value;
      if (node === null || node === undefined) {
        node = undefined;
        break;
      }
    } else if (isSeq(node) && typeof p === 'number') {
      const item = node.items[p];
      if (item === undefined) break;
      keyOffset = undefined;
      node = item;
    } else break;
  }
  if (atKey && keyOffset !== undefined) return keyOffset;
  const range = (node as Node | undefined)?.range;
  return range?.[0] ?? keyOffset ?? 0;
}

function normalize(raw: RawConfig, file: string, where: (path: (string | number)[]) => string): ConfigFile {
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const absLocation = (url: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(url.trim()) ? url.trim() : abs(url.trim()));
  const sources = raw.sources?.map((s, i) => source(s, i));
  function source(s: RawSource, i: number): ConfigSource {
    const key = SOURCE_KINDS.find((k) => s[k] !== undefined)!;
    const kind = kindOf(key) as ConfigSource['kind'];
    const value = s[key]!.trim();
    const options: SourceOptions = {};
    if (kind === 'postgres') {
      if (s.schema) options.schemas = s.schema;
      if (s['exclude-schema']) options.excludeSchemas = s['exclude-schema'];
      if (s.table) options.tables = s.table;
      if (s['exclude-table']) options.excludeTables = s['exclude-table'];
      if (s['exclude-table-data']) options.excludeTableData = s['exclude-table-data'];
      if (s['row-security']) options.rowSecurity = true;
    }
    if (kind === 'files' && s.exclude) options.exclude = s.exclude;
    if (kind === 'bucket' && s['all-versions']) options.allVersions = true;
    if (kind === 'files' && s.incremental) options.incremental = true;
    if (kind === 'files' && s.compare) options.compare = s.compare;
    if (s['row-counts']) options.rowCounts = s['row-counts'];
    const at = where(['sources', i]);
    if (key.endsWith('-env')) return { kind, env: value, options, at };
    return { kind, location: kind === 'sqlite' || kind === 'files' ? abs(value) : value, options, at };
  }
  const locations = (tier: ConfigLocation['tier'], list: RawDestination[] | undefined) =>
    (list ?? []).map((d, i): ConfigLocation => ({
      tier,
      url: absLocation(d.url),
      name: d.name,
      retention: d.retention ? retention(d.retention) : undefined,
      quota: d.quota !== undefined ? { text: String(d.quota).trim(), bytes: parseSize(d.quota, 'quota') } : undefined,
      at: where([tier, i]),
    }));
  return {
    path: file,
    sources,
    destinations: locations('destinations', raw.destinations),
    copyTo: locations('copy-to', raw['copy-to']),
    encryption: raw.encryption && { recipients: raw.encryption.recipients?.map((r) => r.trim()) ?? [], passphraseEnv: raw.encryption['passphrase-env'], unencrypted: !!raw.encryption.unencrypted },
    signing: raw.signing && { keyFile: raw.signing['key-file'] && abs(raw.signing['key-file']), keyEnv: raw.signing['key-env'] },
    decryption: raw.decryption && { identityFile: raw.decryption['identity-file'] && abs(raw.decryption['identity-file']), identityEnv: raw.decryption['identity-env'], passphraseEnv: raw.decryption['passphrase-env'] },
    trust: (raw.trust ?? []).map(abs),
    labels: raw.labels ?? [],
    metadata: raw.metadata ?? {},
    compression: raw.compression,
    level: raw.level,
    groupBy: raw['group-by'],
    lockWait: raw['lock-wait'],
    lockStale: raw['lock-stale'],
    dbLockTimeout: raw['db-lock-timeout'],
    ...(raw['state-dir'] !== undefined ? { stateDir: abs(raw['state-dir'].trim()) } : {}),
    ...(raw['content-key-env'] !== undefined ? { contentKeyEnv: raw['content-key-env'] } : {}),
    notify: notifyOf(raw),
    alerts: raw.alerts && {
      sizeChange: text(raw.alerts['size-change']),
      durationChange: text(raw.alerts['duration-change']),
      rowsDrop: text(raw.alerts['rows-drop']),
      quota: text(raw.alerts.quota),
      fail: raw.alerts.fail,
    },
    where,
  };
}

function notifyOf(raw: RawConfig): ConfigFile['notify'] {
  const keys = ['notify', 'notify-on', 'notify-secret-env', 'notify-timeout', 'healthcheck-env'] as const;
  if (keys.every((k) => raw[k] === undefined)) return undefined;
  return {
    channels: (raw.notify ?? []).map((c) => ({ url: c.url?.trim(), env: c['url-env'] })),
    on: raw['notify-on'],
    secretEnv: raw['notify-secret-env'],
    timeout: raw['notify-timeout'],
    healthcheckEnv: raw['healthcheck-env'],
  };
}
const text = (v: string | number | undefined) => (v === undefined ? undefined : String(v).trim());

function retention(r: NonNullable<RawDestination['retention']>): RetentionPolicy {
  const p: RetentionPolicy = {};
  if (r['keep-last'] !== undefined) p.keepLast = r['keep-last'];
  if (r['keep-hourly'] !== undefined) p.keepHourly = r['keep-hourly'];
  if (r['keep-daily'] !== undefined) p.keepDaily = r['keep-daily'];
  if (r['keep-weekly'] !== undefined) p.keepWeekly = r['keep-weekly'];
  if (r['keep-monthly'] !== undefined) p.keepMonthly = r['keep-monthly'];
  if (r['keep-yearly'] !== undefined) p.keepYearly = r['keep-yearly'];
  if (r['keep-within'] !== undefined) p.keepWithinMs = parseDuration(r['keep-within'], 'keep-within');
  if (r['keep-label']?.length) p.keepLabels = r['keep-label'];
  return p;
}

import { existsSync } from 'node:fs';
import { recipientFingerprint } from '../codecs/age/index.js';
import { formatDuration } from '../core/duration.js';
import type { RetentionPolicy } from '../core/retention.js';
import { DEFAULT_GROUP_BY } from '../core/series.js';
import { openDestination } from '../destinations/index.js';
import { syntaxOnlyEnv } from './schema.js';
import { formatBytes } from '../shared/format.js';
import { printable } from '../shared/text.js';
import type { ConfigFile, ConfigLocation, ConfigSource } from './file.js';

/**
 * What `strongbox config check` prints: the file as the commands will read it, defaults filled
 * in, relative paths made absolute. Secrets are only ever named: for each environment variable
 * the file refers to, whether it is set here — never its value.
 */
export interface EnvRef {
  name: string;
  set: boolean;
  /** The key that names it. */
  usedBy: string;
}

export interface ConfigDescription {
  file: string;
  ok: true;
  sources: { kind: string; location?: string; env?: string; options: Record<string, unknown> }[];
  destinations: LocationDescription[];
  copyTo: LocationDescription[];
  encryption: { scheme: 'age' | 'none' | 'not set'; recipients?: { recipient: string; fingerprint: string }[]; passphraseEnv?: string };
  signing?: { keyFile?: string; keyFileExists?: boolean; keyEnv?: string };
  decryption?: { identityFile?: string; identityFileExists?: boolean; identityEnv?: string; passphraseEnv?: string };
  trust: { file: string; exists: boolean }[];
  labels: string[];
  metadata: Record<string, string>;
  compression: { algorithm: string; level?: number };
  groupBy: string;
  lockWait?: string;
  lockStale?: string;
  dbLockTimeout?: string;
  environment: EnvRef[];
}

export interface LocationDescription {
  name?: string;
  location: string;
  retention?: Record<string, number | string | string[]>;
  quota?: { text: string; bytes: number };
}

const is = (env: NodeJS.ProcessEnv, name: string) => env[name] !== undefined && env[name] !== '';

export function describeConfig(file: ConfigFile, env: NodeJS.ProcessEnv): ConfigDescription {
  const environment: EnvRef[] = [];
  const ref = (name: string | undefined, usedBy: string) => {
    if (name !== undefined) environment.push({ name, set: is(env, name), usedBy });
    return name;
  };
  const key = (at: string) => at.slice(at.lastIndexOf(': ') + 2);
  // The notification variables: named so `config check` says whether each is set here.
  file.notify?.channels.forEach((c, i) => ref(c.env, `notify[${i}].url-env`));
  ref(file.notify?.secretEnv, 'notify-secret-env');
  ref(file.notify?.healthcheckEnv, 'healthcheck-env');
  const sources = (file.sources ?? []).map((s: ConfigSource) => ({
    kind: s.kind,
    ...(s.location !== undefined ? { location: printable(s.location) } : {}),
    ...(s.env !== undefined ? { env: ref(s.env, `${key(s.at)}.${s.kind}-env`) } : {}),
    options: sourceOptions(s),
  }));
  const location = (l: ConfigLocation): LocationDescription => {
    for (const name of credentialNames(l.url)) {
      ref(`${name}_ACCESS_KEY_ID`, `${key(l.at)}.url`);
      ref(`${name}_SECRET_ACCESS_KEY`, `${key(l.at)}.url`);
    }
    return {
      ...(l.name ? { name: l.name } : {}),
      location: openDestination(l.url, {}, syntaxOnlyEnv(l.url)).display,
      ...(l.retention ? { retention: retentionRules(l.retention) } : {}),
      ...(l.quota ? { quota: l.quota } : {}),
    };
  };
  const e = file.encryption;
  return {
    file: file.path,
    ok: true,
    sources,
    destinations: file.destinations.map(location),
    copyTo: file.copyTo.map(location),
    encryption: !e
      ? { scheme: 'not set' }
      : e.unencrypted
        ? { scheme: 'none' }
        : e.passphraseEnv !== undefined
          ? { scheme: 'age', passphraseEnv: ref(e.passphraseEnv, 'encryption.passphrase-env') }
          : { scheme: 'age', recipients: e.recipients.map((r) => ({ recipient: r, fingerprint: recipientFingerprint(r) })) },
    ...(file.signing
      ? { signing: { ...(file.signing.keyFile ? { keyFile: file.signing.keyFile, keyFileExists: existsSync(file.signing.keyFile) } : {}), ...(file.signing.keyEnv ? { keyEnv: ref(file.signing.keyEnv, 'signing.key-env') } : {}) } }
      : {}),
    ...(file.decryption
      ? {
          decryption: {
            ...(file.decryption.identityFile ? { identityFile: file.decryption.identityFile, identityFileExists: existsSync(file.decryption.identityFile) } : {}),
            ...(file.decryption.identityEnv ? { identityEnv: ref(file.decryption.identityEnv, 'decryption.identity-env') } : {}),
            ...(file.decryption.passphraseEnv ? { passphraseEnv: ref(file.decryption.passphraseEnv, 'decryption.passphrase-env') } : {}),
          },
        }
      : {}),
    trust: file.trust.map((f) => ({ file: f, exists: existsSync(f) })),
    labels: file.labels,
    metadata: file.metadata,
    compression: { algorithm: file.compression ?? 'zstd', ...(file.level !== undefined ? { level: file.level } : {}) },
    groupBy: file.groupBy ?? DEFAULT_GROUP_BY,
    ...(file.lockWait !== undefined ? { lockWait: file.lockWait } : {}),
    ...(file.lockStale !== undefined ? { lockStale: file.lockStale } : {}),
    ...(file.dbLockTimeout !== undefined ? { dbLockTimeout: file.dbLockTimeout } : {}),
    environment,
  };
}

/** `credentials=NAME` of an s3:// URL (the location parser checks the URL itself). */
function credentialNames(url: string): string[] {
  const q = url.indexOf('?');
  if (!/^s3:\/\//i.test(url) || q < 0) return [];
  return new URLSearchParams(url.slice(q + 1)).getAll('credentials').filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
}

function sourceOptions(s: ConfigSource): Record<string, unknown> {
  const o = s.options;
  const out: Record<string, unknown> = {};
  if (o.schemas) out.schema = o.schemas;
  if (o.excludeSchemas) out['exclude-schema'] = o.excludeSchemas;
  if (o.tables) out.table = o.tables;
  if (o.excludeTables) out['exclude-table'] = o.excludeTables;
  if (o.excludeTableData) out['exclude-table-data'] = o.excludeTableData;
  if (o.rowSecurity) out['row-security'] = true;
  if (o.exclude) out.exclude = o.exclude;
  if (o.incremental) out.incremental = true;
  if (o.compare) out.compare = o.compare;
  if (s.kind !== 'files') out['row-counts'] = o.rowCounts ?? 'exact';
  return out;
}

function retentionRules(p: RetentionPolicy): Record<string, number | string | string[]> {
  const out: Record<string, number | string | string[]> = {};
  const map: [keyof RetentionPolicy, string][] = [['keepLast', 'keep-last'], ['keepHourly', 'keep-hourly'], ['keepDaily', 'keep-daily'], ['keepWeekly', 'keep-weekly'], ['keepMonthly', 'keep-monthly'], ['keepYearly', 'keep-yearly']];
  for (const [k, name] of map) if (p[k] !== undefined) out[name] = p[k] as number;
  if (p.keepWithinMs !== undefined) out['keep-within'] = formatDuration(p.keepWithinMs);
  if (p.keepLabels?.length) out['keep-label'] = p.keepLabels;
  return out;
}

/** The description as a person reads it. */
export function formatDescription(d: ConfigDescription): string {
  const lines: string[] = [`Configuration ${printable(d.file)}: OK`];
  const opts = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.map((x) => printable(String(x))).join(', ') : printable(String(v))}`)
      .join('; ');
  const envState = (name: string) => `$${name} (${d.environment.find((e) => e.name === name)?.set ? 'set' : 'NOT SET here'})`;
  lines.push(`Sources (${d.sources.length}):`);
  if (!d.sources.length) lines.push('  none (give them with --postgres, --files, … on the command line)');
  for (const s of d.sources) lines.push(`  ${s.kind.padEnd(8)} ${s.env ? envState(s.env) : s.location}${Object.keys(s.options).length ? `  [${opts(s.options)}]` : ''}`);
  const loc = (l: LocationDescription) =>
    `  ${l.name ? `${printable(l.name)}: ` : ''}${l.location}  retention: ${l.retention ? opts(l.retention) : 'none (never pruned)'}${l.quota ? `  quota: ${printable(l.quota.text)} (${l.quota.bytes} bytes = ${formatBytes(l.quota.bytes)})` : ''}`;
  lines.push(`Destinations (${d.destinations.length}), written by every backup:`, ...d.destinations.map(loc));
  if (d.copyTo.length) lines.push(`Copy-to tiers (${d.copyTo.length}), filled by strongbox copy:`, ...d.copyTo.map(loc));
  const e = d.encryption;
  lines.push(
    `Encryption: ${
      e.scheme === 'not set'
        ? 'not set (give --recipient or --passphrase-env)'
        : e.scheme === 'none'
          ? 'NONE (unencrypted: true)'
          : e.passphraseEnv
            ? `age passphrase from ${envState(e.passphraseEnv)}`
            : `age, ${e.recipients!.length} recipient(s): ${e.recipients!.map((r) => `${r.recipient} (${r.fingerprint})`).join(', ')}`
    }`,
  );
  if (d.signing) lines.push(`Signing: ${d.signing.keyFile ? `key file ${printable(d.signing.keyFile)} (${d.signing.keyFileExists ? 'present' : 'NOT FOUND here'})` : envState(d.signing.keyEnv!)}`);
  if (d.decryption) {
    const parts = [
      d.decryption.identityFile ? `identity file ${printable(d.decryption.identityFile)} (${d.decryption.identityFileExists ? 'present' : 'NOT FOUND here'})` : '',
      d.decryption.identityEnv ? `identity from ${envState(d.decryption.identityEnv)}` : '',
      d.decryption.passphraseEnv ? `passphrase from ${envState(d.decryption.passphraseEnv)}` : '',
    ].filter(Boolean);
    lines.push(`Decryption (restore, rollback, verify --deep): ${parts.join(', ')}`);
  }
  if (d.trust.length) lines.push(`Trusted signing keys: ${d.trust.map((t) => `${printable(t.file)}${t.exists ? '' : ' (NOT FOUND here)'}`).join(', ')}`);
  lines.push(`Labels: ${d.labels.length ? d.labels.join(', ') : 'none'}`);
  const meta = Object.entries(d.metadata);
  lines.push(`Metadata: ${meta.length ? meta.map(([k, v]) => `${k}=${printable(v)}`).join(', ') : 'none'}`);
  lines.push(
    `Compression: ${d.compression.algorithm}${d.compression.level !== undefined ? ` level ${d.compression.level}` : ''}; group-by: ${d.groupBy}` +
      `${d.lockWait ? `; lock-wait: ${d.lockWait}` : ''}${d.lockStale ? `; lock-stale: ${d.lockStale}` : ''}${d.dbLockTimeout ? `; db-lock-timeout: ${d.dbLockTimeout}` : ''}`,
  );
  if (d.environment.length) {
    lines.push('Environment variables it reads (values never shown):');
    for (const v of d.environment) lines.push(`  ${v.name.padEnd(24)} ${v.set ? 'set        ' : 'NOT SET here'}  ${printable(v.usedBy)}`);
  }
  return lines.join('\n') + '\n';
}

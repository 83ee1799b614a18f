import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

/**
 * The example config files (examples/*.strongbox.yml) are what newcomers copy: each must be a
 * valid strongbox.yml, hold no secret, and the example workflows' `config:` must name one.
 *
 * TODO(lead): when src/config/file.ts lands, replace `parseExample` below with the real loader
 * (`loadConfigFile(path)`), so the examples are checked by the schema users hit, and drop the
 * hand-kept key lists (KNOWN_*), which mirror the schema in COMMON.md until then. The
 * placeholder recipient (REPLACE-with-…) must then still load, or be refused only when a
 * backup resolves it (with a hint), never silently accepted as a key.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = join(ROOT, 'examples');
const WORKFLOWS = join(ROOT, '.github/workflows');

type Map_ = Record<string, unknown>;
const isMap = (v: unknown): v is Map_ => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses strictly: a YAML error or a duplicate key fails. */
function parseExample(file: string): Map_ {
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  const v = doc.toJS() as unknown;
  if (!isMap(v)) throw new Error(`${file}: not a mapping`);
  return v;
}

const KNOWN_TOP = [
  'version', 'sources', 'destinations', 'copy-to', 'encryption', 'signing', 'decryption', 'trust',
  'labels', 'metadata', 'compression', 'level', 'group-by', 'lock-wait',
];
const SOURCE_KINDS = ['postgres', 'postgres-env', 'mysql', 'mysql-env', 'sqlite', 'files'];
const POSTGRES_OPTIONS = ['schema', 'exclude-schema', 'table', 'exclude-table', 'exclude-table-data', 'row-security'];
const OPTIONS_OF: Record<string, string[]> = {
  postgres: POSTGRES_OPTIONS,
  'postgres-env': POSTGRES_OPTIONS,
  mysql: [],
  'mysql-env': [],
  sqlite: [],
  files: ['exclude'],
};
const LOCATION_KEYS = ['url', 'name', 'retention', 'quota'];
const RETENTION_KEYS = ['keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly', 'keep-within', 'keep-label'];
const S3_QUERY = ['endpoint', 'region', 'preset', 'path-style', 'credentials'];
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Every problem with one parsed example, as "path: what" lines. */
function problems(cfg: Map_): string[] {
  const out: string[] = [];
  const unknown = (where: string, m: Map_, known: string[]) => {
    for (const k of Object.keys(m)) if (!known.includes(k)) out.push(`${where}: unknown key "${k}"`);
  };
  unknown('top level', cfg, KNOWN_TOP);
  if (cfg.version !== undefined && cfg.version !== 1) out.push(`version: ${String(cfg.version)} (only 1 is known)`);

  const sources = Array.isArray(cfg.sources) ? cfg.sources : [];
  if (!sources.length) out.push('sources: none');
  sources.forEach((s: unknown, i) => {
    const where = `sources[${i}]`;
    if (!isMap(s)) return void out.push(`${where}: not a mapping`);
    const kinds = Object.keys(s).filter((k) => SOURCE_KINDS.includes(k));
    if (kinds.length !== 1) return void out.push(`${where}: needs exactly one of ${SOURCE_KINDS.join(', ')} (has ${kinds.join(', ') || 'none'})`);
    const kind = kinds[0]!;
    unknown(where, s, [kind, ...OPTIONS_OF[kind]!]);
    const value = s[kind];
    if (kind.endsWith('-env') && !(typeof value === 'string' && ENV_NAME.test(value))) out.push(`${where}.${kind}: not an environment variable name`);
    // A URL written in the file may name a user, never a password.
    if ((kind === 'postgres' || kind === 'mysql') && /:\/\/[^/@]*:[^/@]*@/.test(String(value))) out.push(`${where}.${kind}: holds a password`);
  });

  const locations = (key: 'destinations' | 'copy-to') => {
    const list = cfg[key];
    if (list === undefined) return;
    if (!Array.isArray(list) || !list.length) return void out.push(`${key}: not a non-empty list`);
    list.forEach((d: unknown, i) => {
      const where = `${key}[${i}]`;
      if (!isMap(d)) return void out.push(`${where}: not a mapping`);
      unknown(where, d, LOCATION_KEYS);
      if (typeof d.url !== 'string') return void out.push(`${where}.url: missing`);
      if (isMap(d.retention)) unknown(`${where}.retention`, d.retention, RETENTION_KEYS);
      else if (d.retention !== undefined) out.push(`${where}.retention: not a mapping`);
      if (d.url.startsWith('s3://')) {
        const u = new URL(d.url);
        if (u.username || u.password) out.push(`${where}.url: holds credentials`);
        for (const [k, v] of u.searchParams) {
          if (!S3_QUERY.includes(k)) out.push(`${where}.url: unknown query parameter "${k}"`);
          if (k === 'credentials' && !ENV_NAME.test(v)) out.push(`${where}.url: credentials=${v} is not a name`);
        }
      } else if (d.url.includes('?')) out.push(`${where}.url: a local path takes no query`);
    });
  };
  if (cfg.destinations === undefined) out.push('destinations: none');
  locations('destinations');
  locations('copy-to');

  const enc = cfg.encryption;
  if (!isMap(enc)) out.push('encryption: missing (backups are refused without it)');
  else unknown('encryption', enc, ['recipients', 'passphrase-env', 'unencrypted']);
  return out;
}

const exampleFiles = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.strongbox.yml'))
  .sort();

describe('example config files', () => {
  it('are there for both setups of the README', () => {
    expect(exampleFiles).toEqual(expect.arrayContaining(['three-locations.strongbox.yml', 'tiers.strongbox.yml']));
  });

  it.each(exampleFiles)('%s parses and follows the schema', (f) => {
    expect(problems(parseExample(join(EXAMPLES, f)))).toEqual([]);
  });

  it.each(exampleFiles)('%s holds no secret, only environment-variable names', (f) => {
    const text = readFileSync(join(EXAMPLES, f), 'utf8');
    expect(text).not.toMatch(/AGE-SECRET-KEY-1/i);
    expect(text).not.toMatch(/-----BEGIN/);
    expect(text).not.toMatch(/(?:^|[\s{,])(?:password|secret|token|access-key)[\w-]*\s*:/im);
    // Comments show what a variable holds with the placeholder PASSWORD; nothing else may sit there.
    expect(text).not.toMatch(/:\/\/[^\s/@:]+:(?!PASSWORD@)[^\s/@]+@/);
  });

  it('the team setups carry what they need', () => {
    const c = parseExample(join(EXAMPLES, 'three-locations.strongbox.yml'));
    const urls = (c.destinations as Map_[]).map((d) => String(d.url));
    expect(urls.filter((u) => u.startsWith('/'))).toHaveLength(1);
    expect(urls.filter((u) => /credentials=R2\b/.test(u) && u.includes('.r2.cloudflarestorage.com'))).toHaveLength(1);
    expect(urls.filter((u) => /credentials=B2\b/.test(u) && u.includes('.backblazeb2.com'))).toHaveLength(1);
    for (const d of c.destinations as Map_[]) expect(d.retention, String(d.url)).toBeDefined();
    expect((c.sources as Map_[]).some((s) => s['row-security'] === true)).toBe(true);

    const t = parseExample(join(EXAMPLES, 'tiers.strongbox.yml'));
    expect(t.destinations).toEqual([expect.objectContaining({ url: expect.stringMatching(/^\//), retention: { 'keep-daily': 7 } })]);
    expect(t['copy-to']).toEqual([expect.objectContaining({ url: expect.stringMatching(/nas/), retention: { 'keep-weekly': 4, 'keep-monthly': 12 } })]);
    expect(Object.keys((t.sources as Map_[])[0]!)).toContain('postgres-env');
    expect((t.sources as Map_[]).some((s) => 'files' in s)).toBe(true);
  });

  it('every `config:` an example workflow passes names an example file that exists', () => {
    const used: string[] = [];
    for (const f of readdirSync(WORKFLOWS).filter((n) => n.startsWith('example-'))) {
      for (const m of readFileSync(join(WORKFLOWS, f), 'utf8').matchAll(/^\s+config:\s*(\S+)\s*$/gm)) used.push(m[1]!);
    }
    expect(used.length).toBeGreaterThan(0);
    for (const p of used) expect(existsSync(join(ROOT, p)), p).toBe(true);
  });
});

describe('the example checker', () => {
  // Each broken variant of a good config must be reported; otherwise the checks above prove nothing.
  const good = (): Map_ => ({
    version: 1,
    sources: [{ 'postgres-env': 'DATABASE_URL', schema: ['public'] }, { files: '/srv/media', exclude: ['*.tmp'] }],
    destinations: [{ url: 's3://b/p?endpoint=https://x.r2.cloudflarestorage.com&credentials=R2', retention: { 'keep-daily': 7 } }],
    encryption: { recipients: ['age1example'] },
  });
  it('accepts a good config', () => expect(problems(good())).toEqual([]));
  const cases: [string, (c: Map_) => void, RegExp][] = [
    ['a typo at the top', (c) => (c.destination = c.destinations), /top level: unknown key "destination"/],
    ['a source with two kinds', (c) => ((c.sources as Map_[])[1]!.sqlite = '/x.db'), /needs exactly one/],
    ['an option of another kind', (c) => ((c.sources as Map_[])[1]!.schema = ['x']), /sources\[1\]: unknown key "schema"/],
    ['a misspelt retention rule', (c) => ((c.destinations as Map_[])[0]!.retention = { 'keep-dayly': 7 }), /unknown key "keep-dayly"/],
    ['an unknown URL parameter', (c) => ((c.destinations as Map_[])[0]!.url += '&secret=abc'), /unknown query parameter "secret"/],
    ['a password in a source URL', (c) => ((c.sources as Map_[])[0] = { postgres: 'postgres://u:pw@h/db' }), /holds a password/],
    ['no encryption', (c) => delete c.encryption, /encryption: missing/],
  ];
  it.each(cases)('reports %s', (_what, breakIt, re) => {
    const c = good();
    breakIt(c);
    expect(problems(c).join('\n')).toMatch(re);
  });
});

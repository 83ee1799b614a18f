import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { ConfigFileError, loadConfigFile, type ConfigFile } from '../../src/config/file.js';

/**
 * The example config files (examples/*.strongbox.yml) are what newcomers copy: each must load
 * with the real loader (the schema users hit) once its placeholder recipient is replaced by a
 * real one, hold no secret, and the example workflows' `config:` must name one. As shipped, the
 * placeholder is refused, naming the key: a copied example can never encrypt to nobody.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES = join(ROOT, 'examples');
const WORKFLOWS = join(ROOT, '.github/workflows');
const PLACEHOLDER = /REPLACE-with-the-age1-recipient-printed-by-strongbox-keygen/g;
const work = mkdtempSync(join(tmpdir(), 'strongbox-examples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const recipient = generateIdentity().recipient;
// The loader checks that each credentials=NAME is set (as a runner's env: from secrets would).
const CREDENTIALS = ['R2', 'B2'].flatMap((n) => [`${n}_ACCESS_KEY_ID`, `${n}_SECRET_ACCESS_KEY`]);
const saved = Object.fromEntries(CREDENTIALS.map((k) => [k, process.env[k]]));
beforeAll(() => {
  for (const k of CREDENTIALS) process.env[k] = 'example-placeholder';
});
afterAll(() => {
  for (const k of CREDENTIALS) if (saved[k] === undefined) delete process.env[k];
  else process.env[k] = saved[k];
});

/** The example as a user has it after `strongbox keygen`: the placeholder replaced by a real recipient. */
async function loadExample(f: string): Promise<ConfigFile> {
  const copy = join(work, f);
  writeFileSync(copy, readFileSync(join(EXAMPLES, f), 'utf8').replace(PLACEHOLDER, recipient));
  return loadConfigFile(copy);
}

const exampleFiles = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.strongbox.yml'))
  .sort();

describe('example config files', () => {
  it('are there for both setups of the README', () => {
    expect(exampleFiles).toEqual(expect.arrayContaining(['three-locations.strongbox.yml', 'tiers.strongbox.yml']));
  });

  it.each(exampleFiles)('%s loads with the real loader once its recipient is set', async (f) => {
    const c = await loadExample(f);
    expect(c.sources?.length).toBeGreaterThan(0);
    expect(c.destinations.length).toBeGreaterThan(0);
    expect(c.encryption).toEqual({ recipients: [recipient], unencrypted: false });
  });

  it.each(exampleFiles)('%s as shipped: the placeholder recipient is refused, naming the key', async (f) => {
    expect(readFileSync(join(EXAMPLES, f), 'utf8')).toMatch(PLACEHOLDER);
    const err = await loadConfigFile(join(EXAMPLES, f)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as ConfigFileError).problems.map((p) => [p.key, p.message])).toEqual([['encryption.recipients[0]', expect.stringMatching(/^not a valid age recipient/)]]);
  });

  it.each(exampleFiles)('%s holds no secret, only environment-variable names', (f) => {
    const text = readFileSync(join(EXAMPLES, f), 'utf8');
    expect(text).not.toMatch(/AGE-SECRET-KEY-1/i);
    expect(text).not.toMatch(/-----BEGIN/);
    expect(text).not.toMatch(/(?:^|[\s{,])(?:password|secret|token|access-key)[\w-]*\s*:/im);
    // Comments show what a variable holds with the placeholder PASSWORD; nothing else may sit there.
    expect(text).not.toMatch(/:\/\/[^\s/@:]+:(?!PASSWORD@)[^\s/@]+@/);
  });

  it('the team setups carry what they need', async () => {
    const c = await loadExample('three-locations.strongbox.yml');
    const urls = c.destinations.map((d) => d.url);
    expect(urls.filter((u) => u.startsWith('/'))).toHaveLength(1);
    expect(urls.filter((u) => /credentials=R2\b/.test(u) && u.includes('.r2.cloudflarestorage.com'))).toHaveLength(1);
    expect(urls.filter((u) => /credentials=B2\b/.test(u) && u.includes('.backblazeb2.com'))).toHaveLength(1);
    for (const d of c.destinations) expect(d.retention, d.url).toBeDefined();
    expect(c.sources!.some((s) => s.options.rowSecurity === true)).toBe(true);

    const t = await loadExample('tiers.strongbox.yml');
    expect(t.destinations).toEqual([expect.objectContaining({ url: expect.stringMatching(/^\//), retention: { keepDaily: 7 } })]);
    expect(t.copyTo).toEqual([expect.objectContaining({ url: expect.stringMatching(/nas/), retention: { keepWeekly: 4, keepMonthly: 12 } })]);
    expect(t.sources![0]).toMatchObject({ kind: 'postgres', env: 'DATABASE_URL' });
    expect(t.sources!.some((s) => s.kind === 'files')).toBe(true);
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

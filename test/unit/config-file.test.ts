import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { ConfigFileError, loadConfigFile, parseConfigText, type ConfigProblem } from '../../src/config/file.js';
import { parseSize } from '../../src/shared/size.js';
import { ExitCode, UsageError } from '../../src/shared/errors.js';

const work = mkdtempSync(join(tmpdir(), 'strongbox-config-file-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const FILE = join(work, 'strongbox.yml');
const RECIPIENT = generateIdentity().recipient;

/** The problems a text has (it must have some). */
function problems(text: string): ConfigProblem[] {
  try {
    parseConfigText(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as ConfigFileError).exitCode).toBe(ExitCode.usage);
    return (err as ConfigFileError).problems;
  }
  throw new Error('the file was accepted');
}

function messageOf(text: string): string {
  try {
    parseConfigText(text, FILE);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the file was accepted');
}

const VALID = `version: 1
sources:
  - postgres-env: DATABASE_URL
    schema: [public, billing]
    exclude-table-data: [public.audit_log]
    row-counts: estimate
  - files: media
    exclude: ["*.tmp", cache/]
destinations:
  - url: repo
    name: local
    retention: { keep-daily: 7 }
    quota: 200GB
  - url: s3://backups/db
    name: r2
    retention: { keep-daily: 30, keep-monthly: 12, keep-within: 2d, keep-label: [pre-release] }
  - url: s3://b2-bucket/db
    quota: 1.5TiB
copy-to:
  - url: /mnt/nas/strongbox
    retention: { keep-weekly: 4, keep-monthly: 12 }
encryption:
  recipients: [${RECIPIENT}]
signing: { key-file: keys/signing }
decryption: { identity-file: /root/strongbox.key }
trust: [keys/signing.pub]
labels: [nightly]
metadata: { app: clinic, environment: production, release: "1.4" }
compression: zstd
level: 3
group-by: sources
lock-wait: 10m
`;

describe('a valid file', () => {
  it('with two sources and three destinations resolves, relative paths from the file folder', () => {
    const c = parseConfigText(VALID, FILE);
    expect(c.sources).toEqual([
      { kind: 'postgres', env: 'DATABASE_URL', options: { schemas: ['public', 'billing'], excludeTableData: ['public.audit_log'], rowCounts: 'estimate' }, at: `${FILE}:3:5: sources[0]` },
      { kind: 'files', location: join(work, 'media'), options: { exclude: ['*.tmp', 'cache/'] }, at: `${FILE}:7:5: sources[1]` },
    ]);
    expect(c.destinations.map((d) => [d.name, d.url, d.retention, d.quota?.bytes])).toEqual([
      ['local', join(work, 'repo'), { keepDaily: 7 }, 200e9],
      ['r2', 's3://backups/db', { keepDaily: 30, keepMonthly: 12, keepWithinMs: 2 * 86_400_000, keepLabels: ['pre-release'] }, undefined],
      [undefined, 's3://b2-bucket/db', undefined, 1.5 * 2 ** 40],
    ]);
    expect(c.copyTo).toHaveLength(1);
    expect(c.copyTo[0]!.retention).toEqual({ keepWeekly: 4, keepMonthly: 12 });
    expect(c.encryption).toEqual({ recipients: [RECIPIENT], passphraseEnv: undefined, unencrypted: false });
    expect(c.signing).toEqual({ keyFile: join(work, 'keys/signing'), keyEnv: undefined });
    expect(c.trust).toEqual([join(work, 'keys/signing.pub')]);
    expect(c.metadata).toEqual({ app: 'clinic', environment: 'production', release: '1.4' });
    expect([c.labels, c.compression, c.level, c.groupBy, c.lockWait]).toEqual([['nightly'], 'zstd', 3, 'sources', '10m']);
  });

  it('a location whose credentials=NAME variables are not set here still loads (they are read when a command opens it)', () => {
    const name = 'SB_TEST_UNSET_CREDS';
    expect(process.env[`${name}_ACCESS_KEY_ID`]).toBeUndefined();
    const f = parseConfigText(`destinations:\n  - url: s3://b/p?endpoint=https://x.r2.cloudflarestorage.com&credentials=${name}\n`, FILE);
    expect(f.destinations.map((d) => d.url)).toEqual([`s3://b/p?endpoint=https://x.r2.cloudflarestorage.com&credentials=${name}`]);
    // The syntax is still checked at load: an unknown parameter is refused with its line.
    expect(problems(`destinations:\n  - url: s3://b/p?endpont=https://x&credentials=${name}\n`).map((p) => [p.line, p.key])).toEqual([[2, 'destinations[0].url']]);
  });

  it('an empty file is an empty configuration (flags give everything)', () => {
    const c = parseConfigText('# nothing yet\n', FILE);
    expect(c.sources).toBeUndefined();
    expect(c.destinations).toEqual([]);
  });
});

describe('each error names the file, line, column and key', () => {
  it.each([
    ['a typo gets "did you mean"', 'sources:\n  - files: /srv\ndestinations:\n  - url: /b\n    retension: { keep-daily: 7 }\n', 5, 5, 'destinations[0].retension', /unknown key; did you mean "retention"\?/],
    ['a typo at the top', 'destinatons:\n  - url: /b\n', 1, 1, 'destinatons', /did you mean "destinations"/],
    ['an unknown key lists the known ones', 'sources:\n  - files: /srv\n    colour: blue\n', 3, 5, 'sources[0].colour', /^unknown key \(known here: .*exclude/],
    ['a retention rule outside retention:', 'destinations:\n  - url: /b\n    keep-daily: 7\n', 3, 5, 'destinations[0].keep-daily', /write it under retention/],
    ['a negative count', 'destinations:\n  - url: /b\n    retention:\n      keep-daily: -1\n', 4, 19, 'destinations[0].retention.keep-daily', /must be 0 or more/],
    ['a fractional count', 'destinations:\n  - url: /b\n    retention: { keep-weekly: 1.5 }\n', 3, 31, 'destinations[0].retention.keep-weekly', /whole number/],
    ['a count as text', 'destinations:\n  - url: /b\n    retention: { keep-last: "7" }\n', 3, 29, 'destinations[0].retention.keep-last', /must be a number, not a text value/],
    ['a bad duration', 'lock-wait: 10x\n', 1, 12, 'lock-wait', /unknown unit "x"/],
    ['a duration without unit', 'lock-wait: 10\n', 1, 12, 'lock-wait', /no unit/],
    ['a bad quota', 'destinations:\n  - url: /b\n    quota: 200XB\n', 3, 12, 'destinations[0].quota', /unknown unit "XB"/],
    ['a source with two kinds', 'sources:\n  - files: /a\n    sqlite: /b.db\n', 3, 5, 'sources[0].sqlite', /exactly one kind key, this one has files and sqlite/],
    ['a source with none', 'sources:\n  - exclude: ["*.tmp"]\n', 2, 5, 'sources[0]', /names no source/],
    ['an option of another kind', 'sources:\n  - files: /a\n    schema: [public]\n', 3, 5, 'sources[0].schema', /applies to postgres sources, not to a files source/],
    ['an environment variable name that is not one', 'sources:\n  - postgres-env: "my url"\n', 2, 19, 'sources[0].postgres-env', /not an environment variable name/],
    ['an unsupported location', 'destinations:\n  - url: ftp://host/x\n', 2, 10, 'destinations[0].url', /unsupported scheme/],
    ['a destination without url', 'destinations:\n  - name: local\n', 2, 5, 'destinations[0].url', /must be a text value, not missing/],
    ['a bad recipient', 'encryption:\n  recipients: [age1nope]\n', 2, 16, 'encryption.recipients[0]', /not a valid age recipient/],
    ['two encryption choices', `encryption:\n  recipients: [${RECIPIENT}]\n  unencrypted: true\n`, 3, 3, 'encryption.unencrypted', /contradicts recipients/],
    ['a bad label', 'labels: [ok, "not ok"]\n', 1, 14, 'labels[1]', /label "not ok" is not allowed/],
    ['a metadata value that is not text', 'metadata: { build: 42 }\n', 1, 20, 'metadata.build', /must be a text value/],
    ['a bad metadata key', 'metadata: { "a b": x }\n', 1, 13, 'metadata.a b', /not a metadata key/],
    ['a level out of range', 'compression: gzip\nlevel: 12\n', 2, 8, 'level', /out of range for gzip/],
    ['an unknown group-by', 'group-by: tenants\n', 1, 11, 'group-by', /must be one of sources, labels, sources,labels, none/],
    ['an unknown version', 'version: 2\n', 1, 10, 'version', /must be 1/],
    ['a key given twice', 'labels: [a]\nlabels: [b]\n', 2, 1, '(yaml)', /given twice/],
    ['broken YAML', 'sources:\n  - files: [/a\n', 3, 1, '(yaml)', /./],
    ['the same name twice', 'destinations:\n  - { url: /a, name: x }\ncopy-to:\n  - { url: /b, name: x }\n', 4, 22, 'copy-to[0].name', /already the name of destinations\[0\]/],
    ['the same location twice', 'destinations:\n  - url: /a\ncopy-to:\n  - url: /a\n', 4, 10, 'copy-to[0].url', /same location as destinations\[0\]/],
    ['a retention that keeps nothing', 'destinations:\n  - url: /a\n    retention: { keep-daily: 0 }\n', 3, 16, 'destinations[0].retention', /names no backups to keep/],
    ['a list where a mapping belongs', 'encryption: [x]\n', 1, 13, 'encryption', /must be a mapping/],
    ['an alias bomb', 'a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n', 1, 1, '(yaml)', /Excessive alias count/],
    ['a file that is a list', '- files: /a\n', 1, 1, '(top level)', /must be a mapping/],
  ])('%s', (_what, text, line, col, key, message) => {
    const found = problems(text);
    const p = found.find((x) => x.key === key);
    expect(p, JSON.stringify(found)).toBeDefined();
    expect([p!.line, p!.col]).toEqual([line, col]);
    expect(`${p!.message} (${p!.hint})`).toMatch(message);
    expect(messageOf(text)).toContain(`${FILE}:${line}:${col}: ${key}: `);
  });

  it('reports every problem at once, in file order, in one message', () => {
    const text = 'retension: {}\nsources:\n  - files: /a\n    schema: [x]\nlock-wait: soon\nlabels: ["a b"]\n';
    const found = problems(text);
    expect(found.map((p) => `${p.line}:${p.key}`)).toEqual(['1:retension', '4:sources[0].schema', '5:lock-wait', '6:labels[0]']);
    const msg = messageOf(text);
    expect(msg.split('\n')[0]).toBe(`${FILE}: 4 problems:`);
    expect(msg.split('\n')).toHaveLength(5);
  });
});

describe('a typo is the one problem reported for its mapping', () => {
  it('no "names no source" / "names no key" on top of the typo that explains it', () => {
    const found = problems('sources:\n  - postgress-env: X\nencryption:\n  recipent: [x]\nsigning: { keyfile: /k }\n');
    expect(found.map((p) => `${p.line}:${p.col}: ${p.key}: ${p.message}`)).toEqual([
      '2:5: sources[0].postgress-env: unknown key; did you mean "postgres-env"?',
      '4:3: encryption.recipent: unknown key; did you mean "recipients"?',
      '5:12: signing.keyfile: unknown key; did you mean "key-file"?',
    ]);
  });
});

describe('literal secrets are refused without being repeated', () => {
  const secretKey = 'AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS';
  it.each([
    ['a passphrase key', 'encryption:\n  passphrase: correct-horse-battery-staple\n', 'correct-horse-battery-staple', 'encryption.passphrase', /use|passphrase-env/],
    ['a private age key in recipients', `encryption:\n  recipients: [${secretKey}]\n`, secretKey, 'encryption.recipients[0]', /private key/],
    ['a private key anywhere', `metadata:\n  note: "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA"\n`, 'b3BlbnNzaC1rZXktdjEAAAAA', 'metadata.note', /private key/],
    ['a PostgreSQL URL with a password', 'sources:\n  - postgres: postgres://app:Sup3rS3cretPw@db.internal/app\n', 'Sup3rS3cretPw', 'sources[0].postgres', /holds a password.*postgres-env/s],
    ['a MySQL URL with a password', 'sources:\n  - mysql: mysql://app:Sup3rS3cretPw@db/app\n', 'Sup3rS3cretPw', 'sources[0].mysql', /holds a password.*mysql-env/s],
    ['a password key', 'sources:\n  - postgres: postgres://app@db/app\n    password: Sup3rS3cretPw\n', 'Sup3rS3cretPw', 'sources[0].password', /plain text/],
    ['a secret URL where a variable name belongs', 'sources:\n  - postgres-env: postgres://app:Sup3rS3cretPw@db/app\n', 'Sup3rS3cretPw', 'sources[0].postgres-env', /not an environment variable name .*the value is not shown/],
    ['a private key in a misspelled key', `encryptoin:\n  recipients: [${secretKey}]\n`, secretKey, 'encryptoin.recipients[0]', /private key/],
  ])('%s', (_what, text, secret, key, message) => {
    const found = problems(text);
    const p = found.find((x) => x.key === key);
    expect(`${p?.message} (${p?.hint})`, JSON.stringify(found)).toMatch(message);
    const msg = messageOf(text);
    expect(msg).not.toContain(secret);
    expect(JSON.stringify(found)).not.toContain(secret);
  });
});

describe('metadata holding a secret', () => {
  it('is refused in the file and by --meta, naming the key, never the value (a manifest is readable without the key)', async () => {
    const text = 'metadata:\n  note: "postgres://app:Hunter2Secret@db/app"\n';
    const ps = problems(text);
    expect(ps.map((p) => [p.line, p.key])).toEqual([[2, 'metadata.note']]);
    expect(JSON.stringify(ps)).not.toContain('Hunter2Secret');
    const { validateMetadata } = await import('../../src/core/metadata.js');
    expect(() => validateMetadata({ db: 'postgres://app:Hunter2Secret@db/app' })).toThrow(/metadata "db" looks like it holds a secret/);
    expect(() => validateMetadata({ db: 'postgres://app:Hunter2Secret@db/app' })).not.toThrow(/Hunter2Secret/);
    expect(() => validateMetadata({ release: 'v1.4.2', url: 'https://example.com/x' })).not.toThrow();
  });
});

describe('loadConfigFile', () => {
  it('reads a file from disk', async () => {
    writeFileSync(FILE, VALID);
    expect((await loadConfigFile(FILE)).destinations).toHaveLength(3);
  });

  it.each([
    ['a missing file', () => join(work, 'nope.yml'), /cannot read the configuration file .*nope\.yml: it does not exist/],
    ['a directory', () => (mkdirSync(join(work, 'dir.yml'), { recursive: true }), join(work, 'dir.yml')), /configuration file .*dir\.yml is a directory/],
    ['an empty path', () => ' ', /--config is empty/],
  ])('refuses %s as a usage error naming it', async (_what, path, message) => {
    const err = await loadConfigFile(path()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
  });

  it.skipIf(process.getuid?.() === 0)('refuses an unreadable file', async () => {
    const f = join(work, 'locked.yml');
    writeFileSync(f, 'labels: [a]\n');
    chmodSync(f, 0);
    await expect(loadConfigFile(f)).rejects.toThrow(/permission denied/);
  });
});

describe('parseSize: decimal units as providers sell storage, binary units as df prints it', () => {
  it.each([
    ['200GB', 200e9],
    ['500MB', 500e6],
    ['1.5TB', 1.5e12],
    ['1.5TiB', 1.5 * 2 ** 40],
    ['512 GiB', 512 * 2 ** 30],
    ['10gb', 10e9],
    [4096, 4096],
  ])('%s', (text, bytes) => expect(parseSize(text, 'quota')).toBe(bytes));

  it.each(['', 'lots', '0GB', '-1GB', '5 XB', '1e3GB'])('refuses %j', (text) => expect(() => parseSize(text, 'quota')).toThrow(UsageError));
});

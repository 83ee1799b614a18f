import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { formatPrivateKey, formatPublicKey, generateSigningKey } from '../../src/codecs/ssh-signature/index.js';
import { resolveBackupConfig, type BackupCommandSettings } from '../../src/config/backup.js';
import { resolveCopyConfig, type CopySettings } from '../../src/config/copy.js';
import { parseConfigText, type ConfigFile } from '../../src/config/file.js';
import { resolveRetentionPlan } from '../../src/config/locations.js';
import { resolvePruneConfig, type PruneSettings } from '../../src/config/prune.js';
import { resolveRestoreConfig, resolveRollbackConfig, resolveVerifyConfig, type RestoreSettings, type RollbackSettings, type VerifySettings } from '../../src/config/read.js';
import { UsageError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import type { BackupOptions } from '../../src/core/backup.js';

/**
 * One row per merge rule: a flag given wins, a list flag replaces the file's list, otherwise
 * the file's value, otherwise the default; and the rules each command has once (deep needs a
 * key, rollback needs the key), with secrets masked before anything can print them.
 */
const work = mkdtempSync(join(tmpdir(), 'strongbox-config-resolve-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const FILE = join(work, 'strongbox.yml');
const tree = join(work, 'media');
mkdirSync(tree);
const db = join(work, 'app.db');
writeFileSync(db, '');
const id1 = generateIdentity();
const id2 = generateIdentity();
const identityFile = join(work, 'key.txt');
writeFileSync(identityFile, `${id1.identity}\n`, { mode: 0o600 });
const signing = generateSigningKey('test');
const signKeyFile = join(work, 'signing');
writeFileSync(signKeyFile, formatPrivateKey(signing), { mode: 0o600 });
writeFileSync(`${signKeyFile}.pub`, formatPublicKey(signing.publicKey) + '\n');
const otherSigning = generateSigningKey('other');
writeFileSync(join(work, 'other.pub'), formatPublicKey(otherSigning.publicKey) + '\n');

const BASE = `
sources:
  - postgres-env: DATABASE_URL
    schema: [public]
    row-counts: estimate
  - files: media
    exclude: ["*.tmp"]
destinations:
  - url: repo-a
    name: local
    retention: { keep-daily: 7 }
  - url: repo-b
    name: second
  - url: s3://bucket/db
    name: cloud
    retention: { keep-daily: 30, keep-monthly: 12 }
copy-to:
  - url: nas
    name: nas
    retention: { keep-weekly: 4 }
encryption:
  recipients: [${id1.recipient}]
decryption: { identity-file: key.txt }
trust: [signing.pub]
labels: [nightly]
metadata: { app: clinic, environment: production }
compression: gzip
level: 9
lock-wait: 10m
`;
const file = (text = BASE): ConfigFile => parseConfigText(text, FILE);
const PG_URL = 'postgres://app:Pg-Secret-42@db.internal:5432/app';
const ENV = { DATABASE_URL: PG_URL };

function reporter() {
  const lines: string[] = [];
  return { r: new ConsoleReporter({ write: (l) => lines.push(l) }), lines };
}
const expectUsage = async (p: Promise<unknown> | (() => unknown), message: RegExp) => {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toMatch(message);
};

type BackupRow = [string, BackupCommandSettings, string | undefined, Record<string, string>, (o: BackupOptions) => void];
const backupRows: BackupRow[] = [
  ['destinations: the file\'s when no --to', {}, BASE, ENV, (o) => expect(o.destinations.map((d) => d.display)).toEqual([join(work, 'repo-a'), join(work, 'repo-b'), 's3://bucket/db'])],
  ['destinations: --to replaces the file\'s list', { to: ['/tmp/elsewhere'] }, BASE, ENV, (o) => expect(o.destinations.map((d) => d.display)).toEqual(['/tmp/elsewhere'])],
  ['destinations: --to NAME stands for the file\'s location', { to: ['second'] }, BASE, ENV, (o) => expect(o.destinations.map((d) => d.display)).toEqual([join(work, 'repo-b')])],
  [
    'sources: the file\'s, each with its own options',
    {},
    BASE,
    ENV,
    (o) =>
      expect(o.sources).toEqual([
        { kind: 'postgres', location: PG_URL, options: { schemas: ['public'], excludeSchemas: [], tables: [], excludeTables: [], excludeTableData: [], rowCounts: 'estimate' } },
        { kind: 'files', location: tree, options: { exclude: ['*.tmp'] } },
      ]),
  ],
  ['sources: a source flag replaces all of the file\'s', { sqlite: [db] }, BASE, ENV, (o) => expect(o.sources).toEqual([{ kind: 'sqlite', location: db, options: { rowCounts: 'exact' } }])],
  ['sources: --schema replaces a file source\'s schema list; its other options stay', { postgresOptions: { schemas: ['billing'] } }, BASE, ENV, (o) => expect(o.sources[0]!.options).toMatchObject({ schemas: ['billing'], rowCounts: 'estimate' })],
  ['sources: --exclude replaces a files source\'s excludes', { exclude: ['*.log'] }, BASE, ENV, (o) => expect(o.sources[1]!.options).toEqual({ exclude: ['*.log'] })],
  ['row counts: the flag wins over the source\'s row-counts', { rowCounts: 'none' }, BASE, ENV, (o) => expect(o.sources[0]!.options!.rowCounts).toBe('none')],
  ['row counts: default exact', {}, `sources: [{ postgres-env: DATABASE_URL }]\nencryption: { unencrypted: true }\ndestinations: [{ url: /x }]\n`, ENV, (o) => expect(o.sources[0]!.options!.rowCounts).toBe('exact')],
  ['compression: the file\'s', {}, BASE, ENV, (o) => expect(o.compression).toEqual({ algorithm: 'gzip', level: 9 })],
  ['compression: the flag wins (and the file\'s level is for gzip, so give one)', { compression: 'zstd', level: '5' }, BASE, ENV, (o) => expect(o.compression).toEqual({ algorithm: 'zstd', level: 5 })],
  ['compression: default zstd without a file', { to: ['/x'], files: [tree], unencrypted: true }, undefined, {}, (o) => expect(o.compression).toEqual({ algorithm: 'zstd', level: undefined })],
  ['labels: the file\'s', {}, BASE, ENV, (o) => expect(o.labels).toEqual(['nightly'])],
  ['labels: --label replaces the file\'s', { labels: ['pre-release'] }, BASE, ENV, (o) => expect(o.labels).toEqual(['pre-release'])],
  ['metadata: the file\'s, with --meta merged over it key by key', { meta: ['environment=staging', 'release=v1.4.2'] }, BASE, ENV, (o) => expect(o.metadata).toEqual({ app: 'clinic', environment: 'staging', release: 'v1.4.2' })],
  ['encryption: the file\'s recipients', {}, BASE, ENV, (o) => expect(o.encryption).toEqual({ recipients: [id1.recipient] })],
  ['encryption: --recipient replaces the file\'s', { recipients: [id2.recipient] }, BASE, ENV, (o) => expect(o.encryption).toEqual({ recipients: [id2.recipient] })],
  ['encryption: --passphrase-env replaces the file\'s recipients', { passphraseEnv: 'PP' }, BASE, { ...ENV, PP: 'a passphrase of many words' }, (o) => expect(o.encryption).toEqual({ passphrase: 'a passphrase of many words' })],
  ['encryption: the file\'s passphrase-env is read from the environment', {}, BASE.replace(/recipients: \[.*\]/, 'passphrase-env: PP'), { ...ENV, PP: 'a passphrase of many words' }, (o) => expect(o.encryption).toEqual({ passphrase: 'a passphrase of many words' })],
  ['lock: the file\'s lock-wait; --lock-wait wins', { lockWait: '30s' }, BASE, ENV, (o) => expect(o.lock?.waitMs).toBe(30_000)],
  ['lock: the file\'s lock-wait', {}, BASE, ENV, (o) => expect(o.lock?.waitMs).toBe(600_000)],
  ['signing: the file\'s key-env, read from the environment', {}, `${BASE}signing: { key-env: SIGNING_KEY }\n`, { ...ENV, SIGNING_KEY: formatPrivateKey(signing) }, (o) => expect(o.signingKey?.publicKey.raw).toEqual(signing.publicKey.raw)],
  ['signing: --sign-key wins over the file\'s', { signKeyFile }, `${BASE}signing: { key-env: UNSET_SIGNING_KEY }\n`, ENV, (o) => expect(o.signingKey?.publicKey.raw).toEqual(signing.publicKey.raw)],
];

describe('resolveBackupConfig', () => {
  it.each(backupRows)('%s', async (_rule, flags, text, env, check) => {
    const { r } = reporter();
    check(await resolveBackupConfig(flags, text === undefined ? undefined : file(text), env, r, { host: 'test' }));
  });

  it.each([
    ['a variable the file names is unset: the file, line and key are named', {}, BASE, {}, new RegExp(`${FILE}:3:5: sources\\[0\\]\\.postgres-env: environment variable DATABASE_URL is unset`)],
    ['the file\'s passphrase variable is empty', {}, BASE.replace(/recipients: \[.*\]/, 'passphrase-env: PP'), { ...ENV, PP: '' }, /encryption\.passphrase-env: environment variable PP is empty/],
    ['no destination anywhere', {}, 'sources: [{ files: media }]\nencryption: { unencrypted: true }\n', {}, /--to is required/],
    ['no key anywhere', { to: ['/x'], files: [tree] }, undefined, {}, /no encryption key given/],
    ['a bad --meta', { meta: ['novalue'] }, BASE, ENV, /a --meta value is not key=value \(the value is not shown\)/],
    ['a --meta key that is not allowed', { meta: ['a b=c'] }, BASE, ENV, /metadata key "a b" is not allowed/],
  ] as [string, BackupCommandSettings, string | undefined, Record<string, string>, RegExp][])('refuses: %s', async (_rule, flags, text, env, message) => {
    await expectUsage(resolveBackupConfig(flags, text === undefined ? undefined : file(text), env, reporter().r, { host: 'test' }), message);
  });

  it('opens the destinations with the environment it is given (credentials=NAME read from it, not process.env)', async () => {
    const { r } = reporter();
    const o = await resolveBackupConfig({ to: ['s3://bucket/db?endpoint=https://x.r2.cloudflarestorage.com&credentials=SBX'] }, file(BASE), { ...ENV, SBX_ACCESS_KEY_ID: 'AKIDSBX', SBX_SECRET_ACCESS_KEY: 'sbx-secret-value' }, r, { host: 'test' });
    expect(o.destinations.map((d) => d.display)).toEqual(['s3://bucket/db (x.r2.cloudflarestorage.com)']);
    expect(r.mask('sbx-secret-value')).toBe('***');
  });

  it('masks the secrets it reads before anything prints them', async () => {
    const { r } = reporter();
    await resolveBackupConfig({}, file(`${BASE}signing: { key-env: SIGNING_KEY }\n`), { ...ENV, SIGNING_KEY: formatPrivateKey(signing) }, r, { host: 'test' });
    const secretLine = formatPrivateKey(signing).split('\n')[1]!;
    expect(r.mask(`url ${PG_URL} key ${secretLine}`)).toBe('url *** key ***');
  });
});

type ReadRow<S> = [string, S, string | undefined, Record<string, string>, (o: Record<string, unknown> & { destination: { display: string } }) => void];
const restoreRows: ReadRow<RestoreSettings>[] = [
  ['--from: the file\'s first destination by default', {}, BASE, {}, (o) => expect(o.destination.display).toBe(join(work, 'repo-a'))],
  ['--from NAME stands for the file\'s location (a copy-to tier too)', { from: 'nas' }, BASE, {}, (o) => expect(o.destination.display).toBe(join(work, 'nas'))],
  ['--from a path is that path', { from: '/srv/other' }, BASE, {}, (o) => expect(o.destination.display).toBe('/srv/other')],
  ['key: the file\'s decryption.identity-file', {}, BASE, {}, (o) => expect(o.decrypt).toEqual({ identities: [expect.anything()] })],
  ['key: --passphrase-env replaces the file\'s identity', { passphraseEnv: 'PP' }, BASE, { PP: 'pass' }, (o) => expect(o.decrypt).toEqual({ passphrase: 'pass' })],
  ['trust: the file\'s trust list', {}, BASE, {}, (o) => expect((o.trusted as { raw: Uint8Array }[]).map((k) => Buffer.from(k.raw).toString('hex'))).toEqual([Buffer.from(signing.publicKey.raw).toString('hex')])],
  ['trust: --trust replaces the file\'s list', { trustFiles: [join(work, 'other.pub')] }, BASE, {}, (o) => expect((o.trusted as { raw: Uint8Array }[]).map((k) => Buffer.from(k.raw).toString('hex'))).toEqual([Buffer.from(otherSigning.publicKey.raw).toString('hex')])],
  ['selection: latest by default', {}, BASE, {}, (o) => expect(o.selection).toEqual({ selector: 'latest' })],
  ['targets: from the environment, masked', { postgresTargetEnv: 'TARGET' }, BASE, { TARGET: PG_URL }, (o) => expect(o.targets).toMatchObject({ postgres: PG_URL })],
];

describe('resolveRestoreConfig', () => {
  it.each(restoreRows)('%s', async (_rule, flags, text, env, check) => {
    check((await resolveRestoreConfig(flags, text === undefined ? undefined : file(text), env, reporter().r)) as never);
  });
  it('refuses a target given twice (URL and variable)', async () => {
    await expectUsage(resolveRestoreConfig({ postgresTarget: 'postgres://a@b/c', postgresTargetEnv: 'X' }, file(), { X: PG_URL }, reporter().r), /both name the target/);
  });
  it('masks a target URL\'s password', async () => {
    const { r } = reporter();
    await resolveRestoreConfig({ postgresTargetEnv: 'TARGET' }, file(), { TARGET: PG_URL }, r);
    expect(r.mask(PG_URL)).not.toContain('Pg-Secret-42');
  });
  it('without a file and without --from refuses, naming --from', async () => {
    await expectUsage(resolveRestoreConfig({}, undefined, {}, reporter().r), /--from is required/);
  });
});

const verifyRows: ReadRow<VerifySettings>[] = [
  ['--from: every destination of the file by default (compared across locations)', {}, BASE, {}, (o) => expect((o.destinations as { display: string }[]).map((d) => d.display)).toEqual([join(work, 'repo-a'), join(work, 'repo-b'), 's3://bucket/db'])],
  ['--from replaces the file\'s list', { from: ['second'] }, BASE, {}, (o) => expect((o.destinations as { display: string }[]).map((d) => d.display)).toEqual([join(work, 'repo-b')])],
  ['without --deep the file\'s key is not read (the backup job has none)', {}, BASE.replace('key.txt', 'missing.key'), {}, (o) => expect([o.deep, o.decrypt]).toEqual([false, undefined])],
  ['--deep uses the file\'s key', { deep: true }, BASE, {}, (o) => expect([o.deep, !!o.decrypt]).toEqual([true, true])],
  ['a key flag without --deep: the key is read (the core then verifies deep, saying why)', { identityFile }, BASE, {}, (o) => expect([o.deep, !!o.decrypt]).toEqual([false, true])],
  ['--max-age is parsed', { maxAge: '26h' }, BASE, {}, (o) => expect(o.maxAgeMs).toBe(26 * 3_600_000)],
];

describe('resolveVerifyConfig', () => {
  it.each(verifyRows)('%s', async (_rule, flags, text, env, check) => {
    check((await resolveVerifyConfig(flags, text === undefined ? undefined : file(text), env, reporter().r)) as never);
  });
  it.each([
    ['--deep without any key', {}, undefined],
    ['--deep with a file that has no decryption', {}, BASE.replace(/decryption:.*\n/, '')],
  ] as [string, VerifySettings, string | undefined][])('refuses %s: "--deep needs the key"', async (_what, flags, text) => {
    await expectUsage(resolveVerifyConfig({ ...flags, deep: true, from: ['/x'] }, text === undefined ? undefined : file(text), {}, reporter().r), /--deep needs the key/);
  });
});

const ROLLBACK: RollbackSettings = { backup: 'label:pre-release', confirm: 'app', postgresTarget: 'postgres://app@db/app' };
const rollbackRows: ReadRow<RollbackSettings>[] = [
  ['key: the file\'s decryption; safety-backup recipients: the file\'s encryption.recipients', ROLLBACK, BASE, {}, (o) => expect([!!o.decrypt, o.recipients]).toEqual([true, [id1.recipient]])],
  ['recipients: --recipient replaces the file\'s', { ...ROLLBACK, recipients: [id2.recipient] }, BASE, {}, (o) => expect(o.recipients).toEqual([id2.recipient])],
  ['selection and confirmation pass through', { ...ROLLBACK, before: 'abc1234' }, BASE, {}, (o) => expect([o.selection, o.confirm]).toEqual([{ selector: 'label:pre-release', before: 'abc1234' }, 'app'])],
  ['the file\'s lock-wait', ROLLBACK, BASE, {}, (o) => expect((o.lock as { waitMs: number }).waitMs).toBe(600_000)],
];

describe('resolveRollbackConfig', () => {
  it.each(rollbackRows)('%s', async (_rule, flags, text, env, check) => {
    check((await resolveRollbackConfig(flags, text === undefined ? undefined : file(text), env, reporter().r, { host: 't' })) as never);
  });
  it.each([
    ['no key anywhere', ROLLBACK, BASE.replace(/decryption:.*\n/, ''), /rollback needs the key/],
    ['no key and no file', { ...ROLLBACK, from: '/x' }, undefined, /rollback needs the key/],
    ['no --confirm', { ...ROLLBACK, confirm: undefined }, BASE, /rollback needs --confirm/],
    ['no --backup', { ...ROLLBACK, backup: undefined }, BASE, /rollback needs --backup/],
    ['a bad --recipient', { ...ROLLBACK, recipients: ['age1bad'] }, BASE, /not a valid age recipient/],
  ] as [string, RollbackSettings, string | undefined, RegExp][])('refuses: %s', async (_what, flags, text, message) => {
    await expectUsage(resolveRollbackConfig(flags, text === undefined ? undefined : file(text), {}, reporter().r, { host: 't' }), message);
  });
});

describe('resolveRetentionPlan and resolvePruneConfig', () => {
  const plan = (flags: Parameters<typeof resolveRetentionPlan>[1], text = BASE) => resolveRetentionPlan(file(text), flags).map((p) => [p.destination.display, p.policy, p.from]);
  it.each([
    ['each location its own policy; one without retention is not pruned', {}, [[join(work, 'repo-a'), { keepDaily: 7 }, 'file'], ['s3://bucket/db', { keepDaily: 30, keepMonthly: 12 }, 'file'], [join(work, 'nas'), { keepWeekly: 4 }, 'file']]],
    ['the flags\' policy applies to every location', { policy: { keepLast: '3' } }, [join(work, 'repo-a'), join(work, 'repo-b'), 's3://bucket/db', join(work, 'nas')].map((d) => [d, { keepLast: 3 }, 'flags'])],
    ['only the backup\'s destinations', { include: 'destinations' as const }, [[join(work, 'repo-a'), { keepDaily: 7 }, 'file'], ['s3://bucket/db', { keepDaily: 30, keepMonthly: 12 }, 'file']]],
    ['only the copy-to tiers', { include: 'copy-to' as const }, [[join(work, 'nas'), { keepWeekly: 4 }, 'file']]],
    ['a named location keeps its own policy', { locations: ['cloud'] }, [['s3://bucket/db', { keepDaily: 30, keepMonthly: 12 }, 'file']]],
    ['a location given by URL finds its policy in the file', { locations: [join(work, 'nas')] }, [[join(work, 'nas'), { keepWeekly: 4 }, 'file']]],
    ['a location the file does not list, without flags, is not pruned', { locations: ['/elsewhere'] }, []],
    ['the same folder spelled otherwise still finds its policy', { locations: [join(work, 'x', '..', 'nas')] }, [[join(work, 'nas'), { keepWeekly: 4 }, 'file']]],
  ])('%s', (_rule, flags, expected) => expect(plan(flags)).toEqual(expected));

  it('prune: one PruneOptions per location, with the file\'s group-by and lock', () => {
    const r = resolvePruneConfig({ dryRun: true }, file(`${BASE}group-by: labels\n`), {}, reporter().r);
    expect(r.map((p) => [p.destination.display, p.groupBy, p.dryRun, p.lock?.waitMs])).toEqual([
      [join(work, 'repo-a'), 'labels', true, 600_000],
      ['s3://bucket/db', 'labels', true, 600_000],
      [join(work, 'nas'), 'labels', true, 600_000],
    ]);
  });
  it.each([
    ['no policy anywhere', { from: ['second'] }, BASE, /the retention policy is empty/],
    ['no file and no --from', { keepLast: '3' }, undefined, /--from is required/],
    ['a bad count', { from: ['/x'], keepDaily: 'seven' }, undefined, /--keep-daily "seven" is not a whole number/],
  ] as [string, PruneSettings, string | undefined, RegExp][])('refuses: %s', async (_what, flags, text, message) => {
    await expectUsage(() => resolvePruneConfig(flags, text === undefined ? undefined : file(text), {}, reporter().r), message);
  });
});

describe('resolveCopyConfig', () => {
  it.each([
    ['from the first destination to the copy-to tiers by default', {}, [join(work, 'repo-a'), [join(work, 'nas')]]],
    ['--from and --to by name', { from: 'cloud', to: ['second'] }, ['s3://bucket/db', [join(work, 'repo-b')]]],
    ['--to replaces the copy-to list', { to: ['/mnt/usb'] }, [join(work, 'repo-a'), ['/mnt/usb']]],
  ] as [string, CopySettings, [string, string[]]][])('%s', (_rule, flags, [from, to]) => {
    const o = resolveCopyConfig(flags, file(), {}, reporter().r);
    expect([o.from.display, o.to.map((d) => d.display)]).toEqual([from, to]);
  });
  it.each([
    ['with the file and no selector: --new (what each tier lacks, newer than its newest)', {}, true, { newer: true, all: false }],
    ['--all given: every backup, not --new', { all: true }, true, { newer: false, all: true }],
    ['--backup given: only it', { backups: ['latest'] }, true, { newer: false, all: false, selectors: ['latest'] }],
    ['--label given: only those', { labels: ['nightly'] }, true, { newer: false, all: false, labels: ['nightly'] }],
    ['no file, no selector: nothing chosen (the core refuses to guess)', { from: '/a', to: ['/b'] }, false, { newer: false, all: false }],
  ] as [string, CopySettings, boolean, Record<string, unknown>][])('selection: %s', (_name, flags, withFile, expected) => {
    const o = resolveCopyConfig(flags, withFile ? file() : undefined, {}, reporter().r);
    expect(o).toMatchObject(expected);
  });
  it('a file without copy-to: tiers has nothing to copy to (no error: the nightly chain runs for every file)', () => {
    const noTiers = BASE.replace(/copy-to:\n  - url: nas\n    name: nas\n    retention: \{ keep-weekly: 4 \}\n/, '');
    expect(noTiers).not.toContain('copy-to');
    expect(resolveCopyConfig({}, file(noTiers), {}, reporter().r).to).toEqual([]);
  });
  it('refuses copying a location onto itself', async () => {
    await expectUsage(() => resolveCopyConfig({ from: 'local', to: ['local'] }, file(), {}, reporter().r), /same location/);
  });
  it('refuses when nothing says where to copy to', async () => {
    await expectUsage(() => resolveCopyConfig({ from: '/a' }, undefined, {}, reporter().r), /--to is required/);
  });
});

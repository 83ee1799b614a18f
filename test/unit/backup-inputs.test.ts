import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { getBackupInputs, type BackupInputs } from '../../src/actions/backup-inputs.js';
import { backupLocations, resolveBackupConfig, resolveCopyTiers } from '../../src/config/backup.js';
import { parseConfigText } from '../../src/config/file.js';
import { resolveRetentionPlan } from '../../src/config/locations.js';
import type { BackupOptions } from '../../src/core/backup.js';
import type { Reporter } from '../../src/shared/reporter.js';
import { UsageError } from '../../src/shared/errors.js';
import { runnerEnv } from '../helpers/actions.js';

/**
 * The backup action's inputs as the runner sets them (every declared input, "" when not
 * given) → one BackupInputs; then those inputs merged with a strongbox.yml by the same
 * resolver the CLI uses. An empty input must be "not given", or it would beat the file.
 */
const work = mkdtempSync(join(tmpdir(), 'strongbox-backup-inputs-'));
const tree = join(work, 'media');
mkdirSync(tree);
afterAll(() => rmSync(work, { recursive: true, force: true }));
const saved = { ...process.env };
beforeEach(() => vi.spyOn(process.stdout, 'write').mockImplementation(() => true));
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

function quietReporter() {
  const secrets: string[] = [];
  const r: Reporter = { debug: () => {}, info: () => {}, warning: () => {}, error: () => {}, setSecret: (s) => void secrets.push(s) };
  return { r, secrets };
}
const read = (given: Record<string, string>) => {
  runnerEnv(work, 'action.yml', given);
  const { r, secrets } = quietReporter();
  return { inputs: getBackupInputs(r), secrets };
};

const PASS = 'a passphrase of sixteen+ characters';
type Row = [string, Record<string, string>, (i: BackupInputs, secrets: string[]) => void];
const rows: Row[] = [
  [
    'nothing given: nothing set, no defaults filled in (the file or the resolver decides)',
    {},
    (i) => {
      expect(i.config).toBeUndefined();
      expect(i.copyTo).toEqual([]);
      expect(i.groupBy).toBeUndefined();
      expect(i.backup).toMatchObject({ to: [], files: [], labels: [], meta: [], recipients: [], compression: undefined, rowCounts: undefined, confirm: undefined, dbLockTimeout: undefined, lockWait: undefined, unencrypted: undefined, init: undefined, passphrase: undefined, signingKey: undefined });
      expect(i.backup.postgresOptions).toEqual({ schemas: [], excludeSchemas: [], tables: [], excludeTables: [], excludeTableData: [], pgBin: undefined });
      expect(Object.values(i.retention).filter((v) => v !== undefined && !(Array.isArray(v) && v.length === 0))).toEqual([]);
    },
  ],
  ['config: the path', { config: 'ops/strongbox.yml' }, (i) => expect(i.config).toBe('ops/strongbox.yml')],
  ['to: one location per line, blank lines dropped', { to: '/a\n\n  s3://b/p?credentials=R2  \n' }, (i) => expect(i.backup.to).toEqual(['/a', 's3://b/p?credentials=R2'])],
  ['label: lines and commas', { label: 'nightly, pre-release\nv1.4.2' }, (i) => expect(i.backup.labels).toEqual(['nightly', 'pre-release', 'v1.4.2'])],
  ['meta: key=value lines, kept whole (a value may hold a comma)', { meta: 'release=v1.4.2\nnote=a, b' }, (i) => expect(i.backup.meta).toEqual(['release=v1.4.2', 'note=a, b'])],
  ['recipient: lines and commas', { recipient: 'age1a,age1b\nage1c' }, (i) => expect(i.backup.recipients).toEqual(['age1a', 'age1b', 'age1c'])],
  ['passphrase: masked first, named for messages, kept from summaries', { passphrase: PASS }, (i) => {
    expect(i.backup.passphrase).toBe(PASS);
    expect(i.backup.passphraseSource).toBe('input passphrase');
    // core.setSecret: the runner masks it in every later log line.
    expect(vi.mocked(process.stdout.write).mock.calls.map((c) => String(c[0]))).toContain(`::add-mask::${PASS}\n`);
    expect(i.secrets).toEqual([PASS]);
  }],
  ['postgres: the URL\'s password masked', { postgres: 'postgres://u:Pw-99@h/db' }, (i, secrets) => {
    expect(i.backup.postgres).toEqual(['postgres://u:Pw-99@h/db']);
    expect(secrets).toContain('Pw-99');
  }],
  ['postgres options: patterns per line; row-security only when true', { schema: 'public\ntenant_*', 'exclude-table-data': 'audit.log', 'row-security': 'true', 'pg-bin': '/usr/lib/postgresql/16/bin' }, (i) =>
    expect(i.backup.postgresOptions).toEqual({ schemas: ['public', 'tenant_*'], excludeSchemas: [], tables: [], excludeTables: [], excludeTableData: ['audit.log'], rowSecurity: true, pgBin: '/usr/lib/postgresql/16/bin' })],
  ['booleans: true only when set', { unencrypted: 'true', init: 'true' }, (i) => expect(i.backup).toMatchObject({ unencrypted: true, init: true })],
  ['scalars: as given', { compression: 'gzip', level: '9', 'confirm-upload': 'size', 'row-counts': 'estimate', 'lock-wait': '10m', 'db-lock-timeout': '2m', 'deployed-sha': 'abcdef1' }, (i) =>
    expect(i.backup).toMatchObject({ compression: 'gzip', level: '9', confirm: 'size', rowCounts: 'estimate', lockWait: '10m', dbLockTimeout: '2m', deployedSha: 'abcdef1' })],
  ['storage: the global S3 settings', { endpoint: 'http://127.0.0.1:9000', region: 'auto', 'path-style': 'true', preset: 'minio' }, (i) =>
    expect(i.backup).toMatchObject({ endpoint: 'http://127.0.0.1:9000', region: 'auto', pathStyle: true, preset: 'minio' })],
  ['copy-to and retention', { 'copy-to': '/mnt/nas\nusb', 'keep-last': '3', 'keep-within': '7d', 'keep-label': 'release, pre-release', 'group-by': 'labels' }, (i) => {
    expect(i.copyTo).toEqual(['/mnt/nas', 'usb']);
    expect(i.retention).toMatchObject({ keepLast: '3', keepWithin: '7d', keepLabels: ['release', 'pre-release'] });
    expect(i.groupBy).toBe('labels');
  }],
  [
    'alert-*, fail-on-alert, quota, quota-alert, force-prune: read as given; empty ones stay unset',
    { 'alert-size-change': '30%', 'alert-duration-change': '0', 'alert-rows-drop': '10', 'fail-on-alert': 'true', quota: '200GB', 'quota-alert': '90%', 'force-prune': 'true' },
    (i) => {
      expect(i.backup).toMatchObject({ alertSizeChange: '30%', alertDurationChange: '0', alertRowsDrop: '10', failOnAlert: true, quota: '200GB', quotaAlert: '90%' });
      expect(i.forcePrune).toBe(true);
    },
  ],
  [
    'alert inputs not given: nothing set (the file\'s alerts: or the defaults apply)',
    {},
    (i) => {
      expect(i.backup).toMatchObject({ alertSizeChange: undefined, alertDurationChange: undefined, alertRowsDrop: undefined, failOnAlert: undefined, quota: undefined, quotaAlert: undefined });
      expect(i.forcePrune).toBe(false);
    },
  ],
];

describe('getBackupInputs: the action\'s inputs → BackupInputs', () => {
  it.each(rows)('%s', (_what, given, check) => {
    const { inputs, secrets } = read(given);
    check(inputs, secrets);
  });
});

const id1 = generateIdentity();
const id2 = generateIdentity();
const FILE = join(work, 'strongbox.yml');
const YML = `
sources:
  - files: media
    exclude: ["*.tmp"]
destinations:
  - url: repo-a
    name: local
    retention: { keep-last: 1 }
    quota: 1GB
  - url: repo-b
copy-to:
  - url: nas
    name: nas
    retention: { keep-last: 2 }
encryption:
  recipients: [${id1.recipient}]
labels: [nightly]
metadata: { app: clinic, environment: production }
compression: gzip
lock-wait: 10m
`;

type MergeRow = [string, Record<string, string>, (o: BackupOptions, i: BackupInputs) => void];
const merges: MergeRow[] = [
  ['no inputs: the file\'s destinations, sources, key, labels, metadata, compression, lock', {}, (o) => {
    expect(o.destinations.map((d) => d.display)).toEqual([join(work, 'repo-a'), join(work, 'repo-b')]);
    expect(o.sources).toEqual([{ kind: 'files', location: tree, options: { exclude: ['*.tmp'] } }]);
    expect(o.encryption).toEqual({ recipients: [id1.recipient] });
    expect(o.labels).toEqual(['nightly']);
    expect(o.metadata).toEqual({ app: 'clinic', environment: 'production' });
    expect(o.compression.algorithm).toBe('gzip');
    expect(o.lock?.waitMs).toBe(600_000);
  }],
  ['to replaces the destinations (a name stands for the file\'s location)', { to: 'local' }, (o) => expect(o.destinations.map((d) => d.display)).toEqual([join(work, 'repo-a')])],
  ['files replaces the sources', { files: work }, (o) => expect(o.sources).toEqual([{ kind: 'files', location: work, options: { exclude: [] } }])],
  ['label replaces the labels; meta merges over the metadata', { label: 'pre-release', meta: 'environment=staging\nrelease=v2' }, (o) => {
    expect(o.labels).toEqual(['pre-release']);
    expect(o.metadata).toEqual({ app: 'clinic', environment: 'staging', release: 'v2' });
  }],
  ['recipient replaces the file\'s encryption', { recipient: id2.recipient }, (o) => expect(o.encryption).toEqual({ recipients: [id2.recipient] })],
  ['compression and lock-wait inputs win', { compression: 'zstd', 'lock-wait': '30s' }, (o) => {
    expect(o.compression.algorithm).toBe('zstd');
    expect(o.lock?.waitMs).toBe(30_000);
  }],
];

describe('BackupInputs merged with a config file (resolveBackupConfig)', () => {
  it.each(merges)('%s', async (_what, given, check) => {
    const { inputs } = read(given);
    const { r } = quietReporter();
    const options = await resolveBackupConfig(inputs.backup, parseConfigText(YML, FILE), process.env, r);
    check(options, inputs);
  });

  it('retention per location: each its own retention:, keep-* inputs for all; tiers from the file or copy-to', async () => {
    const file = parseConfigText(YML, FILE);
    const { r } = quietReporter();
    const plan = async (given: Record<string, string>) => {
      const { inputs } = read(given);
      const o = await resolveBackupConfig(inputs.backup, file, process.env, r);
      const tiers = resolveCopyTiers(inputs.copyTo, file, inputs.backup, o.destinations, r, process.env);
      return resolveRetentionPlan(file, { policy: inputs.retention, opened: [...backupLocations(o, inputs.backup, file), ...tiers] }).map((e) => [e.destination.display, e.policy.keepLast, e.from]);
    };
    // repo-b has no retention: it is not pruned.
    expect(await plan({})).toEqual([[join(work, 'repo-a'), 1, 'file'], [join(work, 'nas'), 2, 'file']]);
    expect(await plan({ 'keep-last': '5' })).toEqual([[join(work, 'repo-a'), 5, 'flags'], [join(work, 'repo-b'), 5, 'flags'], [join(work, 'nas'), 5, 'flags']]);
    // copy-to given replaces the file's tiers; a location not in the file has no retention of its own.
    expect(await plan({ 'copy-to': join(work, 'usb') })).toEqual([[join(work, 'repo-a'), 1, 'file']]);
    expect(await plan({ 'copy-to': 'nas' })).toEqual([[join(work, 'repo-a'), 1, 'file'], [join(work, 'nas'), 2, 'file']]);
  });

  it('a copy-to tier that is also a destination is refused before anything runs', async () => {
    const file = parseConfigText(YML, FILE);
    const { r } = quietReporter();
    const o = await resolveBackupConfig({}, file, process.env, r);
    const err = (() => {
      try {
        resolveCopyTiers(['local'], file, {}, o.destinations, r, process.env);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`copy-to names ${join(work, 'repo-a')}, which is also a destination of the backup`);
  });
});

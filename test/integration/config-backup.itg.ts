import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { runBackupAction } from '../../src/actions/backup.js';
import { resetCancellation } from '../../src/shared/cancel.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { testDatabases } from '../helpers/pg.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * A strongbox.yml with two sources (a PostgreSQL database with a schema left out, a file
 * tree) and three destinations (a local folder, two S3 stores each accepting only its own
 * keys), driven by the real CLI and by the backup action: flags override the file, the
 * action copies to a fourth location and prunes each with its own policy, a tier that fails
 * makes the run partial, and a tiny quota warns.
 */
const BUCKET = 'backups';
const KEYS = {
  r2: { accessKeyId: 'R2KEYID0000000000001', secretAccessKey: 'r2-secret-0000000000000000000000000001' },
  b2: { accessKeyId: 'B2KEYID0000000000002', secretAccessKey: 'b2-secret-0000000000000000000000000002' },
};
const dbs = testDatabases();
let work: string;
let r2: S3rverHandle;
let b2: S3rverHandle;
let env: Record<string, string>;
let configFile: string;
let identityFile: string;
let appDb: string;
const local = () => join(work, 'local');
const nas = () => join(work, 'nas');
const r2Url = () => `s3://${BUCKET}/db?endpoint=${r2.endpoint}&region=us-east-1&path-style=true&credentials=R2`;
const b2Url = () => `s3://${BUCKET}/db?endpoint=${b2.endpoint}&region=us-east-1&path-style=true&credentials=B2`;
const r2Display = () => `s3://${BUCKET}/db (${new URL(r2.endpoint).host})`;

const cli = (args: string[]): Promise<CliResult> => runCli(args, { env });

async function listed(from: string): Promise<string[]> {
  const r = await cli(['list', '--from', from, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }[]).map((e) => e.id);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-config-backup-'));
  const tree = join(work, 'media');
  mkdirSync(tree);
  writeFileSync(join(tree, 'scan.txt'), 'x-ray of tooth 14\n');
  writeFileSync(join(tree, 'upload.tmp'), 'half an upload\n');
  const db = await dbs.create('cfgbackup', `
    CREATE TABLE public.patients (id int PRIMARY KEY, name text);
    INSERT INTO public.patients VALUES (1, 'Ada'), (2, 'Grace');
    CREATE SCHEMA scratch;
    CREATE TABLE scratch.tmp (id int);
    INSERT INTO scratch.tmp VALUES (1);
  `);
  appDb = db.url;
  [r2, b2] = await Promise.all([startS3rver({ bucket: BUCKET, ...KEYS.r2 }), startS3rver({ bucket: BUCKET, ...KEYS.b2 })]);
  const id = generateIdentity();
  identityFile = join(work, 'key.txt');
  writeFileSync(identityFile, `${id.identity}\n`, { mode: 0o600 });
  env = {
    APP_DB: appDb,
    R2_ACCESS_KEY_ID: KEYS.r2.accessKeyId,
    R2_SECRET_ACCESS_KEY: KEYS.r2.secretAccessKey,
    B2_ACCESS_KEY_ID: KEYS.b2.accessKeyId,
    B2_SECRET_ACCESS_KEY: KEYS.b2.secretAccessKey,
    // No default credentials chain: each store is reached only with its own named keys.
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
  };
  configFile = join(work, 'strongbox.yml');
  // Relative paths start from the file's folder. The local quota is tiny: every backup exceeds it.
  writeFileSync(
    configFile,
    `version: 1
sources:
  - postgres-env: APP_DB
    exclude-schema: [scratch]
  - files: media
    exclude: ["*.tmp"]
destinations:
  - url: local
    name: local
    retention: { keep-last: 1 }
    quota: 1KB
  - url: ${r2Url()}
    name: r2
  - url: ${b2Url()}
    name: b2
copy-to:
  - url: nas
    name: nas
    retention: { keep-last: 2 }
encryption:
  recipients: [${id.recipient}]
labels: [nightly]
metadata: { app: clinic }
compression: gzip
`,
  );
});
afterAll(async () => {
  await dbs.dropAll();
  await Promise.all([r2?.stop(), b2?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

interface BackupJson {
  id: string;
  status: string;
  labels: string[];
  destinations: { location: string; status: string }[];
  artifacts: { name: string; kind: string }[];
  quota: { location: string; usedBytes: number; quotaBytes: number }[];
}

let firstId: string;

describe('strongbox backup --config', () => {
  it('commits at the three destinations with each source\'s own options; the left-out schema is absent after a restore', async () => {
    const r = await cli(['backup', '--config', configFile, '--init', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as BackupJson;
    firstId = json.id;
    expect(json.status).toBe('success');
    expect(json.labels).toEqual(['nightly']);
    expect(json.destinations.map((d) => [d.location, d.status])).toEqual([
      [local(), 'committed'],
      [r2Display(), 'committed'],
      [`s3://${BUCKET}/db (${new URL(b2.endpoint).host})`, 'committed'],
    ]);
    expect(json.artifacts.map((a) => a.kind).sort()).toEqual(['files', 'postgres']);
    const manifest = JSON.parse(readFileSync(join(local(), firstId, 'manifest.json'), 'utf8')) as { metadata?: Record<string, string>; artifacts: { compression: { algorithm: string } }[] };
    expect(manifest.metadata).toEqual({ app: 'clinic' });
    expect(manifest.artifacts.every((a) => a.compression.algorithm === 'gzip')).toBe(true);
    // The quota (1KB) is a warning naming the location, never a failure.
    expect(json.quota).toEqual([{ location: local(), usedBytes: expect.any(Number), quotaBytes: 1000, alert: expect.objectContaining({ kind: 'quota', subject: local(), baseline: 1000 }) }]);
    expect(json.quota[0]!.usedBytes).toBeGreaterThan(1000);
    // The CLI backup only backs up: the file's tiers and retention are left to copy/prune.
    expect(r.stderr).toContain(`backup ${firstId} was not copied or pruned: then run strongbox copy --config ${configFile} and strongbox prune --config ${configFile}`);
    expect(r.stderr).toMatch(new RegExp(`${local().replace(/[/.]/g, '\\$&')} is OVER its quota: it holds [\\d.]+ KiB of its 1000 B quota`));

    // Restored from the R2 store (its own keys): the scratch schema was left out, *.tmp too.
    const target = await dbs.create('cfgrestore', 'SELECT 1');
    const files = join(work, 'restored-files');
    const restored = await cli(['restore', '--from', r2Url(), '--backup', firstId, '--identity-file', identityFile, '--postgres-target', target.url, '--files-target', files]);
    expect(restored.code, restored.stderr).toBe(0);
    expect((await target.sql('SELECT name FROM public.patients ORDER BY id')).trim().split('\n')).toEqual(['Ada', 'Grace']);
    expect((await target.sql("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'scratch'")).trim()).toBe('0');
    expect(readFileSync(join(files, 'scan.txt'), 'utf8')).toBe('x-ray of tooth 14\n');
    expect(() => readFileSync(join(files, 'upload.tmp'))).toThrow();
  });

  it('flags override the file: --to replaces the destinations, --label the labels', async () => {
    const elsewhere = join(work, 'elsewhere');
    const r = await cli(['backup', '--config', configFile, '--to', elsewhere, '--init', '--label', 'manual', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as BackupJson;
    expect(json.destinations.map((d) => d.location)).toEqual([elsewhere]);
    expect(json.labels).toEqual(['manual']);
    // Not in the file: no quota of its own.
    expect(json.quota).toEqual([]);
    expect(await listed(elsewhere)).toEqual([json.id]);
    // The file's destinations were not written.
    expect(await listed(local())).toEqual([firstId]);
  });
});

describe('the backup action with config:', () => {
  // @actions/core keeps the first summary path it sees: one file, emptied for each test.
  const summaryFile = () => {
    const f = join(work, 'summary.md');
    writeFileSync(f, '');
    return f;
  };
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    process.exitCode = undefined;
    vi.restoreAllMocks();
    resetCancellation();
  });

  it('copies to the file\'s copy-to tier, verifies it, then prunes each location with its own policy', async () => {
    // Two more backups at the three destinations, and all three copied to the NAS first, so
    // retention has something to remove at both ends.
    const ids = [firstId];
    for (let i = 0; i < 2; i++) {
      const r = await cli(['backup', '--config', configFile, '--init', '--json']);
      expect(r.code, r.stderr).toBe(0);
      ids.push((JSON.parse(r.stdout) as BackupJson).id);
    }
    const seeded = await cli(['copy', '--from', local(), '--to', nas(), '--all', '--init']);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(await listed(nas())).toEqual(ids);

    const summary = summaryFile();
    const log = captureLog();
    const out = runnerEnv(work, 'action.yml', { config: configFile }, { ...env, GITHUB_STEP_SUMMARY: summary });
    await runBackupAction();
    const o = outputs(out);
    expect(o.status, log.join('')).toBe('success');
    expect(o['exit-code']).toBe('0');
    const id = o['backup-id']!;
    expect(JSON.parse(o.copied!)).toEqual([nas()]);
    const dests = JSON.parse(o.destinations!) as { location: string; status: string; tier?: string; pruned?: string[] }[];
    expect(dests.map((d) => [d.location, d.status, d.tier ?? 'destination'])).toEqual([
      [local(), 'committed', 'destination'],
      [r2Display(), 'committed', 'destination'],
      [`s3://${BUCKET}/db (${new URL(b2.endpoint).host})`, 'committed', 'destination'],
      [nas(), 'committed', 'copy-to'],
    ]);
    expect(log.join('')).toContain(`backup ${id} copied from ${local()} to ${nas()} and verified there`);
    // local keep-last 1; the S3 stores have no retention (not pruned); the NAS keep-last 2.
    expect(await listed(local())).toEqual([id]);
    expect(await listed(r2Url())).toEqual([...ids, id]);
    expect(await listed(nas())).toEqual([ids[2], id]);
    // As sets: backups started in the same second have ids whose order within it is random.
    expect([...dests[0]!.pruned!].sort()).toEqual([...ids].sort());
    expect(dests[1]!.pruned).toBeUndefined();
    expect([...dests[3]!.pruned!].sort()).toEqual(ids.slice(0, 2).sort());
    expect(JSON.parse(o.pruned!).sort()).toEqual([...ids].sort());
    const s = readFileSync(summary, 'utf8');
    expect(s).toMatch(/<th>Destination<\/th><th>Status<\/th><th>Reason<\/th><th>Pruned<\/th>/);
    // (@actions/core writes an empty cell as a bare <td>)
    expect(s).toContain(`<td><code>${nas()}</code> (copy-to)</td><td>copied</td><td><td>${[...dests[3]!.pruned!].map((x) => `<code>${x}</code>`).join(' ')}</td>`);
    expect(s).toMatch(new RegExp(`Quota: <code>${local().replace(/[/.]/g, '\\$&')}</code> [\\d.]+ KiB of 1000 B \\(\\d+%\\) OVER`));
    expect(log.join('')).toMatch(/::warning::.* is OVER its quota/);
  });

  it('a tier that cannot be reached: partial, exit-code 8, the tier named with its reason; the destination still pruned', async () => {
    const before = await listed(local());
    const down = `s3://${BUCKET}/tier?endpoint=http://127.0.0.1:9&region=us-east-1&path-style=true&credentials=R2`;
    const summary = summaryFile();
    const log = captureLog();
    const out = runnerEnv(work, 'action.yml', { config: configFile, to: 'local', 'copy-to': down }, { ...env, GITHUB_STEP_SUMMARY: summary });
    await runBackupAction();
    const o = outputs(out);
    expect(o.status, log.join('')).toBe('partial');
    expect(o['exit-code']).toBe('8');
    expect(process.exitCode).toBe(1);
    const id = o['backup-id']!;
    expect(JSON.parse(o.copied!)).toEqual([]);
    const dests = JSON.parse(o.destinations!) as { location: string; status: string; tier?: string; error?: string }[];
    expect(dests.map((d) => [d.location, d.status, d.tier])).toEqual([
      [local(), 'committed', undefined],
      [`s3://${BUCKET}/tier (127.0.0.1:9)`, 'failed', 'copy-to'],
    ]);
    expect(dests[1]!.error).toMatch(/ECONNREFUSED|connect/);
    expect(log.join('')).toMatch(new RegExp(`::error::backup ${id} is committed at ${local().replace(/[/.]/g, '\\$&')} but failed at s3://${BUCKET}/tier \\(127\\.0\\.0\\.1:9\\) \\(`));
    // The destination where it committed is still pruned by its own policy.
    expect(await listed(local())).toEqual([id]);
    expect(before).not.toContain(id);
    expect(readFileSync(summary, 'utf8')).toContain('Strongbox backup: PARTIAL');
  });
});

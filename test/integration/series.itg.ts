import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

/**
 * A repository holding two series, as the example workflows make: a files backup (nightly)
 * and PostgreSQL-only pre-deploy snapshots. The real CLI as a child process, the real
 * PostgreSQL server, a local folder.
 */
const PASS = 'correct horse battery staple 42';
const env = { STRONGBOX_PASS: PASS, GITHUB_SHA: '', GITHUB_REF: '', GITHUB_RUN_ID: '', GITHUB_REPOSITORY: '' };

let work: string;
let src: string;
let db: TestDatabase;
const scratch: TestDatabase[] = [];

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { env });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-series-'));
  src = join(work, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'sub', 'b.txt'), 'beta\n');
  db = await createTestDatabase('series');
  await db.sql(`CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)`);
}, 60_000);

afterAll(async () => {
  for (const d of [db, ...scratch]) await d?.drop().catch(() => undefined);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The repository: `backup --files src`, then three `backup --postgres …`. */
async function twoSeries(repo: string): Promise<{ files: string; dbs: string[] }> {
  const files = await ok(['backup', '--to', repo, '--init', '--files', src, '--passphrase-env', 'STRONGBOX_PASS']);
  const dbs: string[] = [];
  for (let i = 0; i < 3; i++) dbs.push(await ok(['backup', '--to', repo, '--postgres', db.url, '--passphrase-env', 'STRONGBOX_PASS', '--label', 'pre-release']));
  return { files, dbs };
}

interface PruneJson {
  groupBy: string;
  series: { name: string; kept: number; removed: number }[];
  kept: { id: string; series: string; reasons: string[] }[];
  removed: { id: string; series: string }[];
  unmatchedLabels: string[];
}

describe('retention per series (issue: prune deleted the only files backup)', () => {
  it('prune --keep-last 2 --keep-daily 1 keeps the files backup, and restore --files-target restores it', async () => {
    const repo = join(work, 'repo-issue');
    const { files, dbs } = await twoSeries(repo);

    const pruned = await cli(['prune', '--from', repo, '--keep-last', '2', '--keep-daily', '1']);
    expect(pruned.code, pruned.stderr).toBe(0);
    const listed = JSON.parse(await ok(['list', '--from', repo, '--json'])) as { id: string }[];
    expect(listed.map((b) => b.id).sort()).toEqual([files, dbs[1]!, dbs[2]!].sort());
    // Text output is grouped by series.
    expect(pruned.stdout).toMatch(/series files-src\n\s+keep\s+\S+/);
    expect(pruned.stdout).toMatch(new RegExp(`series postgres-${db.name}\\n(\\s+keep .*\\n){2}\\s+remove ${dbs[0]}`));

    // The default --backup latest picks the newest backup that holds files, not the newer db snapshot.
    const target = join(work, 'restored-issue');
    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_PASS', '--files-target', target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).backupId).toBe(files);
    expect(readFileSync(join(target, 'sub', 'b.txt'), 'utf8')).toBe('beta\n');
  });

  it('--json shows each backup\'s series; --group-by none is the old single series; a bad --group-by exits 2', async () => {
    const repo = join(work, 'repo-json');
    const { files, dbs } = await twoSeries(repo);
    const dry = JSON.parse(await ok(['prune', '--from', repo, '--keep-last', '1', '--dry-run', '--json'])) as PruneJson;
    expect(dry.groupBy).toBe('sources');
    expect(dry.series).toEqual([
      { name: 'files-src', kept: 1, removed: 0 },
      { name: `postgres-${db.name}`, kept: 1, removed: 2 },
    ]);
    expect(dry.kept).toEqual(expect.arrayContaining([expect.objectContaining({ id: files, series: 'files-src' }), expect.objectContaining({ id: dbs[2], series: `postgres-${db.name}` })]));

    const none = JSON.parse(await ok(['prune', '--from', repo, '--keep-last', '1', '--group-by', 'none', '--dry-run', '--json'])) as PruneJson;
    expect(none.kept.map((k) => k.id)).toEqual([dbs[2]]);
    expect(none.removed.map((k) => k.id)).toContain(files);

    const bad = await cli(['prune', '--from', repo, '--keep-last', '1', '--group-by', 'hosts']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--group-by "hosts" is not one of sources, labels, sources,labels, none/);
  });

  it('a --keep-label that matches nothing is reported; alone, prune is refused (exit 2) and deletes nothing', async () => {
    const repo = join(work, 'repo-label');
    const { files, dbs } = await twoSeries(repo);
    const all = [files, ...dbs].sort();
    const ids = async () => (JSON.parse(await ok(['list', '--from', repo, '--json'])) as { id: string }[]).map((b) => b.id).sort();

    const refused = await cli(['prune', '--from', repo, '--keep-label', 'pre-relaese']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--keep-label pre-relaese matches no backup/);
    expect(refused.stderr).toMatch(/labels in this repository: pre-release/);
    expect(await ids()).toEqual(all);

    const warned = await cli(['prune', '--from', repo, '--keep-label', 'pre-relaese', '--keep-last', '5', '--json']);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/--keep-label pre-relaese matches no backup/);
    expect((JSON.parse(warned.stdout) as PruneJson).unmatchedLabels).toEqual(['pre-relaese']);
    expect(await ids()).toEqual(all);
  });
});

describe('sources that share an artifact name are different series (trial: prune removed the only y/data backup)', () => {
  it('x/data and y/data are both files-data, yet prune --keep-last 2 keeps the only y/data backup', async () => {
    const repo = join(work, 'repo-same-name');
    const x = join(work, 'x', 'data');
    const y = join(work, 'y', 'data');
    for (const d of [x, y]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'f.txt'), `${d}\n`);
    }
    await ok(['init', '--to', repo]);
    const onlyY = await ok(['backup', '--to', repo, '--files', y, '--passphrase-env', 'STRONGBOX_PASS']);
    const xs: string[] = [];
    for (let i = 0; i < 3; i++) xs.push(await ok(['backup', '--to', repo, '--files', x, '--passphrase-env', 'STRONGBOX_PASS']));

    const pruned = await cli(['prune', '--from', repo, '--keep-last', '2', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    const json = JSON.parse(pruned.stdout) as PruneJson;
    expect(json.removed.map((r) => r.id)).toEqual([xs[0]]);
    // The names stay the artifact names, extended with the path only because two would collide.
    expect(json.series).toEqual([
      { name: `files-data (${x})`, kept: 2, removed: 1 },
      { name: `files-data (${y})`, kept: 1, removed: 0 },
    ]);
    const listed = (JSON.parse(await ok(['list', '--from', repo, '--json'])) as { id: string }[]).map((b) => b.id).sort();
    expect(listed).toEqual([onlyY, xs[1]!, xs[2]!].sort());
    const target = join(work, 'y-restored');
    await ok(['restore', '--from', repo, '--backup', onlyY, '--passphrase-env', 'STRONGBOX_PASS', '--files-target', target]);
    expect(readFileSync(join(target, 'f.txt'), 'utf8')).toBe(`${y}\n`);

    // --files x --files y are files-data and files-data-2 by argument order: every list that
    // asks for --only NAME shows which tree each name holds.
    const both = await ok(['backup', '--to', repo, '--files', y, '--files', x, '--passphrase-env', 'STRONGBOX_PASS']);
    const r = await cli(['restore', '--from', repo, '--backup', both, '--passphrase-env', 'STRONGBOX_PASS', '--files-target', join(work, 'both')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`several files artifacts (files-data (files: ${y}), files-data-2 (files: ${x}))`);
    const only = await cli(['restore', '--from', repo, '--backup', both, '--passphrase-env', 'STRONGBOX_PASS', '--files-target', join(work, 'both'), '--only', 'files-data-2']);
    expect(only.code, only.stderr).toBe(0);
    expect(only.stderr).toContain(`restoring files-data-2 (files: ${x}) → ${join(work, 'both')}`);
    expect((await cli(['list', '--from', repo])).stdout).toContain(`files-data (files: ${y}), files-data-2 (files: ${x})`);
  });
});

describe('restore --backup latest picks a backup that can be restored', () => {
  it('a newer files-only backup does not hide the database backup; an explicit id lacking the kind is refused clearly', async () => {
    const repo = join(work, 'repo-latest');
    const dbBackup = await ok(['backup', '--to', repo, '--init', '--postgres', db.url, '--passphrase-env', 'STRONGBOX_PASS']);
    const filesBackup = await ok(['backup', '--to', repo, '--files', src, '--passphrase-env', 'STRONGBOX_PASS']);
    const target = await createTestDatabase('series_target');
    scratch.push(target);

    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_PASS', '--postgres-target', target.url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).backupId).toBe(dbBackup);
    expect((await target.sql('SELECT count(*) FROM t')).trim()).toBe('10');

    const explicit = await cli(['restore', '--from', repo, '--backup', filesBackup, '--passphrase-env', 'STRONGBOX_PASS', '--postgres-target', target.url, '--force']);
    expect(explicit.code).toBe(2);
    expect(explicit.stderr).toMatch(new RegExp(`backup ${filesBackup} \\(selected by ${filesBackup}\\) holds no postgres data`));

    const none = await cli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_PASS', '--files-target', join(work, 'x'), '--only', 'files-nothere']);
    expect(none.code).toBe(4);
    // --only names the artifact: --files-target may take another kind's collection (a bucket as files), so the name alone is asked for.
    expect(none.stderr).toMatch(/no complete backup matches latest holding artifact "files-nothere"/);
  });
});

describe('git-sha in --json: the release to redeploy; backupRunSha: the run that took the backup', () => {
  it('list, restore and rollback agree for a pre-deploy snapshot that recorded --deployed-sha', async () => {
    const RUN = '2e5d0ffee1234567890abcdef1234567890abcd2';
    const DEPLOYED = '1f4c0ffee1234567890abcdef1234567890abcd1';
    const repo = join(work, 'repo-sha');
    const site = join(work, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), 'v1\n');
    const keyFile = join(work, 'sha-key.txt');
    const kg = await cli(['keygen', '--output', keyFile]);
    expect(kg.code, kg.stderr).toBe(0);
    const recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];
    const b = await runCli(['backup', '--to', repo, '--init', '--files', site, '--recipient', recipient, '--deployed-sha', DEPLOYED, '--deployed-ref', 'refs/tags/v1.4.1'], {
      env: { ...env, GITHUB_SHA: RUN, GITHUB_REF: 'refs/tags/v1.5.0' },
    });
    expect(b.code, b.stderr).toBe(0);
    const id = b.stdout.trim();
    const expected = { gitSha: DEPLOYED, gitRef: 'refs/tags/v1.4.1', backupRunSha: RUN, backupRunRef: 'refs/tags/v1.5.0' };

    const listed = JSON.parse(await ok(['list', '--from', repo, '--json'])) as object[];
    expect(listed).toEqual([expect.objectContaining({ id, ...expected })]);
    const restored = JSON.parse(await ok(['restore', '--from', repo, '--identity-file', keyFile, '--files-target', join(work, 'site-copy'), '--json']));
    expect(restored).toMatchObject({ backupId: id, ...expected });

    writeFileSync(join(site, 'index.html'), 'v2\n');
    const rb = await cli(['rollback', '--from', repo, '--backup', 'latest', '--identity-file', keyFile, '--files-target', site, '--confirm', 'site', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(JSON.parse(rb.stdout)).toMatchObject({ backupId: id, gitShaSource: 'deployed-sha', ...expected });
    expect(rb.stderr).toContain(`release to redeploy: git ${DEPLOYED.slice(0, 12)} refs/tags/v1.4.1 (the recorded deployed sha)`);
    expect(readFileSync(join(site, 'index.html'), 'utf8')).toBe('v1\n');
  });
});

describe('rollback --backup latest picks a snapshot that holds the target kind', () => {
  it('a newer database-only backup does not hide the files snapshot', async () => {
    const repo = join(work, 'repo-rollback-latest');
    const site = join(work, 'site-latest');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), 'v1\n');
    const files = await ok(['backup', '--to', repo, '--init', '--files', site, '--passphrase-env', 'STRONGBOX_PASS']);
    await ok(['backup', '--to', repo, '--postgres', db.url, '--passphrase-env', 'STRONGBOX_PASS']);
    writeFileSync(join(site, 'index.html'), 'v2\n');
    const rb = await cli(['rollback', '--from', repo, '--backup', 'latest', '--passphrase-env', 'STRONGBOX_PASS', '--files-target', site, '--confirm', 'site-latest', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(JSON.parse(rb.stdout).backupId).toBe(files);
    expect(readFileSync(join(site, 'index.html'), 'utf8')).toBe('v1\n');
  });
});

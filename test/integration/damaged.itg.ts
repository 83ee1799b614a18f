import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult, untimed } from '../helpers/cli.js';

/**
 * Damaged backups (a manifest that is there but cannot be read) through the real CLI: list,
 * verify, restore and rollback give one answer, and an unknown format says "upgrade".
 */
const PASS = 'correct horse battery staple 42';
const env = { SB_PASS: PASS, GITHUB_SHA: '', GITHUB_REF: '', GITHUB_RUN_ID: '', GITHUB_REPOSITORY: '' };
let work: string;
let tree: string;

const cli = (args: string[]): Promise<CliResult> => runCli(args, { env });

async function backupTo(repo: string): Promise<string> {
  const r = await cli(['backup', '--to', repo, '--init', '--files', tree, '--passphrase-env', 'SB_PASS']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-damaged-'));
  tree = join(work, 'data');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a damaged backup gets one answer (trial item 10)', () => {
  it('a lone backup with a corrupt manifest: list shows it DAMAGED, restore and rollback of latest exit 3 naming it', async () => {
    const repo = join(work, 'repo-lone');
    const id = await backupTo(repo);
    writeFileSync(join(repo, id, 'manifest.json'), '{"format": "1.0", "id": ');

    const list = await cli(['list', '--from', repo]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id} DAMAGED: manifest .* is not valid JSON`, 'm'));
    const json = JSON.parse((await cli(['list', '--from', repo, '--json'])).stdout) as { id: string; damaged?: string }[];
    expect(json).toEqual([expect.objectContaining({ id, complete: false, damaged: expect.stringContaining('not valid JSON') })]);

    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--files-target', join(work, 'out-lone')]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`backup ${id} is damaged`);
    expect(r.stderr).not.toContain('holds no complete backup');
    const rb = await cli(['rollback', '--from', repo, '--backup', 'latest', '--passphrase-env', 'SB_PASS', '--files-target', tree, '--confirm', 'data']);
    expect(rb.code, rb.stderr).toBe(3);
    expect(rb.stderr).toContain(`backup ${id} is damaged`);
    expect(readFileSync(join(tree, 'a.txt'), 'utf8')).toBe('alpha\n');
  });

  it('newest damaged, an older complete one: restore of latest restores the older one and says the newer is damaged', async () => {
    const repo = join(work, 'repo-newer');
    const older = await backupTo(repo);
    const newer = await backupTo(repo);
    writeFileSync(join(repo, newer, 'manifest.json'), '{}');
    const target = join(work, 'out-newer');
    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--files-target', target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).backupId).toBe(older);
    expect(r.stderr).toContain(`newer backup(s) ${newer} is damaged`);
    expect(r.stderr).toContain(`using the older complete backup ${older}`);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('alpha\n');
  });

  it('a manifest of an unknown major format says "upgrade Strongbox", in list, verify and restore alike', async () => {
    const repo = join(work, 'repo-format');
    const id = await backupTo(repo);
    const path = join(repo, id, 'manifest.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/"format": "1\.0"/, '"format": "9.0"'));

    const list = await cli(['list', '--from', repo]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id} DAMAGED: manifest .* has format 9\\.0, which this Strongbox .* cannot read \\(upgrade Strongbox to read it\\)`, 'm'));
    for (const args of [['verify', '--from', repo], ['verify', '--from', repo, '--backup', id], ['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--files-target', join(work, 'out-format')]]) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(3);
      expect(r.stderr).toContain(`backup ${id}`);
      expect(r.stderr).toContain('upgrade Strongbox to read it');
      expect(r.stderr).not.toMatch(/run a new backup/);
    }
  });
});

describe('exit codes and key errors say what happened (trial items 13, 17)', () => {
  it('restore of a backup whose object is missing exits 3 (damaged), like verify', async () => {
    const repo = join(work, 'repo-missing');
    const id = await backupTo(repo);
    rmSync(join(repo, id, 'files-data.tar.zst.age'));
    const target = join(work, 'out-missing');
    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--files-target', target]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`backup ${id} is damaged: files-data (${repo}/${id}/files-data.tar.zst.age) is missing`);
    const v = await cli(['verify', '--from', repo]);
    expect(v.code, v.stderr).toBe(3);
  });

  it('verify with a whitespace-only passphrase exits 2; a missing identity file is named in a sentence', async () => {
    const repo = join(work, 'repo-keys');
    await backupTo(repo);
    const blank = await runCli(['verify', '--from', repo, '--passphrase-env', 'SB_PASS'], { env: { ...env, SB_PASS: '                ' } });
    expect(blank.code, blank.stderr).toBe(2);
    expect(blank.stderr).toContain('the passphrase in $SB_PASS is empty (only whitespace)');
    const nope = join(work, 'no-such-key.txt');
    const r = await cli(['verify', '--from', repo, '--identity-file', nope]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`cannot read identity file ${nope}: it does not exist`);
    expect(r.stderr).not.toContain('ENOENT');
  });

  it('list labels the run sha and the deployed sha; a bad key exits 2 before "Backup … →"; a file as --to has no false hint; prune --help names series', async () => {
    const RUN = '2e5d0ffee1234567890abcdef1234567890abcd2';
    const DEPLOYED = '1f4c0ffee1234567890abcdef1234567890abcd1';
    const repo = join(work, 'repo-sha');
    const b = await runCli(['backup', '--to', repo, '--init', '--files', tree, '--passphrase-env', 'SB_PASS', '--deployed-sha', DEPLOYED], { env: { ...env, GITHUB_SHA: RUN } });
    expect(b.code, b.stderr).toBe(0);
    const list = await cli(['list', '--from', repo]);
    expect(list.stdout).toContain(`run sha ${RUN.slice(0, 12)} deployed ${DEPLOYED.slice(0, 12)}`);
    expect(list.stdout).toContain(`files-data (files: ${tree})`);

    const fresh = join(work, 'repo-never');
    const blank = await runCli(['backup', '--to', fresh, '--init', '--files', tree, '--passphrase-env', 'SB_PASS'], { env: { ...env, SB_PASS: ' '.repeat(16) } });
    expect(blank.code, blank.stderr).toBe(2);
    expect(untimed(blank.stderr)).not.toMatch(/^Backup /m);
    expect(existsSync(fresh)).toBe(false);

    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const onFile = await cli(['backup', '--to', file, '--init', '--files', tree, '--passphrase-env', 'SB_PASS']);
    expect(onFile.code).not.toBe(0);
    expect(onFile.stderr).not.toContain('it is created if missing');

    const help = await cli(['prune', '--help']);
    expect(help.stdout).toMatch(/rules apply per series[\s\S]*newest complete backup of every series/);
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/pg.js';
import { startS3rver } from '../helpers/s3rver.js';

/**
 * The whole product, as a user drives it: the CLI as a child process, the real PostgreSQL
 * server, s3rver on loopback, and Debian's age/zstd/tar/pg_restore for the escape hatch.
 */
type Db = Awaited<ReturnType<typeof createTestDatabase>>;
type S3 = Awaited<ReturnType<typeof startS3rver>>;

const PG_PASSWORD = 'pw-Not-For-Logs-93d1';
let work: string;
let source: Db;
let tree: string;
let keyFile: string;
let recipient: string;
let identity: string;
let s3: S3;
let s3env: NodeJS.ProcessEnv;
const outputs: CliResult[] = [];

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await runCli(args, { env: { ...s3env, ...env } });
  outputs.push(r);
  return r;
}

/** The source database URL with a password: trust auth ignores it, so we can check it never leaks. */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PG_PASSWORD;
  return u.toString();
}

const TABLE_DUMP = `SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM (SELECT * FROM orders) t`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-e2e-'));
  source = await createTestDatabase('sb_e2e_src');
  await source.sql(`
    CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, blob bytea, placed timestamptz DEFAULT now());
    INSERT INTO orders (item, blob) SELECT 'item ' || g || ' ✓ ünïcödé', decode(md5(g::text), 'hex') FROM generate_series(1, 5000) g;
    CREATE INDEX orders_item ON orders (item);`);
  tree = join(work, 'uploads');
  mkdirSync(join(tree, 'nested/deeper'), { recursive: true });
  mkdirSync(join(tree, 'empty-dir'));
  writeFileSync(join(tree, 'a.txt'), 'hello\n');
  writeFileSync(join(tree, 'nested/deeper/random.bin'), randomBytes(3 << 20));
  writeFileSync(join(tree, 'nested/skip.log'), 'excluded\n');
  symlinkSync('../a.txt', join(tree, 'nested/link-to-a'));
  chmodSync(join(tree, 'a.txt'), 0o640);
  keyFile = join(work, 'key.txt');
  const kg = await cli(['keygen', '--output', keyFile]);
  expect(kg.code).toBe(0);
  recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];
  identity = /AGE-SECRET-KEY-1[0-9A-Z]+/.exec(readFileSync(keyFile, 'utf8'))![0];
  s3 = await startS3rver();
  s3env = s3.env;
}, 120_000);

afterAll(async () => {
  await source?.drop();
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

function backupArgs(to: string[], extra: string[] = []): string[] {
  return ['backup', ...to.flatMap((t) => ['--to', t]), '--init', '--postgres', withPassword(source.url), '--files', tree, '--exclude', '**/*.log', '--recipient', recipient, ...extra];
}

function s3Flags(): string[] {
  return ['--endpoint', s3.endpoint, '--path-style', '--region', 'us-east-1'];
}

describe('backup → list → verify → restore', () => {
  let local: string;
  let id: string;

  it('backs up PostgreSQL and a file tree to a folder and to S3 at once', async () => {
    local = join(work, 'repo');
    const r = await cli([...backupArgs([local, `s3://${s3.bucket}/nightly`], ['--label', 'pre-release', '--json']), ...s3Flags()]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    id = result.id;
    expect(result.artifacts.map((a: { name: string }) => a.name).sort()).toEqual([`files-uploads`, `postgres-${source.name}`]);
    expect(readdirSync(join(local, id)).sort()).toEqual([`files-uploads.tar.zst.age`, 'manifest.json', `postgres-${source.name}.dump.zst.age`]);
  });

  it('lists it at both destinations, with its label', async () => {
    for (const from of [[local], [`s3://${s3.bucket}/nightly`, ...s3Flags()]]) {
      const r = await cli(['list', '--from', ...from, '--json']);
      expect(r.code).toBe(0);
      const list = JSON.parse(r.stdout);
      expect(list.map((b: { id: string }) => b.id)).toEqual([id]);
      expect(list[0].labels).toEqual(['pre-release']);
    }
  });

  it('verifies without the key, and deeply with it', async () => {
    const shallow = await cli(['verify', '--from', local, '--max-age', '1h', '--json']);
    expect(shallow.code).toBe(0);
    expect(JSON.parse(shallow.stdout).ok).toBe(true);
    const deep = await cli(['verify', '--from', `s3://${s3.bucket}/nightly`, ...s3Flags(), '--deep', '--identity-file', keyFile]);
    expect(deep.code).toBe(0);
    expect(deep.stderr).toMatch(/OK: backup .* verified \(deep\)/);
  });

  it('restores from S3 byte- and row-exact', async () => {
    const target = await createTestDatabase('sb_e2e_dst');
    try {
      const dir = join(work, 'restored-s3');
      const r = await cli(['restore', '--from', `s3://${s3.bucket}/nightly`, ...s3Flags(), '--backup', 'label:pre-release', '--identity-file', keyFile, '--postgres-target', target.url, '--files-target', dir]);
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      expect(await target.sql(TABLE_DUMP)).toBe(await source.sql(TABLE_DUMP));
      expect((await target.sql(`SELECT indexname FROM pg_indexes WHERE indexname = 'orders_item'`)).trim()).toBe('orders_item');
      expect(spawnSync('diff', ['-r', '--no-dereference', '-x', '*.log', tree, dir]).status).toBe(0);
      expect(existsSync(join(dir, 'nested/skip.log'))).toBe(false);
      expect(readFileSync(join(dir, 'nested/link-to-a'), 'utf8')).toBe('hello\n');
      expect(execFileSync('stat', ['-c', '%a', join(dir, 'a.txt')]).toString().trim()).toBe('640');
    } finally {
      await target.drop();
    }
  });

  it('opens with the standard age, zstd, pg_restore and tar tools alone', async () => {
    const target = await createTestDatabase('sb_e2e_cli');
    try {
      const dump = join(local, id, `postgres-${source.name}.dump.zst.age`);
      execFileSync('bash', ['-c', `age -d -i "$KEY" < "$IN" | zstd -d | pg_restore --no-owner -d "$DB"`], {
        env: { ...process.env, KEY: keyFile, IN: dump, DB: target.url },
      });
      expect(await target.sql(TABLE_DUMP)).toBe(await source.sql(TABLE_DUMP));
      const dir = join(work, 'restored-by-hand');
      mkdirSync(dir);
      execFileSync('bash', ['-c', `age -d -i "$KEY" < "$IN" | zstd -d | tar -x -C "$DIR"`], {
        env: { ...process.env, KEY: keyFile, IN: join(local, id, 'files-uploads.tar.zst.age'), DIR: dir },
      });
      expect(spawnSync('diff', ['-r', '--no-dereference', '-x', '*.log', tree, dir]).status).toBe(0);
    } finally {
      await target.drop();
    }
  });

  it('a flipped byte: verify names the object, restore refuses before writing', async () => {
    const repo = join(work, 'tampered');
    const b = await cli(backupArgs([repo], ['--json']));
    expect(b.code).toBe(0);
    const tid = JSON.parse(b.stdout).id;
    const victim = join(repo, tid, 'files-uploads.tar.zst.age');
    const bytes = readFileSync(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(victim, bytes);

    const v = await cli(['verify', '--from', repo]);
    expect(v.code).toBe(3);
    expect(v.stderr).toContain('files-uploads.tar.zst.age');
    const dir = join(work, 'restore-tampered');
    const target = await createTestDatabase('sb_e2e_tamper');
    try {
      const r = await cli(['restore', '--from', repo, '--identity-file', keyFile, '--files-target', dir, '--postgres-target', target.url]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('files-uploads.tar.zst.age');
      expect(existsSync(dir)).toBe(false);
      // The intact postgres artifact was not restored either: every check runs before any write.
      expect((await target.sql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`)).trim()).toBe('0');
    } finally {
      await target.drop();
    }
  });

  it('a backup without a manifest (interrupted) is neither listed nor restorable', async () => {
    const repo = join(work, 'interrupted');
    const b = await cli(backupArgs([repo], ['--json']));
    const iid = JSON.parse(b.stdout).id;
    rmSync(join(repo, iid, 'manifest.json'));
    const l = await cli(['list', '--from', repo, '--json']);
    expect(JSON.parse(l.stdout)).toEqual([]);
    const r = await cli(['restore', '--from', repo, '--backup', iid, '--identity-file', keyFile, '--files-target', join(work, 'x')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/not restorable.*no manifest/);
    const latest = await cli(['restore', '--from', repo, '--identity-file', keyFile, '--files-target', join(work, 'x')]);
    expect(latest.code).toBe(4);
  });

  it('the wrong key fails before anything is written, with its own exit code', async () => {
    const other = join(work, 'other-key.txt');
    expect((await cli(['keygen', '--output', other])).code).toBe(0);
    const dir = join(work, 'wrong-key-target');
    const r = await cli(['restore', '--from', local, '--identity-file', other, '--files-target', dir]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/identity/i);
    expect(existsSync(dir)).toBe(false);
    const v = await cli(['verify', '--from', local, '--deep', '--identity-file', other]);
    expect(v.code).toBe(5);
  });

  it('an empty recipient (an unset secret) refuses to start and writes nothing', async () => {
    const repo = join(work, 'empty-recipient');
    const r = await cli(['backup', '--to', repo, '--files', tree, '--recipient', '']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/recipient is empty/);
    expect(existsSync(repo)).toBe(false);
    const none = await cli(['backup', '--to', repo, '--files', tree]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no encryption key/);
    const emptyPass = await cli(['backup', '--to', repo, '--files', tree, '--passphrase-env', 'SB_EMPTY'], { SB_EMPTY: '' });
    expect(emptyPass.code).toBe(2);
    expect(existsSync(repo)).toBe(false);
  });

  it('a killed pg_dump leaves no complete backup', async () => {
    const bin = join(work, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    // Starts the real dump, then dies by SIGKILL part-way, as an OOM kill would.
    // It answers --version as the real one (a pg_dump whose probe fails is passed over for another).
    const real = execFileSync('bash', ['-c', 'command -v pg_dump']).toString().trim();
    writeFileSync(join(bin, 'pg_dump'), `#!/bin/bash\n[ "$1" = --version ] && exec ${real} "$@"\n( exec ${real} "$@" ) | head -c 20000\nkill -9 $$\n`, { mode: 0o755 });
    const repo = join(work, 'killed');
    const r = await cli(['backup', '--to', repo, '--init', '--postgres', source.url, '--recipient', recipient], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/pg_dump/);
    const l = await cli(['list', '--from', repo, '--all', '--json']);
    expect(JSON.parse(l.stdout).filter((b: { complete: boolean }) => b.complete)).toEqual([]);
  });

  it('passphrase backups round-trip, and no secret ever reaches the output', async () => {
    const repo = join(work, 'passphrase');
    const env = { SB_PASS: 'correct horse battery staple 42' };
    const b = await cli(['backup', '--to', repo, '--init', '--files', tree, '--passphrase-env', 'SB_PASS', '--json'], env);
    expect(b.code).toBe(0);
    const wrong = await cli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--files-target', join(work, 'pp-wrong')], { SB_PASS: 'not it' });
    expect(wrong.code).toBe(5);
    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'SB_PASS', '--files-target', join(work, 'pp')], env);
    expect(r.code).toBe(0);
    expect(readFileSync(join(work, 'pp', 'a.txt'), 'utf8')).toBe('hello\n');
    const all = outputs.map((o) => o.stdout + o.stderr).join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const s of [PG_PASSWORD, encodeURIComponent(PG_PASSWORD), identity, env.SB_PASS]) expect(all).not.toContain(s);
  });
});

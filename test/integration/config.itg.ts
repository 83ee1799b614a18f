import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { runCli } from '../helpers/cli.js';

/** `strongbox config check` and `backup --meta` as a user runs them: the real CLI, real files. */
let work: string;
const { recipient } = generateIdentity();
const PG_PASSWORD = 'Pg-Very-Secret-9d1';
const ENV = { DATABASE_URL: `postgres://app:${PG_PASSWORD}@127.0.0.1:5432/app`, R2_ACCESS_KEY_ID: 'AKIAEXAMPLE' };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-config-itg-'));
  mkdirSync(join(work, 'media'));
  writeFileSync(join(work, 'media', 'a.txt'), 'hello\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const f = join(work, name);
  writeFileSync(f, text);
  return f;
};

const CLINIC = `# two sources, three destinations, one copy-to tier
version: 1
sources:
  - postgres-env: DATABASE_URL
    schema: [public]
  - files: media
    exclude: ["*.tmp"]
destinations:
  - url: backups
    name: local
    retention: { keep-daily: 7 }
    quota: 200GB
  - url: s3://clinic-backups/db
    name: r2
    retention: { keep-daily: 30, keep-monthly: 12 }
  - url: s3://clinic-b2/db
    name: b2
copy-to:
  - url: /mnt/nas/strongbox
    name: nas
    retention: { keep-weekly: 4, keep-monthly: 12 }
encryption:
  recipients: [${recipient}]
signing: { key-env: SIGNING_KEY }
labels: [nightly]
metadata: { app: clinic, environment: production }
lock-wait: 10m
`;

describe('strongbox config check', () => {
  it('prints a file with two sources and three destinations as the commands will read it, exit 0', async () => {
    const f = write('strongbox.yml', CLINIC);
    const r = await runCli(['config', 'check', '--config', f], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`Configuration ${f}: OK`);
    expect(out).toMatch(/Sources \(2\):\n {2}postgres +\$DATABASE_URL \(set\) +\[schema: public; row-counts: exact\]\n {2}files +.*\/media +\[exclude: \*\.tmp\]/);
    expect(out).toContain('Destinations (3), written by every backup:');
    expect(out).toContain(`local: ${join(work, 'backups')}  retention: keep-daily: 7  quota: 200GB (200000000000 bytes = 186.3 GiB)`);
    expect(out).toContain('r2: s3://clinic-backups/db  retention: keep-daily: 30; keep-monthly: 12');
    expect(out).toContain('b2: s3://clinic-b2/db  retention: none (never pruned)');
    expect(out).toContain('nas: /mnt/nas/strongbox  retention: keep-weekly: 4; keep-monthly: 12');
    expect(out).toContain(`Encryption: age, 1 recipient(s): ${recipient}`);
    expect(out).toContain('Signing: $SIGNING_KEY (NOT SET here)');
    expect(out).toContain('Metadata: app=clinic, environment=production');
    expect(out).toMatch(/DATABASE_URL +set +sources\[0\]\.postgres-env/);
    expect(out).toMatch(/SIGNING_KEY +NOT SET here +signing\.key-env/);
    // The values of the variables are never printed, only whether they are set.
    expect(out + r.stderr).not.toContain(PG_PASSWORD);
    expect(out + r.stderr).not.toContain('127.0.0.1:5432');
    expect(r.stderr).toMatch(/1 environment variable\(s\) the file names are not set here: SIGNING_KEY/);
  });

  it('--json gives the same, machine-readable', async () => {
    const f = write('strongbox.yml', CLINIC);
    const r = await runCli(['config', 'check', '--config', f, '--json'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.sources.map((s: { kind: string }) => s.kind)).toEqual(['postgres', 'files']);
    expect(j.destinations.map((d: { name: string; location: string }) => [d.name, d.location])).toEqual([
      ['local', join(work, 'backups')],
      ['r2', 's3://clinic-backups/db'],
      ['b2', 's3://clinic-b2/db'],
    ]);
    expect(j.destinations[0].quota).toEqual({ text: '200GB', bytes: 200e9 });
    expect(j.environment).toEqual([
      { name: 'DATABASE_URL', set: true, usedBy: 'sources[0].postgres-env' },
      { name: 'SIGNING_KEY', set: false, usedBy: 'signing.key-env' },
    ]);
    expect(r.stdout).not.toContain(PG_PASSWORD);
  });

  it('refuses a typo\'d key with its line and a suggestion, exit 2', async () => {
    const f = write('typo.yml', CLINIC.replace('    retention: { keep-daily: 7 }', '    retension: { keep-daily: 7 }'));
    const r = await runCli(['config', 'check', '--config', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: ${f}:11:5: destinations[0].retension: unknown key; did you mean "retention"?`);
    expect(r.stderr).toContain(`hint: fix the file, then run: strongbox config check --config ${f}`);
    expect(r.stdout).toBe('');
  });

  it('refuses literal secrets, every one, without echoing them (text and --json)', async () => {
    const f = write('secret.yml', CLINIC.replace('postgres-env: DATABASE_URL', `postgres: postgres://app:${PG_PASSWORD}@db/app`).replace(`recipients: [${recipient}]`, 'passphrase: correct-horse-battery-staple-42'));
    const r = await runCli(['config', 'check', '--config', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}: 2 problems:`);
    expect(r.stderr).toMatch(/:4:15: sources\[0\]\.postgres: the postgres URL holds a password/);
    expect(r.stderr).toMatch(/:23:3: encryption\.passphrase: "passphrase" would hold a secret in plain text/);
    const j = await runCli(['config', 'check', '--config', f, '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).problems.map((p: { key: string }) => p.key)).toEqual(['sources[0].postgres', 'encryption.passphrase']);
    for (const out of [r.stdout, r.stderr, j.stdout, j.stderr]) {
      expect(out).not.toContain(PG_PASSWORD);
      expect(out).not.toContain('correct-horse-battery-staple-42');
    }
  });

  it('refuses a missing file, naming it, exit 2', async () => {
    const r = await runCli(['config', 'check', '--config', join(work, 'nope.yml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: cannot read the configuration file ${join(work, 'nope.yml')}: it does not exist`);
  });
});

describe('backup --meta', () => {
  it('stores key=value pairs in the manifest', async () => {
    const repo = join(work, 'meta-repo');
    const r = await runCli(['backup', '--to', repo, '--init', '--files', join(work, 'media'), '--recipient', recipient, '--meta', 'release=v1.4.2', '--meta', 'ticket=OPS-12']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const manifest = JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8'));
    expect(manifest.metadata).toEqual({ release: 'v1.4.2', ticket: 'OPS-12' });
    // And the backup reads back: list and verify accept a manifest with metadata.
    const v = await runCli(['verify', '--from', repo, '--backup', id]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('refuses a bad pair before anything is written, exit 2', async () => {
    const repo = join(work, 'meta-bad');
    const r = await runCli(['backup', '--to', repo, '--init', '--files', join(work, 'media'), '--recipient', recipient, '--meta', 'no equals sign']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a --meta value is not key=value (the value is not shown)');
    expect(() => readdirSync(repo)).toThrow();
  });
});

import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * The reading commands driven by one strongbox.yml, as a team with a local disk, a cloud
 * bucket and a NAS tier runs them: the real CLI, a local folder, an s3rver accepting only
 * its own keys (credentials=CLOUD in the location) and a copy-to folder, each location with
 * its own retention.
 */
let work: string;
let tree: string;
let keyFile: string;
let recipient: string;
let s3: S3rverHandle;
let config: string;
let local: string;
let nas: string;
let cloudUrl: string;
const ids: string[] = [];
const CLOUD_ENV = { CLOUD_ACCESS_KEY_ID: 'cloud-key-id', CLOUD_SECRET_ACCESS_KEY: 'cloud-secret-key-123' };
// Only the location's own credentials: no default chain to fall back on.
const cli = (args: string[]): Promise<CliResult> => runCli(args, { env: { ...CLOUD_ENV, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } });
const json = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

function writeConfig(file: string, copyTo: string[]): string {
  const path = join(work, file);
  writeFileSync(
    path,
    `destinations:
  - url: local
    name: local
    retention: { keep-last: 2 }
  - url: ${cloudUrl}
    name: cloud
    retention: { keep-last: 3 }
copy-to:
${copyTo.map((url) => `  - url: ${url}\n    name: ${url}\n    retention: { keep-last: 1 }`).join('\n')}
encryption: { recipients: [${recipient}] }
`,
  );
  return path;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-config-read-itg-'));
  tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  keyFile = join(work, 'key.txt');
  const kg = await runCli(['keygen', '--output', keyFile]);
  recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];
  s3 = await startS3rver({ accessKeyId: CLOUD_ENV.CLOUD_ACCESS_KEY_ID, secretAccessKey: CLOUD_ENV.CLOUD_SECRET_ACCESS_KEY });
  cloudUrl = `s3://${s3.bucket}/db?endpoint=${s3.endpoint}&path-style=true&region=us-east-1&credentials=CLOUD`;
  local = join(work, 'local');
  nas = join(work, 'nas');
  config = writeConfig('strongbox.yml', ['nas']);
}, 60_000);
afterAll(async () => {
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('one strongbox.yml for every reading command', () => {
  it('init --config creates every destination and copy-to tier; a second run changes nothing', async () => {
    const r = await cli(['init', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^created a Strongbox repository at /gm)).toHaveLength(3);
    expect(r.stdout).toContain(`bucket ${s3.bucket}, prefix db`);
    const again = await cli(['init', '--config', config]);
    expect(again.stdout.match(/already holds a Strongbox repository; nothing changed/g)).toHaveLength(3);
  });

  it('four backups with plain flags to both destinations', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await cli(['backup', '--to', local, '--to', cloudUrl, '--files', tree, '--recipient', recipient, '--compression', 'none', '--label', 'nightly']);
      expect(r.code, r.stderr).toBe(0);
      ids.push(r.stdout.trim());
    }
  }, 60_000);

  it('copy --config copies every backup from the first destination to a new tier; a rerun finds nothing newer, --all skips them all (exit 0 each time)', async () => {
    const first = await cli(['copy', '--config', config, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const [tier] = json<{ source: string; destination: string; copied: number; skipped: number }[]>(first);
    expect(tier).toMatchObject({ source: local, destination: nas, copied: 4, skipped: 0 });
    const again = await cli(['copy', '--config', config]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`to ${nas}\n`);
    expect(again.stderr).toContain(`${nas} already holds the newest backup of every series`);
    const all = await cli(['copy', '--config', config, '--all']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe(`to ${nas}\n${ids.map((id) => `  skipped ${id}\n`).join('')}`);
  }, 60_000);

  it('list --config lists the first destination, --from NAME another location', async () => {
    const first = await cli(['list', '--config', config, '--json']);
    expect(json<{ id: string }[]>(first).map((b) => b.id)).toEqual(ids);
    const cloud = await cli(['list', '--config', config, '--from', 'cloud', '--json']);
    expect(cloud.code, cloud.stderr).toBe(0);
    expect(json<{ id: string }[]>(cloud).map((b) => b.id)).toEqual(ids);
  });

  it('verify --config checks the newest backup at both destinations: identical SHA-256s', async () => {
    const r = await cli(['verify', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`OK: backup ${ids[3]} verified at 2 locations, identical SHA-256s`);
  });

  it('restore --config restores the newest backup from the first destination (key by flag)', async () => {
    const out = join(work, 'restored');
    const r = await cli(['restore', '--config', config, '--files-target', out, '--identity-file', keyFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ backupId: string }>(r).backupId).toBe(ids[3]);
    const restored = readdirSync(out, { recursive: true }).map(String).find((f) => f.endsWith('a.txt'))!;
    expect(readFileSync(join(out, restored), 'utf8')).toBe('alpha\n');
  });

  it('rollback --config without a key anywhere exits 2 before touching anything, saying so once', async () => {
    const target = join(work, 'rollback-target');
    mkdirSync(target);
    writeFileSync(join(target, 'live.txt'), 'live\n');
    const r = await cli(['rollback', '--config', config, '--backup', ids[0]!, '--files-target', target, '--confirm', 'rollback-target']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.match(/rollback needs the key/g)).toHaveLength(1);
    expect(r.stderr).toContain(`decryption: { identity-file: … } to ${config}`);
    expect(readdirSync(target)).toEqual(['live.txt']);
  });

  it('prune --config prunes each location by its own retention (local 2, cloud 3, nas 1)', async () => {
    const r = await cli(['prune', '--config', config, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const results = json<{ location: string; policyFrom: string; kept: { id: string }[]; removed: { id: string }[] }[]>(r);
    // As sets: backups started in the same second have ids whose order within it is random.
    const set = (xs: string[]) => [...xs].sort();
    expect(results.map((x) => [x.location, x.policyFrom, set(x.kept.map((k) => k.id)), set(x.removed.map((k) => k.id))])).toEqual([
      [local, 'file', set(ids.slice(2)), set(ids.slice(0, 2))],
      [expect.stringContaining(`s3://${s3.bucket}/db`), 'file', set(ids.slice(1)), set(ids.slice(0, 1))],
      [nas, 'file', set(ids.slice(3)), set(ids.slice(0, 3))],
    ]);
    const listed = await cli(['list', '--config', config, '--from', 'nas', '--json']);
    expect(json<{ id: string }[]>(listed).map((b) => b.id)).toEqual(ids.slice(3));
  }, 60_000);

  it('prune --config: a location that fails (no repository) spares the others; the run exits with its code', async () => {
    const broken = writeConfig('broken-prune.yml', ['nas', 'no-such-nas']);
    const r = await cli(['prune', '--config', broken, '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(4);
    const results = json<({ location: string; kept?: unknown[] } | { location: string; error: string; exitCode: number })[]>(r);
    expect(results.map((x) => [x.location, 'error' in x ? x.exitCode : 'pruned'])).toEqual([
      [local, 'pruned'],
      [expect.stringContaining(`s3://${s3.bucket}/db`), 'pruned'],
      [nas, 'pruned'],
      [join(work, 'no-such-nas'), 4],
    ]);
    expect(r.stderr).toContain(`prune of ${join(work, 'no-such-nas')} failed`);
  }, 60_000);

  it('copy --config: one tier failing while another is filled exits 8, each tier in --json', async () => {
    const broken = writeConfig('broken-copy.yml', ['nas', 'no-such-tier']);
    const r = await cli(['copy', '--config', broken, '--json']);
    expect(r.code, r.stderr).toBe(8);
    const results = json<({ destination: string; copied: number; skipped: number } | { destination: string; error: string; exitCode: number })[]>(r);
    // The default selection is what is newer than the tier's newest backup: the ones the NAS
    // pruned (keep-last 1) while the disk still keeps them are not copied back.
    expect(results.map((x) => [x.destination, 'error' in x ? x.exitCode : [x.copied, x.skipped]])).toEqual([
      [nas, [0, 0]],
      [join(work, 'no-such-tier'), 4],
    ]);
  }, 60_000);

  it('verify --config: the newest backup damaged at one destination exits 3, naming that location', async () => {
    const dir = join(local, ids[3]!);
    const object = join(dir, readdirSync(dir).find((f) => f.endsWith('.age'))!);
    const fd = openSync(object, 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, 100);
    b[0]! ^= 0xff;
    writeSync(fd, b, 0, 1, 100);
    closeSync(fd);
    const r = await cli(['verify', '--config', config]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`failed verification across locations at ${local}`);
    expect(r.stderr).not.toMatch(/failed verification across locations at .*s3:\/\//);
  });
});

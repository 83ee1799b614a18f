import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * Team C's setup: one backup to a local folder, "R2", "B2" and "AWS" at once, each store with
 * its own keys. Three s3rver instances hold the same bucket name and prefix, so only the
 * endpoint tells them apart; each accepts only its own key pair (SigV4 checked).
 */
const KEYS = {
  r2: { accessKeyId: 'R2KEYID000000000001', secretAccessKey: 'r2-secret-9Fq/+Zt7LmW2' },
  b2: { accessKeyId: 'B2KEYID000000000002', secretAccessKey: 'b2-secret-Xp4/+Hn8QaV5' },
  aws: { accessKeyId: 'AWSKEYID00000000003', secretAccessKey: 'aws-secret-Ke3/+Ru6TcY1' },
};
const SECRETS = Object.values(KEYS).flatMap((k) => [k.accessKeyId, k.secretAccessKey]);
const BUCKET = 'backups';

let tmp: string;
let tree: string;
let local: string;
let identityFile: string;
let recipient: string;
let r2: S3rverHandle;
let b2: S3rverHandle;
let aws: S3rverHandle;
let env: NodeJS.ProcessEnv;
const outputs: CliResult[] = [];

const hostOf = (s: S3rverHandle) => new URL(s.endpoint).host;
const r2Url = () => `s3://${BUCKET}/db?endpoint=${encodeURIComponent(r2.endpoint)}&credentials=R2`;
const b2Url = () => `s3://${BUCKET}/db?endpoint=${b2.endpoint}&preset=b2&region=us-west-004&path-style=true&credentials=B2`;
/** AWS: no settings of its own; the global --endpoint and the SDK chain (AWS_* variables). */
const awsUrl = () => `s3://${BUCKET}/db`;
const awsFlags = () => ['--endpoint', aws.endpoint, '--path-style'];

async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await runCli(args, { env: { ...env, ...extraEnv } });
  outputs.push(r);
  return r;
}

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesBelow(join(dir, e.name)) : [join(dir, e.name)]));
}

function expectNoSecret(text: string, where: string): void {
  for (const s of SECRETS) expect(text.includes(s) || text.includes(encodeURIComponent(s)), `${where} holds a credential`).toBe(false);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strongbox-locations-'));
  tree = join(tmp, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'invoice.txt'), 'tenant 42: paid\n');
  local = join(tmp, 'local');
  const id = generateIdentity();
  recipient = id.recipient;
  identityFile = join(tmp, 'key.txt');
  writeFileSync(identityFile, `${id.identity}\n`, { mode: 0o600 });
  [r2, b2, aws] = await Promise.all([
    startS3rver({ bucket: BUCKET, ...KEYS.r2 }),
    startS3rver({ bucket: BUCKET, ...KEYS.b2 }),
    startS3rver({ bucket: BUCKET, ...KEYS.aws }),
  ]);
  env = {
    R2_ACCESS_KEY_ID: KEYS.r2.accessKeyId,
    R2_SECRET_ACCESS_KEY: KEYS.r2.secretAccessKey,
    B2_ACCESS_KEY_ID: KEYS.b2.accessKeyId,
    B2_SECRET_ACCESS_KEY: KEYS.b2.secretAccessKey,
    AWS_ACCESS_KEY_ID: KEYS.aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEYS.aws.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: '',
    AWS_ENDPOINT_URL: '',
    AWS_PROFILE: '',
  };
});

afterAll(async () => {
  await Promise.all([r2?.stop(), b2?.stop(), aws?.stop()]);
  await rm(tmp, { recursive: true, force: true });
});

describe('one backup to a local folder, R2, B2 and AWS, each with its own settings and keys', () => {
  let backupId: string;

  it('commits the backup at all four, naming each store apart', async () => {
    const init = await cli(['init', '--to', r2Url()]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`created a Strongbox repository at bucket ${BUCKET}, prefix db/ at ${hostOf(r2)} (s3://${BUCKET}/db)`);
    const r = await cli(['backup', '--init', '--to', local, '--to', r2Url(), '--to', b2Url(), '--to', awsUrl(), ...awsFlags(), '--files', tree, '--recipient', recipient, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { id: string; destinations: unknown };
    backupId = json.id;
    const shown = JSON.stringify(json.destinations);
    for (const s of [r2, b2, aws]) expect(shown).toContain(`s3://${BUCKET}/db (${hostOf(s)})`);
    expect(shown).toContain(local);
    // Each store holds its own complete copy, written with its own keys.
    for (const s of [r2, b2, aws]) {
      const manifest = filesBelow(s.directory).find((f) => f.includes(backupId) && f.includes('manifest.json'));
      expect(manifest, `no manifest in ${s.endpoint}`).toBeDefined();
    }
    expect(statSync(join(local, backupId, 'manifest.json')).isFile()).toBe(true);
  });

  it('verifies (deeply) from each location, and lists it there', async () => {
    for (const [from, flags] of [[local, []], [r2Url(), []], [b2Url(), []], [awsUrl(), awsFlags()]] as [string, string[]][]) {
      const v = await cli(['verify', '--from', from, ...flags, '--backup', backupId, '--identity-file', identityFile]);
      expect(v.code, `${from}: ${v.stderr}`).toBe(0);
      expect(v.stderr).toContain(`OK: backup ${backupId} verified (deep)`);
      const l = await cli(['list', '--from', from, ...flags, '--json']);
      expect(l.code, l.stderr).toBe(0);
      expect((JSON.parse(l.stdout) as { id: string }[]).map((e) => e.id)).toContain(backupId);
    }
  });

  it('a location given the wrong credentials NAME fails, naming the location, not the key', async () => {
    // B2's keys at the R2 store: refused there, like any store refuses another's keys.
    const wrong = `s3://${BUCKET}/db?endpoint=${r2.endpoint}&credentials=B2`;
    const r = await cli(['backup', '--to', local, '--to', wrong, '--files', tree, '--recipient', recipient]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(2);
    expect(r.stderr).toContain(`s3://${BUCKET}/db`);
    expect(r.stderr).toContain(`(${hostOf(r2)})`);
    expect(r.stderr).toMatch(/HTTP 403/);
    expect(r.stderr).toMatch(/check that B2_ACCESS_KEY_ID \/ B2_SECRET_ACCESS_KEY \(credentials=B2\) belong to this store/);
    // The right key id with another secret is refused too: the stores check signatures.
    const forged = await cli(['list', '--from', r2Url()], { R2_SECRET_ACCESS_KEY: KEYS.b2.secretAccessKey });
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toContain(`(${hostOf(r2)}) failed`);
    expect(forged.stderr).toMatch(/HTTP 403.*\n.*check that R2_ACCESS_KEY_ID \/ R2_SECRET_ACCESS_KEY \(credentials=R2\) belong to this store/);
  });

  it('a credentials NAME whose variables are unset exits 2 naming the variable, before anything is written', async () => {
    const r = await cli(['backup', '--to', local, '--to', `s3://${BUCKET}/db?endpoint=${r2.endpoint}&credentials=TIER9`, '--files', tree, '--recipient', recipient]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`environment variable TIER9_ACCESS_KEY_ID is unset (credentials=TIER9 of s3://${BUCKET}/db)`);
  });

  it('a location without a repository names the init command to run, settings included', async () => {
    const fresh = `s3://${BUCKET}/fresh?endpoint=${r2.endpoint}&credentials=R2`;
    const r = await cli(['backup', '--to', fresh, '--files', tree, '--recipient', recipient]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`run \`strongbox init --to '${fresh}'\` or pass --init`);
    const init = await cli(['init', '--to', fresh]);
    expect(init.code, init.stderr).toBe(0);
  });

  it('refuses a repeated global flag with exit 2', async () => {
    const r = await cli(['backup', '--to', awsUrl(), '--endpoint', r2.endpoint, '--endpoint', b2.endpoint, '--files', tree, '--recipient', recipient]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--endpoint given twice; to use different stores per destination put ?endpoint=… in each location URL');
  });

  it('refuses a location URL holding a secret with exit 2, showing it nowhere', async () => {
    const leaky = `s3://${BUCKET}/db?endpoint=${r2.endpoint}&access-key-id=${KEYS.r2.accessKeyId}&secret-access-key=${encodeURIComponent(KEYS.r2.secretAccessKey)}`;
    const r = await cli(['backup', '--to', local, '--to', leaky, '--files', tree, '--recipient', recipient]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds a secret in its query.*the URL is not shown/);
    expect(r.stderr).toMatch(/credentials=NAME/);
  });

  it('never shows a credential: not in any output, list --json, or the files the stores hold', async () => {
    expect(outputs.length).toBeGreaterThan(8);
    for (const [i, o] of outputs.entries()) expectNoSecret(o.stdout + o.stderr, `output of run ${i}`);
    for (const dir of [local, r2.directory, b2.directory, aws.directory]) {
      for (const f of filesBelow(dir)) expectNoSecret(readFileSync(f, 'latin1'), f);
    }
  });
});

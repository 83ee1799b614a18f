import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/notify/event.js';
import { signature } from '../../src/notify/webhook.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startCaptureServer, startMailServer, unusedPort, type CaptureServer, type MailServer } from '../helpers/notify-servers.js';
import { PG_HOST, PG_PORT, PG_USER, testDatabases } from '../helpers/pg.js';

/**
 * Notifications through the real CLI (a child process, as cron runs it): every channel gets
 * the outcome of backup and verify, successes and failures, and none of the secrets planted
 * in the database URL, the passphrase, the notify URLs, the SMTP password or the HMAC key.
 */
const DB_PASSWORD = 'Db-pw-SECRET-4711';
const PASSPHRASE = 'passphrase-SECRET-long-enough';
const HOOK_TOKEN = 'hookTOKEN0123456789';
const SLACK_TOKEN = 'T0SLACK99/B0SLACK98/slackTOKENsecret42';
const HC_UUID = '0c1d2e3f-aaaa-4bbb-8ccc-SECRET000001';
const SMTP_PASSWORD = 'smtp-pw-SECRET-77';
const HMAC_KEY = 'hmac-key-SECRET-1234';
const SECRETS = [DB_PASSWORD, PASSPHRASE, HOOK_TOKEN, 'slackTOKENsecret42', 'T0SLACK99', HC_UUID, SMTP_PASSWORD, HMAC_KEY];

let work: string;
let http: CaptureServer;
let mail: MailServer;
const databases = testDatabases();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-notify-'));
  http = await startCaptureServer();
  mail = await startMailServer({ password: SMTP_PASSWORD });
});
afterAll(async () => {
  await http.close();
  await mail.close();
  await databases.dropAll();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  http.requests.length = 0;
  mail.mails.length = 0;
});

const env = { SB_PASS: PASSPHRASE, SMTP_PASSWORD, HOOK_KEY: HMAC_KEY, NODE_EXTRA_CA_CERTS: '' };
const channels = () => [
  '--notify', `${http.url}/hook/${HOOK_TOKEN}`,
  '--notify', `slack+${http.url}/services/${SLACK_TOKEN}`,
  '--notify', `smtp://backup@127.0.0.1:${mail.port}?from=backup@example.com&to=ops@example.com`,
  '--notify-secret-env', 'HOOK_KEY',
  '--healthcheck', `${http.url}/ping/${HC_UUID}`,
];
const cli = (args: string[]) => runCli(args, { env: { ...env, NODE_EXTRA_CA_CERTS: mail.certFile } });

function tree(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'some data\n'.repeat(100));
  return dir;
}

/** No planted secret anywhere a person or a receiver could read it (a request's own path is its URL, the one place its token belongs). */
function expectNoSecret(r: CliResult): void {
  const seen = [r.stdout, r.stderr, ...http.requests.map((q) => `${JSON.stringify(q.headers)} ${q.body}`), ...mail.mails.map((m) => m.raw)].join('\n');
  for (const s of SECRETS) expect(seen, `secret ${s} leaked`).not.toContain(s);
}

const byPath = (prefix: string) => http.requests.filter((q) => q.path.startsWith(prefix));
const webhookEvent = () => JSON.parse(byPath('/hook/')[0]!.body) as RunEvent;

describe('notifications from the CLI', () => {
  it('a backup that succeeds with --notify-on always: webhook (signed), Slack and mail get the figures; the healthcheck sees start then success', async () => {
    const db = await databases.create('notify_ok', 'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 50);');
    const url = `postgres://${PG_USER}:${DB_PASSWORD}@${PG_HOST}:${PG_PORT}/${db.name}`;
    const repo = join(work, 'ok');
    const r = await cli(['backup', '--to', repo, '--init', '--postgres', url, '--files', tree('ok-tree'), '--passphrase-env', 'SB_PASS', '--label', 'nightly', '--meta', 'release=v1.2', ...channels(), '--notify-on', 'always']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(http.requests.map((q) => q.path.replace(/\/(hook|services|ping)\/.*?(\/start|\/fail)?$/, '/$1$2'))).toEqual(expect.arrayContaining(['/ping/start', '/hook', '/services', '/ping']));
    expect(http.requests[0]!.path).toBe(`/ping/${HC_UUID}/start`);
    // The end ping goes out beside the channels (not after them): it is there, once.
    expect(byPath(`/ping/${HC_UUID}`).map((q) => q.path)).toEqual([`/ping/${HC_UUID}/start`, `/ping/${HC_UUID}`]);
    const hook = byPath('/hook/')[0]!;
    expect(hook.headers['x-strongbox-signature']).toBe(signature(hook.body, HMAC_KEY));
    const e = webhookEvent();
    expect(e).toMatchObject({ version: 1, operation: 'backup', status: 'success', exitCode: 0, backupId: id, labels: ['nightly'], metadata: { release: 'v1.2' } });
    expect(e.series).toContain('files-ok-tree');
    expect(e.storedBytes).toBeGreaterThan(0);
    expect(e.destinations).toEqual([{ location: repo, status: 'committed' }]);
    // The backup's own duration, as its manifest (and the "complete … in N s" line) says; the monitor's wall time is extra.
    const shown = await cli(['show', '--from', repo, '--backup', id, '--json']);
    expect(e.durationSeconds).toBe(Math.round((JSON.parse(shown.stdout) as { durationSeconds: number }).durationSeconds * 10) / 10);
    expect((e.details as { wallSeconds: number }).wallSeconds).toBeGreaterThanOrEqual(e.durationSeconds);
    const slack = JSON.parse(byPath('/services/')[0]!.body) as { text: string };
    expect(slack.text).toContain('Strongbox backup succeeded');
    expect(mail.mails).toHaveLength(1);
    expect(mail.mails[0]!.secure).toBe(true);
    expect(mail.mails[0]!.raw).toContain(id);
    expect(byPath(`/ping/${HC_UUID}`).at(-1)!.body).toContain('Strongbox backup succeeded');
    expectNoSecret(r);
  });

  it('a backup that fails: every channel is told by default, with the error; the healthcheck gets /fail with the last lines', async () => {
    const url = `postgres://${PG_USER}:${DB_PASSWORD}@${PG_HOST}:${PG_PORT}/no_such_db_${process.pid}`;
    const r = await cli(['backup', '--to', join(work, 'fail'), '--init', '--postgres', url, '--passphrase-env', 'SB_PASS', '--label', 'nightly', ...channels()]);
    expect(r.code).not.toBe(0);
    const e = webhookEvent();
    // Where and what: a shared webhook for many databases can tell which run this was.
    expect(e).toMatchObject({ operation: 'backup', status: 'failure', exitCode: r.code, labels: ['nightly'], destinations: [{ location: join(work, 'fail'), status: 'not committed' }] });
    expect(e.error?.message).toBeTruthy();
    expect(mail.mails).toHaveLength(1);
    expect(mail.mails[0]!.raw).toContain('FAILED');
    const fail = byPath(`/ping/${HC_UUID}/fail`);
    expect(fail).toHaveLength(1);
    expect(fail[0]!.body).toContain('last lines:');
    expect(fail[0]!.body).toContain('error:');
    expectNoSecret(r);
  });

  it('a verify that finds a damaged backup: exit 3, and the event says failure with the problem', async () => {
    const repo = join(work, 'damaged');
    const made = await cli(['backup', '--to', repo, '--init', '--files', tree('dmg-tree'), '--passphrase-env', 'SB_PASS']);
    expect(made.code, made.stderr).toBe(0);
    const id = made.stdout.trim();
    const object = readdirSync(join(repo, id)).find((f) => f !== 'manifest.json')!;
    const path = join(repo, id, object);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(path, bytes);
    http.requests.length = 0;
    const r = await cli(['verify', '--from', repo, ...channels()]);
    expect(r.code, r.stderr).toBe(3);
    const e = webhookEvent();
    expect(e).toMatchObject({ operation: 'verify', status: 'failure', exitCode: 3, backupId: id });
    expect(e.error?.message).toContain('failed verification');
    expect(byPath(`/ping/${HC_UUID}/fail`)).toHaveLength(1);
    expectNoSecret(r);
  });

  it('an unreachable endpoint is a warning; the backup exits 0 as it would without it', async () => {
    const port = await unusedPort();
    const r = await cli(['backup', '--to', join(work, 'unreachable'), '--init', '--files', tree('u-tree'), '--passphrase-env', 'SB_PASS', '--notify', `http://127.0.0.1:${port}/hook/${HOOK_TOKEN}`, '--notify-on', 'always', '--healthcheck', `http://127.0.0.1:${port}/${HC_UUID}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: notification to webhook (127.0.0.1:${port}) was not delivered (3 attempts): cannot connect (ECONNREFUSED); the backup's own result stands`);
    expect(r.stderr).toContain(`healthcheck (127.0.0.1:${port}) start`);
    expectNoSecret(r);
  });

  it('notify: of --config: the URL from its variable, notify-on and the healthcheck from the file', async () => {
    const cfg = join(work, 'strongbox.yml');
    writeFileSync(cfg, `sources:\n  - files: ${tree('cfg-tree')}\ndestinations:\n  - url: ${join(work, 'cfg-repo')}\nencryption:\n  passphrase-env: SB_PASS\nnotify:\n  - url-env: HOOK_URL\nnotify-on: always\nhealthcheck-env: HC_URL\n`);
    const r = await runCli(['backup', '--config', cfg, '--init'], { env: { ...env, HOOK_URL: `${http.url}/hook/${HOOK_TOKEN}`, HC_URL: `${http.url}/ping/${HC_UUID}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(http.requests.map((q) => q.path)).toEqual([`/ping/${HC_UUID}/start`, `/hook/${HOOK_TOKEN}`, `/ping/${HC_UUID}`]);
    expect(webhookEvent()).toMatchObject({ operation: 'backup', status: 'success', backupId: r.stdout.trim() });
    expectNoSecret(r);
  });

  it('a mail channel without its password exits 2 before any work, says SMTP_PASSWORD is the default, and still pings the healthcheck /fail', async () => {
    const repo = join(work, 'nopw');
    const r = await runCli(['backup', '--to', repo, '--init', '--files', tree('nopw-tree'), '--passphrase-env', 'SB_PASS', '--notify', `smtp://backup@127.0.0.1:${mail.port}?from=b@example.com&to=o@example.com`, '--healthcheck', `${http.url}/ping/${HC_UUID}`], { env: { ...env, SMTP_PASSWORD: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: --notify: the SMTP password: environment variable SMTP_PASSWORD is empty \(SMTP_PASSWORD is where .*&password-env=NAME\)/);
    expect(r.stderr.match(/--notify:/g)).toHaveLength(1);
    expect(byPath(`/ping/${HC_UUID}`).map((q) => q.path)).toEqual([`/ping/${HC_UUID}/start`, `/ping/${HC_UUID}/fail`]);
    expect(byPath(`/ping/${HC_UUID}/fail`)[0]!.body).toContain('SMTP_PASSWORD is empty');
    expect(readdirSync(work)).not.toContain('nopw');
    expectNoSecret(r);
  });

  it('a bad --notify URL exits 2 before anything is done, without echoing it', async () => {
    const repo = join(work, 'bad-url');
    const r = await cli(['backup', '--to', repo, '--init', '--files', tree('b-tree'), '--passphrase-env', 'SB_PASS', '--notify', `http://hooks.example.com/${HOOK_TOKEN}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--notify: a webhook URL must use https://');
    expect(() => readdirSync(repo)).toThrow();
    expectNoSecret(r);
  });
});

import { createHmac } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import { runRestoreAction } from '../../src/actions/restore.js';
import { runRollbackAction } from '../../src/actions/rollback.js';
import { runVerifyAction } from '../../src/actions/verify.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import type { Timers } from '../../src/notify/deliver.js';
import type { RunEvent } from '../../src/notify/event.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';
import { startCaptureServer, unusedPort, type CaptureServer } from '../helpers/notify-servers.js';

/**
 * The actions' notify/healthcheck inputs, against a loopback server standing in for the
 * webhook receiver, Slack and healthchecks.io: what a person receives from a workflow run,
 * that a dead endpoint never changes the step's result, and that no secret leaves the step.
 */
const work = mkdtempSync(join(tmpdir(), 'strongbox-actions-notify-'));
const saved = { ...process.env };
let cap: CaptureServer;

// Planted secrets: every one must stay out of every request body, output, summary and log line.
const HMAC_KEY = 'hmac-key-SECRET-4711';
const PASSPHRASE = 'correct horse PASSPHRASE-SECRET staple';
const PG_PASSWORD = 'pgpass-SECRET-8a8a';
const key = generateIdentity();
const urls = () => ({
  webhook: `${cap.url}/hooks/WebhookTok3nSECRET`,
  slack: `slack+${cap.url}/services/T0SLACKSECRET/B0SLACKSECRET/SlackTok3nSECRET`,
  healthcheck: `${cap.url}/ping/5f0e4c5a-HC-SECRET-1234`,
});
const SECRETS = ['WebhookTok3nSECRET', 'T0SLACKSECRET', 'SlackTok3nSECRET', 'HC-SECRET-1234', HMAC_KEY, PASSPHRASE, PG_PASSWORD, key.identity, key.identity.slice(15)];

/** Timers that never wait (the retries of a dead endpoint run at once). */
const noWait: Timers = { sleep: async () => {}, after: () => () => {} };

const GITHUB = { GITHUB_REPOSITORY: 'acme/shop', GITHUB_WORKFLOW: 'nightly-backup', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REF: 'refs/heads/main' };
const RUN_URL = 'https://github.com/acme/shop/actions/runs/42';

const tree = join(work, 'tree');
const repo = join(work, 'repo');
let summary: string;
let log: string[];

beforeAll(async () => {
  cap = await startCaptureServer();
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'hello\n');
});
afterAll(async () => {
  await cap.close();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
  cap.requests.length = 0;
});

function step(actionYml: string, given: Record<string, string>): string {
  summary = join(work, `summary-${Math.random().toString(16).slice(2)}.md`);
  writeFileSync(summary, '');
  log = captureLog();
  return runnerEnv(work, actionYml, given, { ...GITHUB, GITHUB_STEP_SUMMARY: summary });
}

const posts = (path: string) => cap.requests.filter((r) => r.path === path);
const webhookEvents = () => posts('/hooks/WebhookTok3nSECRET').map((r) => JSON.parse(r.body) as RunEvent);
const pings = () => cap.requests.filter((r) => r.path.startsWith('/ping/')).map((r) => r.path.replace('/ping/5f0e4c5a-HC-SECRET-1234', '') || '/');
/** What a person reads in the log: every line but the runner's own ::add-mask:: commands. */
const visibleLog = () => log.join('').split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');

/** No planted secret in what the step sent, output, summarised or logged; and each URL token was masked. */
function expectNoSecrets(out: string, given = ['WebhookTok3nSECRET', 'HC-SECRET-1234']): void {
  const sent = cap.requests.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
  const places = { sent, outputs: readFileSync(out, 'utf8'), summary: readFileSync(summary, 'utf8'), log: visibleLog() };
  for (const [where, text] of Object.entries(places)) for (const s of SECRETS) expect(text.includes(s), `${where} holds ${s}`).toBe(false);
  const masks = [...log.join('').matchAll(/::add-mask::(.*)/g)].map((m) => m[1]!);
  for (const token of given) expect(masks.some((m) => m.includes(token)), `${token} masked`).toBe(true);
}

describe('backup action notifications', () => {
  it('notify-on: always: a signed webhook event and a Slack message with the figures and the run URL; healthcheck start then success', async () => {
    const u = urls();
    const out = step('action.yml', {
      to: repo, init: 'true', files: tree, passphrase: PASSPHRASE, label: 'nightly',
      notify: `${u.webhook}\n${u.slack}`, 'notify-secret': HMAC_KEY, 'notify-on': 'always', healthcheck: u.healthcheck,
    });
    await runBackupAction({ timers: noWait });
    const o = outputs(out);
    expect(o).toMatchObject({ status: 'success', 'exit-code': '0', 'notify-failed': '[]' });
    const [event, ...more] = webhookEvents();
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      operation: 'backup', status: 'success', exitCode: 0, backupId: o['backup-id'], labels: ['nightly'],
      storedBytes: Number(o.size), plaintextBytes: Number(o['plaintext-size']),
      destinations: [{ location: repo, status: 'committed' }],
      github: { repository: 'acme/shop', workflow: 'nightly-backup', runId: '42', runUrl: RUN_URL },
    });
    // The receiver can check the body came from us (GitHub's scheme).
    const hook = posts('/hooks/WebhookTok3nSECRET')[0]!;
    expect(hook.headers['x-strongbox-signature']).toBe(`sha256=${createHmac('sha256', HMAC_KEY).update(hook.body).digest('hex')}`);
    const slack = posts('/services/T0SLACKSECRET/B0SLACKSECRET/SlackTok3nSECRET');
    expect(slack).toHaveLength(1);
    expect(slack[0]!.body).toContain(RUN_URL);
    expect(slack[0]!.body).toContain(o['backup-id']);
    expect(pings()).toEqual(['/start', '/']);
    expectNoSecrets(out, ['WebhookTok3nSECRET', 'SlackTok3nSECRET', 'HC-SECRET-1234']);
  });

  it('a failed backup: the failure event with the error, hint and run URL, and healthcheck start then /fail; the step fails as before', async () => {
    const u = urls();
    const port = await unusedPort();
    const out = step('action.yml', {
      to: repo, postgres: `postgres://backup:${PG_PASSWORD}@127.0.0.1:${port}/shop`, passphrase: PASSPHRASE,
      notify: u.webhook, 'notify-secret': HMAC_KEY, healthcheck: u.healthcheck,
    });
    await runBackupAction({ timers: noWait });
    const o = outputs(out);
    expect(o.status).toBe('failure');
    expect(o['exit-code']).not.toBe('0');
    expect(o['notify-failed']).toBe('[]');
    expect(process.exitCode).toBe(1);
    const [event] = webhookEvents();
    expect(event).toMatchObject({ operation: 'backup', status: 'failure', exitCode: Number(o['exit-code']), github: { runUrl: RUN_URL, repository: 'acme/shop' } });
    expect(event!.error?.message).toMatch(/\S/);
    expect(pings()).toEqual(['/start', '/fail']);
    const fail = cap.requests.find((r) => r.path.endsWith('/fail'))!;
    expect(fail.body).toContain('FAILED');
    // The last lines the step logged follow the headline (masked: checked below).
    expect(fail.body).toMatch(/last lines:\n[\s\S]*\S/);
    expectNoSecrets(out);
  });

  it('an unreachable endpoint: a warning naming the channel and the notify-failed output; the step succeeds as it would have', async () => {
    const port = await unusedPort();
    const out = step('action.yml', { to: repo, files: tree, passphrase: PASSPHRASE, notify: `http://127.0.0.1:${port}/hooks/DeadTok3nSECRET`, 'notify-on': 'always' });
    await runBackupAction({ timers: noWait });
    const o = outputs(out);
    expect(o).toMatchObject({ status: 'success', 'exit-code': '0' });
    expect(process.exitCode).toBeUndefined();
    expect(JSON.parse(o['notify-failed']!)).toEqual([`webhook (127.0.0.1:${port})`]);
    expect(visibleLog()).toMatch(new RegExp(`::warning::notification to webhook \\(127\\.0\\.0\\.1:${port}\\) was not delivered \\(3 attempts\\).*the backup's own result stands`));
    expect(visibleLog()).not.toContain('DeadTok3nSECRET');
  });

  it('a notify line that is not a URL fails the step with exit code 2 naming the input, before any backup, never the value', async () => {
    const out = step('action.yml', { to: join(work, 'never'), init: 'true', files: tree, passphrase: PASSPHRASE, notify: `${urls().webhook}\nnot-a-url-SECRET-9` });
    await runBackupAction({ timers: noWait });
    expect(outputs(out)).toMatchObject({ status: 'failure', 'exit-code': '2' });
    expect(visibleLog()).toContain('notify #2 is not a URL (the value is not shown)');
    expect(visibleLog()).not.toContain('not-a-url-SECRET-9');
    expect(cap.requests).toEqual([]);
  });

  it('without notify inputs nothing is sent and notify-failed is []', async () => {
    const out = step('action.yml', { to: repo, files: tree, passphrase: PASSPHRASE });
    await runBackupAction({ timers: noWait });
    expect(outputs(out)).toMatchObject({ status: 'success', 'notify-failed': '[]' });
    expect(cap.requests).toEqual([]);
  });
});

describe('verify, restore and rollback action notifications', () => {
  const keyed = join(work, 'keyed');
  let id: string;

  beforeAll(async () => {
    log = captureLog();
    const out = runnerEnv(work, 'action.yml', { to: keyed, init: 'true', files: tree, recipient: key.recipient });
    await runBackupAction();
    id = outputs(out)['backup-id']!;
    vi.restoreAllMocks();
  });

  it('verify with drill inputs reports operation drill with its RTO; healthcheck start then success', async () => {
    const u = urls();
    const out = step('actions/verify/action.yml', { from: keyed, identity: key.identity, 'drill-files': join(work, 'scratch'), notify: u.webhook, 'notify-on': 'always', healthcheck: u.healthcheck });
    await runVerifyAction({ timers: noWait });
    const o = outputs(out);
    expect(o).toMatchObject({ status: 'success', 'notify-failed': '[]' });
    const [event] = webhookEvents();
    expect(event).toMatchObject({ operation: 'drill', status: 'success', backupId: id, github: { runUrl: RUN_URL } });
    expect(event!.details).toMatchObject({ ok: true, rtoSeconds: Number(o['rto-seconds']) });
    expect(pings()).toEqual(['/start', '/']);
    expectNoSecrets(out);
  });

  it('a damaged backup: the verify failure is sent with exit code 3 under the default notify-on; healthcheck /fail', async () => {
    const u = urls();
    const damaged = join(work, 'damaged');
    cpSync(keyed, damaged, { recursive: true });
    const artifact = readdirSync(join(damaged, id)).find((f) => f !== 'manifest.json' && !f.endsWith('.sig'))!;
    appendFileSync(join(damaged, id, artifact), 'x');
    const out = step('actions/verify/action.yml', { from: damaged, notify: u.webhook, healthcheck: u.healthcheck });
    await runVerifyAction({ timers: noWait });
    expect(outputs(out)).toMatchObject({ status: 'failure', 'exit-code': '3' });
    const [event] = webhookEvents();
    expect(event).toMatchObject({ operation: 'verify', status: 'failure', exitCode: 3, backupId: id, github: { runUrl: RUN_URL } });
    expect(event!.error?.message).toContain(id);
    expect(pings()).toEqual(['/start', '/fail']);
    expectNoSecrets(out);
  });

  it('restore: the success event with what was restored (notify-on: always)', async () => {
    const u = urls();
    const out = step('actions/restore/action.yml', { from: keyed, identity: key.identity, 'files-target': join(work, 'restored'), notify: u.webhook, 'notify-on': 'always', healthcheck: u.healthcheck });
    await runRestoreAction({ timers: noWait });
    expect(outputs(out)).toMatchObject({ status: 'success', 'notify-failed': '[]' });
    const [event] = webhookEvents();
    expect(event).toMatchObject({ operation: 'restore', status: 'success', backupId: id, github: { runUrl: RUN_URL } });
    expect(pings()).toEqual(['/start', '/']);
    expectNoSecrets(out);
  });

  it('rollback: a failed smoke check is a failure event (exit code 3) with its counts, never the check SQL', async () => {
    const u = urls();
    const site = join(work, 'site');
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, 'a.txt'), 'changed since the backup\n');
    const out = step('actions/rollback/action.yml', {
      from: keyed, backup: id, identity: key.identity, recipient: key.recipient, 'files-target': site, confirm: 'site',
      'check-file': 'no-such-file.txt', notify: u.webhook, healthcheck: u.healthcheck,
    });
    await runRollbackAction({ timers: noWait });
    const o = outputs(out);
    expect(o).toMatchObject({ status: 'failure', 'exit-code': '3', 'notify-failed': '[]' });
    const [event] = webhookEvents();
    expect(event).toMatchObject({ operation: 'rollback', status: 'failure', exitCode: 3, backupId: id, github: { runUrl: RUN_URL } });
    expect(event!.details).toMatchObject({ checks: 1, checksFailed: 1, safetyBackupId: o['safety-backup-id'] });
    expect(pings()).toEqual(['/start', '/fail']);
    expectNoSecrets(out);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { RunEvent } from '../../src/notify/event.js';
import { startCaptureServer, type CaptureServer } from '../helpers/notify-servers.js';

/**
 * A webhook, Slack or healthcheck URL is a credential, and argv is readable by every user of
 * the machine: --notify-env / --healthcheck-env read it from the environment, and a URL typed
 * on the command line is warned about, naming the -env flag.
 */
const work = mkdtempSync(join(tmpdir(), 'strongbox-notify-env-'));
const tree = join(work, 'tree');
let cap: CaptureServer;
let stderr: string[];

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
  vi.restoreAllMocks();
  cap.requests.length = 0;
});

function captureStderr(): void {
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
}

const backup = (repo: string, extra: string[], env: NodeJS.ProcessEnv = {}) => {
  captureStderr();
  return main(['backup', '--to', repo, '--init', '--files', tree, '--unencrypted', ...extra], env);
};
const hook = () => `${cap.url}/hooks/WebhookTok3nSECRET`;
const slack = () => `slack+${cap.url}/services/T0SECRET/B0SECRET/SlackTok3nSECRET`;
const hc = () => `${cap.url}/ping/5f0e4c5a-HC-SECRET-1234`;
const TOKENS = ['WebhookTok3nSECRET', 'SlackTok3nSECRET', 'HC-SECRET-1234'];

describe('--notify-env and --healthcheck-env', () => {
  it('read the channel and ping URLs from the environment: the event, the Slack message and the pings arrive; no argv warning, no token printed', async () => {
    const code = await backup(join(work, 'a'), ['--notify-env', 'HOOK_URL', '--notify-env', 'SLACK_URL', '--healthcheck-env', 'HC_URL', '--notify-on', 'always'], {
      HOOK_URL: hook(),
      SLACK_URL: slack(),
      HC_URL: hc(),
    });
    expect(code).toBe(0);
    const events = cap.requests.filter((r) => r.path === '/hooks/WebhookTok3nSECRET').map((r) => JSON.parse(r.body) as RunEvent);
    expect(events).toEqual([expect.objectContaining({ operation: 'backup', status: 'success', exitCode: 0 })]);
    expect(cap.requests.filter((r) => r.path.startsWith('/services/'))).toHaveLength(1);
    expect(cap.requests.filter((r) => r.path.startsWith('/ping/')).map((r) => r.path.split('/').pop())).toEqual(['start', '5f0e4c5a-HC-SECRET-1234']);
    const log = stderr.join('');
    expect(log).not.toContain('process list');
    for (const t of TOKENS) expect(log).not.toContain(t);
  });

  it('--notify and --notify-env together: both channels are notified', async () => {
    const code = await backup(join(work, 'b'), ['--notify', hook(), '--notify-env', 'SLACK_URL', '--notify-on', 'always'], { SLACK_URL: slack() });
    expect(code).toBe(0);
    expect(cap.requests.map((r) => r.path.split('/')[1]).sort()).toEqual(['hooks', 'services']);
  });

  it('an unset variable exits 2 before any backup, naming the flag and the variable', async () => {
    const code = await backup(join(work, 'never'), ['--notify-env', 'NO_SUCH_HOOK'], {});
    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(/--notify-env NO_SUCH_HOOK: environment variable NO_SUCH_HOOK is unset/);
    expect(cap.requests).toEqual([]);
  });
});

describe('a credential URL typed in argv', () => {
  it('--notify with a webhook or Slack URL and --healthcheck warn, naming the -env flag and the channel, never the URL', async () => {
    const code = await backup(join(work, 'c'), ['--notify', hook(), '--notify', slack(), '--healthcheck', hc()]);
    expect(code).toBe(0);
    const log = stderr.join('');
    const port = new URL(cap.url).port;
    expect(log).toContain(`warning: the --notify URL (webhook (127.0.0.1:${port})) is a credential, which other users of this machine can read in the process list (ps): put it in an environment variable and pass --notify-env NAME instead`);
    expect(log).toContain(`warning: the --notify URL (slack (127.0.0.1:${port})) is a credential`);
    expect(log).toMatch(/warning: the --healthcheck URL \(healthcheck \(127\.0\.0\.1:\d+\)\) is a credential.*pass --healthcheck-env NAME instead/);
    for (const t of TOKENS) expect(log).not.toContain(t);
  });

  it('a mail URL holds no credential (its password comes from the environment): no warning', async () => {
    const code = await backup(join(work, 'd'), ['--notify', 'smtp://127.0.0.1:2525?from=backup@example.com&to=ops@example.com']);
    expect(code).toBe(0);
    expect(stderr.join('')).not.toContain('process list');
  });
});

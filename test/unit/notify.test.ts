import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConfig } from '../../src/config/describe.js';
import { ConfigFileError, parseConfigText } from '../../src/config/file.js';
import { pingFailedSetup, resolveNotifyConfig, type NotifySettings } from '../../src/config/notify.js';
import { DeliveryError } from '../../src/notify/channel.js';
import { deliver, type Timers } from '../../src/notify/deliver.js';
import type { RunEvent } from '../../src/notify/event.js';
import { monitored, startMonitor, statusOf } from '../../src/notify/monitor.js';
import { slackMessage } from '../../src/notify/slack.js';
import { signature } from '../../src/notify/webhook.js';
import { ExitCode, StrongboxError, UsageError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { startCaptureServer, startMailServer, unusedPort, type CaptureServer, type MailServer } from '../helpers/notify-servers.js';

/** Timers that never wait: sleeps are recorded, timeouts fire only when `fire` says so. */
function fakeTimers(fire = false): Timers & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    sleep: async (ms) => void slept.push(ms),
    after: (_ms, fn) => {
      if (fire) queueMicrotask(fn);
      return () => {};
    },
  };
}

function recorder() {
  const lines: string[] = [];
  const reporter = new ConsoleReporter({ write: (l) => lines.push(l), verbose: true });
  return { reporter, lines, mask: (s: string) => reporter.mask(s) };
}

const SLACK_TOKEN = 'T0SECRET1/B0SECRET2/xoxbSecretToken123456';
const HC_UUID = '5f0e4c5a-8b1d-4a8e-9d3c-0123456789ab';
const HMAC_KEY = 'hmac-key-that-is-secret';

let http: CaptureServer;
beforeAll(async () => {
  http = await startCaptureServer();
});
afterAll(async () => {
  await http.close();
});

const settingsFor = (flags: Parameters<typeof resolveNotifyConfig>[0], env: NodeJS.ProcessEnv = {}) => {
  const r = recorder();
  const settings = resolveNotifyConfig(flags, undefined, env, r.reporter);
  return { ...r, settings };
};

describe('delivery', () => {
  it('retries with backoff and succeeds on the third attempt', async () => {
    const timers = fakeTimers();
    let calls = 0;
    const rec = await deliver('x', async () => {
      if (++calls < 3) throw new DeliveryError('answered HTTP 503');
    }, { timeoutMs: 1000, retries: 2, backoffMs: 1000 }, timers);
    expect(rec).toEqual({ channel: 'x', ok: true, attempts: 3 });
    expect(timers.slept).toEqual([1000, 2000]);
  });

  it('gives up after the retries and returns the last error; a permanent error is not retried', async () => {
    const rec = await deliver('x', async () => {
      throw new DeliveryError('answered HTTP 503');
    }, { timeoutMs: 1000, retries: 2, backoffMs: 10 }, fakeTimers());
    expect(rec).toMatchObject({ ok: false, attempts: 3, error: 'answered HTTP 503' });
    const perm = await deliver('x', async () => {
      throw new DeliveryError('answered HTTP 404', true);
    }, { timeoutMs: 1000, retries: 2, backoffMs: 10 }, fakeTimers());
    expect(perm).toMatchObject({ ok: false, attempts: 1, error: 'answered HTTP 404' });
  });

  it('abandons an attempt that never answers when its timeout passes, and aborts its signal', async () => {
    const signals: AbortSignal[] = [];
    const rec = await deliver('x', (signal) => {
      signals.push(signal);
      return new Promise<void>(() => {});
    }, { timeoutMs: 5000, retries: 1, backoffMs: 10 }, fakeTimers(true));
    expect(rec).toMatchObject({ ok: false, attempts: 2, error: 'no answer within 5 s' });
    expect(signals.every((s) => s.aborted)).toBe(true);
  });
});

describe('the event', () => {
  it.each([
    [0, 0, 'success'],
    [0, 1, 'alert'],
    [ExitCode.alert, 1, 'alert'],
    [ExitCode.partial, 0, 'partial'],
    [ExitCode.verifyFailed, 0, 'failure'],
    [ExitCode.usage, 0, 'failure'],
    [130, 0, 'failure'],
  ])('exit %i with %i alert(s) is %s', (code, alerts, status) => {
    const list = Array.from({ length: alerts }, () => ({ kind: 'stored-size' as const, value: 1, baseline: 10, changePercent: -90, thresholdPercent: 20, message: 'm' }));
    expect(statusOf(code, list)).toBe(status);
  });

  it('Slack: escapes user text, shows the figures, and links to the run', () => {
    const e: RunEvent = {
      version: 1, operation: 'backup', status: 'failure', exitCode: 1, startedAt: '', finishedAt: '', durationSeconds: 3.2, host: 'db1',
      backupId: '20261201T020000Z', storedBytes: 2048, error: { message: 'table <orders> & more', hint: 'check it' },
      github: { repository: 'acme/shop', workflow: 'nightly', runId: '42', runUrl: 'https://github.com/acme/shop/actions/runs/42' },
    };
    const m = slackMessage(e);
    const text = (m.blocks[0] as { text: { text: string } }).text.text;
    expect(text).toContain('table &lt;orders&gt; &amp; more');
    expect(text).toContain('<https://github.com/acme/shop/actions/runs/42|nightly run 42>');
    expect(text).toContain('backup 20261201T020000Z');
    expect(text).toContain('2.0 KiB stored');
    expect(m.text).toBe('Strongbox backup FAILED on db1 (acme/shop)');
  });
});

describe('resolving --notify and --healthcheck', () => {
  const usage = (fn: () => unknown): UsageError => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return err as UsageError;
    }
    throw new Error('accepted');
  };

  it('a bad URL exits 2 naming the flag and never echoing the URL', () => {
    const r = recorder();
    const cases = [
      ['not a url xoxbSecretToken', 'is not a URL'],
      [`ftp://hooks.example.com/${SLACK_TOKEN}`, '"ftp://" is not a notification channel'],
      [`http://hooks.example.com/${SLACK_TOKEN}`, 'must use https://'],
      [`slack+http://hooks.slack.com/services/${SLACK_TOKEN}`, 'must use https://'],
      ['smtp://u:pw-SECRET-1@mail.example.com?from=a@b.c&to=d@e.f', 'must not hold a password'],
      ['smtp://mail.example.com?to=d@e.f', 'needs ?from='],
      ['smtp://mail.example.com?from=a@b.c&to=d@e.f&pass=x', 'unknown setting "pass"'],
    ];
    for (const [url, message] of cases) {
      const err = usage(() => resolveNotifyConfig({ notify: [url!] }, undefined, {}, r.reporter));
      expect(err.exitCode).toBe(ExitCode.usage);
      expect(err.message).toMatch(/^--notify/);
      expect(err.message).toContain(message);
      expect(`${err.message} ${err.hint}`).not.toContain('SECRET');
      expect(`${err.message} ${err.hint}`).not.toContain('xoxb');
    }
    const second = usage(() => resolveNotifyConfig({ notify: ['https://ok.example.com/x', 'gopher://x'] }, undefined, {}, r.reporter));
    expect(second.message).toMatch(/^--notify #2: /);
    const hc = usage(() => resolveNotifyConfig({ healthcheck: `http://hc-ping.com/${HC_UUID}` }, undefined, {}, r.reporter));
    expect(hc.message).toMatch(/^--healthcheck: /);
    expect(hc.message).not.toContain(HC_UUID);
  });

  it('masks every notify and healthcheck URL and its token parts, and shows channels by host', () => {
    const { settings, reporter } = settingsFor(
      { notify: [`slack+https://hooks.slack.com/services/${SLACK_TOKEN}`, 'https://hooks.example.com/in/abcDEF123456?token=qwertyuiop12', 'smtp://backup@mail.example.com:587?from=b@example.com&to=ops@example.com&to=dba@example.com'], healthcheck: `https://hc-ping.com/${HC_UUID}` },
      { SMTP_PASSWORD: 'smtp-pass-secret' },
    );
    expect(settings.channels.map((c) => c.display)).toEqual(['slack (hooks.slack.com)', 'webhook (hooks.example.com)', 'smtp (mail.example.com:587, to ops@example.com, dba@example.com)']);
    expect(settings.healthcheck?.display).toBe('healthcheck (hc-ping.com)');
    const leaked = reporter.mask(`a https://hooks.slack.com/services/${SLACK_TOKEN} b xoxbSecretToken123456 c ${HC_UUID} d abcDEF123456 e qwertyuiop12 f smtp-pass-secret`);
    for (const s of ['xoxb', HC_UUID, 'abcDEF123456', 'qwertyuiop12', 'smtp-pass-secret']) expect(leaked).not.toContain(s);
    expect(settings.on).toBe('failure');
  });

  it('a mail URL with a user needs its password variable, named once with the flag, and says SMTP_PASSWORD is only the default', () => {
    const err = usage(() => resolveNotifyConfig({ notify: ['smtp://backup@mail.example.com?from=b@example.com&to=o@example.com&password-env=MAIL_PW'] }, undefined, {}, recorder().reporter));
    expect(err.message).toBe('--notify: the SMTP password: environment variable MAIL_PW is unset');
    const dflt = usage(() => resolveNotifyConfig({ notify: ['smtp://backup@mail.example.com?from=b@example.com&to=o@example.com'] }, undefined, {}, recorder().reporter));
    expect(dflt.exitCode).toBe(ExitCode.usage);
    expect(dflt.message).toMatch(/^--notify: the SMTP password: environment variable SMTP_PASSWORD is unset \(SMTP_PASSWORD is where .* by default; or name another variable with &password-env=NAME\)$/);
    expect(dflt.message.match(/--notify/g)).toHaveLength(1);
  });

  it('a bad --healthcheck URL is answered with a ping URL example, not the notification channels', () => {
    const err = usage(() => resolveNotifyConfig({ healthcheck: 'not a url' }, undefined, {}, recorder().reporter));
    expect(err.message).toBe('--healthcheck is not a URL (the value is not shown)');
    expect(err.hint).toContain('https://hc-ping.com/');
    expect(err.hint).not.toContain('slack');
  });

  it('masks only the token-like parts of a URL: everyday words of its path stay readable in logs and in the event', async () => {
    const { settings, reporter, mask } = settingsFor({ notify: [`${http.url}/backup`, 'https://hooks.example.com/Strongbox/alerts/in/abc12345def?channel=backups&key=k3y4567890'], notifyOn: 'always' });
    expect(reporter.mask('the backup of Strongbox alerts in backups went to /backup')).toBe('the backup of Strongbox alerts in backups went to /backup');
    for (const leaked of ['abc12345def', 'k3y4567890', 'https://hooks.example.com/Strongbox/alerts/in/abc12345def?channel=backups&key=k3y4567890', `${http.url}/backup`]) expect(reporter.mask(`x ${leaked} y`)).toBe('x *** y');
    // Even a secret that equals an enum value (a healthcheck path `backup`) never rewrites the fields a receiver routes on.
    reporter.setSecret('failure');
    http.requests.length = 0;
    await startMonitor('backup', settings, { reporter, mask, timers: fakeTimers() }).finish({ exitCode: 1, outcome: { labels: ['backup'] }, error: { message: 'backup failure' } });
    const e = JSON.parse(http.requests.find((r) => r.path === '/backup')!.body) as RunEvent;
    expect(e).toMatchObject({ operation: 'backup', status: 'failure', version: 1, exitCode: 1, labels: ['backup'], error: { message: 'backup ***' } });
  });

  it('when a channel cannot be opened, the run still exits 2 but a configured healthcheck gets /fail with the reason', async () => {
    http.requests.length = 0;
    const r = recorder();
    let thrown: unknown;
    try {
      resolveNotifyConfig({ notify: ['smtp://backup@mail.example.com?from=b@example.com&to=o@example.com'], healthcheck: `${http.url}/ping/${HC_UUID}` }, undefined, {}, r.reporter);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    await pingFailedSetup('backup', thrown, { reporter: r.reporter, mask: r.mask, timers: fakeTimers() });
    expect(http.requests.map((q) => q.path)).toEqual([`/ping/${HC_UUID}/start`, `/ping/${HC_UUID}/fail`]);
    expect(http.requests[1]!.body).toContain('SMTP_PASSWORD is unset');
    // Without a healthcheck there is nobody to tell: nothing is sent.
    http.requests.length = 0;
    await pingFailedSetup('backup', new UsageError('x'), { reporter: r.reporter, mask: r.mask, timers: fakeTimers() });
    expect(http.requests).toEqual([]);
  });

  it('--notify-on must be failure or always; --notify-timeout is a duration', () => {
    expect(usage(() => resolveNotifyConfig({ notifyOn: 'sometimes' }, undefined, {}, recorder().reporter)).message).toContain('--notify-on must be failure or always');
    expect(usage(() => resolveNotifyConfig({ notifyTimeout: '10' }, undefined, {}, recorder().reporter)).message).toContain('--notify-timeout');
    expect(resolveNotifyConfig({ notifyTimeout: '3s' }, undefined, {}, recorder().reporter).delivery.timeoutMs).toBe(3000);
  });

  it('reads the GitHub run from the environment it is given', () => {
    const s = resolveNotifyConfig({}, undefined, { GITHUB_RUN_ID: '7', GITHUB_REPOSITORY: 'acme/shop', GITHUB_WORKFLOW: 'nightly', GITHUB_SERVER_URL: 'https://github.com' }, recorder().reporter);
    expect(s.github).toMatchObject({ repository: 'acme/shop', workflow: 'nightly', runId: '7', runUrl: 'https://github.com/acme/shop/actions/runs/7' });
  });
});

describe('notify: in strongbox.yml', () => {
  it('reads channels by variable, smtp URLs literally, and the companions; the flags replace the list', () => {
    const file = parseConfigText(
      'notify:\n  - url-env: SLACK_WEBHOOK\n  - url: smtp://mail.example.com:25?from=b@example.com&to=o@example.com\nnotify-on: always\nnotify-secret-env: HOOK_KEY\nnotify-timeout: 5s\nhealthcheck-env: HC_URL\n',
      '/tmp/strongbox.yml',
    );
    const r = recorder();
    const env = { SLACK_WEBHOOK: `slack+https://hooks.slack.com/services/${SLACK_TOKEN}`, HOOK_KEY: HMAC_KEY, HC_URL: `https://hc-ping.com/${HC_UUID}` };
    const s = resolveNotifyConfig({}, file, env, r.reporter);
    expect(s.channels.map((c) => c.display)).toEqual(['slack (hooks.slack.com)', 'smtp (mail.example.com:25, to o@example.com)']);
    expect(s.on).toBe('always');
    expect(s.delivery.timeoutMs).toBe(5000);
    expect(s.healthcheck?.display).toBe('healthcheck (hc-ping.com)');
    expect(r.reporter.mask(SLACK_TOKEN)).not.toContain('xoxb');
    const flags = resolveNotifyConfig({ notify: ['https://other.example.com/hook'], notifyOn: 'failure' }, file, env, r.reporter);
    expect(flags.channels.map((c) => c.display)).toEqual(['webhook (other.example.com)']);
    expect(flags.on).toBe('failure');
    const unset = (() => {
      try {
        // The healthcheck is read first (so it can be told when a channel fails): its variable is set here.
        resolveNotifyConfig({}, file, { HOOK_KEY: HMAC_KEY, HC_URL: `https://hc-ping.com/${HC_UUID}` }, r.reporter);
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(unset).toMatch(/strongbox\.yml:2:\d+: notify\[0\]\.url-env: environment variable SLACK_WEBHOOK is unset/);
  });

  it('config check names the notification variables and whether each is set', () => {
    const file = parseConfigText('notify:\n  - url-env: SLACK_WEBHOOK\nnotify-secret-env: HOOK_KEY\nhealthcheck-env: HC_URL\n', '/tmp/strongbox.yml');
    const d = describeConfig(file, { SLACK_WEBHOOK: 'slack+https://hooks.slack.com/services/x' });
    expect(d.environment).toEqual(expect.arrayContaining([
      { name: 'SLACK_WEBHOOK', set: true, usedBy: 'notify[0].url-env' },
      { name: 'HOOK_KEY', set: false, usedBy: 'notify-secret-env' },
      { name: 'HC_URL', set: false, usedBy: 'healthcheck-env' },
    ]));
    expect(JSON.stringify(d)).not.toContain('hooks.slack.com');
  });

  it('refuses a webhook or Slack URL written in the file, without showing it', () => {
    let err: ConfigFileError | undefined;
    try {
      parseConfigText(`notify:\n  - url: slack+https://hooks.slack.com/services/${SLACK_TOKEN}\n  - url: https://x.example.com/abc\n    url-env: X\n`, '/tmp/s.yml');
    } catch (e) {
      err = e as ConfigFileError;
    }
    expect(err).toBeInstanceOf(ConfigFileError);
    expect(err!.message).toContain('a slack URL is a credential');
    expect(err!.message).toContain('url-env: NAME');
    expect(err!.message).toContain('give url or url-env, not both');
    expect(err!.message).not.toContain('xoxb');
  });
});

describe('the monitor, against a local receiver', () => {
  const event = (reqs: { body: string }[]) => JSON.parse(reqs[0]!.body) as RunEvent;

  it('posts the event as JSON signed with HMAC-SHA256 of the exact body; healthcheck start then success with the log', async () => {
    http.requests.length = 0;
    const { settings, reporter, mask, lines } = settingsFor(
      { notify: [`${http.url}/hook/abcDEF123456`], notifySecret: HMAC_KEY, notifyOn: 'always', healthcheck: `${http.url}/ping/${HC_UUID}` },
    );
    reporter.setSecret('db-password-SECRET');
    const monitor = startMonitor('backup', settings, { reporter, mask, logTail: () => ['dumping db (password db-password-SECRET)', 'backup done'], timers: fakeTimers() });
    const report = await monitor.finish({ exitCode: 0, outcome: { backupId: 'B1', storedBytes: 10, labels: ['nightly'] } });
    expect(report.failed).toEqual([]);
    const paths = http.requests.map((r) => `${r.method} ${r.path}`);
    // The start ping comes first; the end ping goes out beside the channels, in either order.
    expect(paths[0]).toBe(`POST /ping/${HC_UUID}/start`);
    expect(paths.slice(1).sort()).toEqual(['POST /hook/abcDEF123456', `POST /ping/${HC_UUID}`]);
    const hook = http.requests.find((r) => r.path === '/hook/abcDEF123456')!;
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers['x-strongbox-signature']).toBe(signature(hook.body, HMAC_KEY));
    const e = event([hook]);
    expect(e).toMatchObject({ version: 1, operation: 'backup', status: 'success', exitCode: 0, backupId: 'B1', storedBytes: 10, labels: ['nightly'] });
    const log = http.requests.find((r) => r.path === `/ping/${HC_UUID}`)!.body;
    expect(log).toContain('Strongbox backup succeeded');
    expect(log).toContain('backup done');
    expect(log).not.toContain('db-password-SECRET');
    expect(lines.join('\n')).not.toContain('abcDEF123456');
  });

  it('on failure: sends by default, pings /fail, and the error and hint are in the event', async () => {
    http.requests.length = 0;
    const { settings, reporter, mask } = settingsFor({ notify: [`${http.url}/hook`], healthcheck: `${http.url}/ping/x` });
    const err = new StrongboxError('verify found 1 problem', { exitCode: ExitCode.verifyFailed, hint: 'run verify --deep' });
    await expect(monitored('verify', settings, { reporter, mask, timers: fakeTimers() }, async () => {
      throw err;
    })).rejects.toBe(err);
    expect(http.requests[0]!.path).toBe('/ping/x/start');
    expect(http.requests.map((r) => r.path).slice(1).sort()).toEqual(['/hook', '/ping/x/fail']);
    expect(event(http.requests.filter((r) => r.path === '/hook'))).toMatchObject({ operation: 'verify', status: 'failure', exitCode: 3, error: { message: 'verify found 1 problem', hint: 'run verify --deep' } });
  });

  it('on failure only: a success sends nothing but its healthcheck ping; an alert or a partial result always sends', async () => {
    const { settings, reporter, mask } = settingsFor({ notify: [`${http.url}/hook`] });
    for (const [exitCode, alerts, sent] of [[0, false, 0], [0, true, 1], [ExitCode.partial, false, 1]] as const) {
      http.requests.length = 0;
      const outcome = alerts ? { alerts: [{ kind: 'rows' as const, value: 1, baseline: 10, changePercent: -90, thresholdPercent: 20, message: 'orders: 1 row, usually 10' }] } : {};
      await startMonitor('backup', settings, { reporter, mask, timers: fakeTimers() }).finish({ exitCode, outcome });
      expect(http.requests.length).toBe(sent);
      if (sent) expect(event(http.requests).status).toBe(alerts ? 'alert' : 'partial');
    }
  });

  it('retries a receiver that fails twice, then is delivered', async () => {
    http.requests.length = 0;
    http.failNext(2, 503);
    const { settings, reporter, mask } = settingsFor({ notify: [`${http.url}/flaky`] });
    const timers = fakeTimers();
    const report = await startMonitor('prune', settings, { reporter, mask, timers }).finish({ exitCode: 1, error: { message: 'boom' } });
    expect(http.requests.length).toBe(3);
    expect(report.deliveries).toEqual([{ channel: `webhook (${new URL(http.url).host})`, ok: true, attempts: 3 }]);
    expect(timers.slept).toEqual([1000, 2000]);
  });

  it('an unreachable endpoint is a warning and a failure record, never an exception', async () => {
    const port = await unusedPort();
    const { settings, reporter, mask, lines } = settingsFor({ notify: [`http://127.0.0.1:${port}/hook/abcDEF123456`], healthcheck: `http://127.0.0.1:${port}/${HC_UUID}` });
    const report = await startMonitor('backup', settings, { reporter, mask, timers: fakeTimers() }).finish({ exitCode: 1 });
    expect(report.failed.map((f) => f.channel)).toEqual([`healthcheck (127.0.0.1:${port}) start`, `webhook (127.0.0.1:${port})`, `healthcheck (127.0.0.1:${port}) fail`]);
    expect(report.failed[1]).toMatchObject({ attempts: 3, error: 'cannot connect (ECONNREFUSED)' });
    const out = lines.join('\n');
    expect(out).toContain(`warning: notification to webhook (127.0.0.1:${port}) was not delivered (3 attempts): cannot connect (ECONNREFUSED); the backup's own result stands`);
    expect(out).not.toContain('abcDEF123456');
    expect(out).not.toContain(HC_UUID);
  });

  it('a Slack receiver gets the message, not the raw event', async () => {
    http.requests.length = 0;
    const { settings, reporter, mask } = settingsFor({ notify: [`slack+${http.url}/services/${SLACK_TOKEN}`] });
    await startMonitor('backup', settings, { reporter, mask, timers: fakeTimers() }).finish({ exitCode: 1, error: { message: 'pg_dump failed' } });
    const body = JSON.parse(http.requests[0]!.body) as ReturnType<typeof slackMessage>;
    expect(http.requests[0]!.path).toBe(`/services/${SLACK_TOKEN}`);
    expect(body.text).toContain('Strongbox backup FAILED');
    expect(JSON.stringify(body.blocks)).toContain('error: pg_dump failed');
  });
});

describe('mail', () => {
  let mail: MailServer;
  beforeAll(async () => {
    mail = await startMailServer({ password: 'smtp-pass-SECRET' });
  });
  afterAll(async () => {
    await mail.close();
  });

  it('sends over STARTTLS with the password from SMTP_PASSWORD; the mail holds the figures and no secret', async () => {
    const r = recorder();
    const settings: NotifySettings = resolveNotifyConfig(
      { notify: [`smtp://backup@127.0.0.1:${mail.port}?from=backup@example.com&to=ops@example.com&to=dba@example.com`] },
      undefined,
      { SMTP_PASSWORD: 'smtp-pass-SECRET' },
      r.reporter,
      { ca: mail.cert },
    );
    const report = await startMonitor('backup', settings, { reporter: r.reporter, mask: r.mask, timers: fakeTimers() }).finish({ exitCode: 8, outcome: { backupId: 'B9', destinations: [{ location: '/srv/a', status: 'committed' }, { location: 's3://b/p (host)', status: 'failed', error: 'access denied' }] } });
    expect(report.failed).toEqual([]);
    expect(mail.mails.length).toBe(1);
    const m = mail.mails[0]!;
    expect(m.secure).toBe(true);
    expect(m.user).toBe('backup');
    expect(m.to).toEqual(['ops@example.com', 'dba@example.com']);
    expect(m.raw).toMatch(/Subject: \[Strongbox\] Strongbox backup partly failed on/);
    expect(m.raw).toContain('s3://b/p (host): failed (access denied)');
    expect(m.raw).not.toContain('smtp-pass-SECRET');
  });

  it('a wrong password is a permanent failure: one attempt, a warning', async () => {
    const r = recorder();
    const settings = resolveNotifyConfig({ notify: [`smtp://backup@127.0.0.1:${mail.port}?from=b@example.com&to=o@example.com`] }, undefined, { SMTP_PASSWORD: 'wrong-password' }, r.reporter, { ca: mail.cert });
    const report = await startMonitor('backup', settings, { reporter: r.reporter, mask: r.mask, timers: fakeTimers() }).finish({ exitCode: 1 });
    expect(report.failed[0]).toMatchObject({ attempts: 1 });
    expect(report.failed[0]!.error).toMatch(/^EAUTH/);
    expect(r.lines.join('\n')).not.toContain('wrong-password');
  });
});

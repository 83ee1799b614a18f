import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import { resetCancellation } from '../../src/shared/cancel.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';
import { runCli } from '../helpers/cli.js';
import { openDestination } from '../../src/destinations/index.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * Several destinations, partial success, with the real CLI: a local folder and two S3 prefixes
 * on s3rver reached through a TCP proxy, so the store can go down (the proxy closes: connection
 * refused) and come back with its data to show what the failed run left there.
 */
let work: string;
let tree: string;
let s3: S3rverHandle;
let proxy: Proxy;
const PASS = 'correct horse battery staple, partially';

interface Proxy {
  endpoint: string;
  down(): Promise<void>;
  up(): Promise<void>;
}

/** A loopback TCP proxy in front of `target`, which can be taken down and brought back on the same port. */
async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(targetPort), hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s)).on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await up();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    up,
    down: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server!.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-partial-itg-'));
  tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  writeFileSync(join(tree, 'noise.bin'), randomBytes(3 << 20));
  s3 = await startS3rver();
  proxy = await startProxy(s3.endpoint);
});
afterAll(async () => {
  await proxy?.down().catch(() => undefined);
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});
afterEach(async () => {
  await s3.setFaults({});
});

let n = 0;
/** A local folder and two S3 prefixes, none created yet. */
function places() {
  const i = ++n;
  return { local: join(work, `local-${i}`), one: `s3://${s3.bucket}/one-${i}`, two: `s3://${s3.bucket}/two-${i}`, prefixTwo: `two-${i}` };
}
const env = () => ({ ...s3.env, STRONGBOX_PASS: PASS });
/** How Strongbox names an S3 location in messages and JSON: with the store's host. */
const shown = (url: string) => (url.startsWith('s3://') ? `${url} (${new URL(proxy.endpoint).host})` : url);
const s3Flags = () => ['--endpoint', proxy.endpoint, '--path-style', '--region', 'us-east-1'];
const backupArgs = (to: string[], extra: string[] = []) => ['backup', ...to.flatMap((t) => ['--to', t]), '--files', tree, '--passphrase-env', 'STRONGBOX_PASS', ...s3Flags(), ...extra];

async function listed(from: string): Promise<string[]> {
  const r = await runCli(['list', '--from', from, '--all', '--json', ...s3Flags()], { env: env() });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string; complete: boolean }[]).map((e) => `${e.id}${e.complete ? '' : ' (incomplete)'}`);
}

interface JsonResult {
  id: string;
  status: string;
  destinations: { location: string; status: string; error?: string; hint?: string; exitCode?: number }[];
}

describe('one destination fails, the others commit (exit 8)', () => {
  it('the manifest write refused at one S3 prefix: exit 8, --json statuses, listed at the others only', async () => {
    const p = places();
    const init = await runCli(['init', '--to', p.local, '--to', p.one, '--to', p.two, ...s3Flags()], { env: env() });
    expect(init.code, init.stderr).toBe(0);
    await s3.setFaults({ failPutKeys: `^${p.prefixTwo}/.*/manifest\\.json$` });
    const r = await runCli([...backupArgs([p.local, p.one, p.two]), '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(8);
    const out = JSON.parse(r.stdout) as JsonResult;
    expect(out.status).toBe('partial');
    expect(out.destinations.map((d) => [d.location, d.status])).toEqual([
      [p.local, 'committed'],
      [shown(p.one), 'committed'],
      [shown(p.two), 'failed'],
    ]);
    expect(out.destinations[2]!.error).toMatch(/writing the manifest of .* to s3:\/\/.*two-.* failed/);
    expect(out.destinations[2]!.exitCode).toBe(1);
    expect(r.stderr).toContain(`warning: backup ${out.id} was NOT committed at ${shown(p.two)}: writing the manifest`);
    await s3.setFaults({});
    expect(await listed(p.local)).toEqual([out.id]);
    expect(await listed(p.one)).toEqual([out.id]);
    // Not even an incomplete folder: the failed run removed what it had uploaded there.
    expect(await listed(p.two)).toEqual([]);
    // The same manifest bytes at both committed destinations, and it verifies at the S3 one.
    const local = readFileSync(join(p.local, out.id, 'manifest.json'));
    Object.assign(process.env, s3.env);
    const remote = await openDestination(p.one, { endpoint: proxy.endpoint, pathStyle: true, region: 'us-east-1' }).getBytes(`${out.id}/manifest.json`);
    expect(Buffer.from(remote!).equals(local)).toBe(true);
    const v = await runCli(['verify', '--from', p.one, '--backup', out.id, ...s3Flags()], { env: env() });
    expect(v.code, v.stderr).toBe(0);
  });

  it('the S3 store unreachable: exit 8, committed at the local folder; back up, the store lists nothing of that run', async () => {
    const p = places();
    expect((await runCli(['init', '--to', p.local, '--to', p.one, ...s3Flags()], { env: env() })).code).toBe(0);
    await proxy.down();
    let r;
    try {
      r = await runCli([...backupArgs([p.local, p.one]), '--json'], { env: env() });
    } finally {
      await proxy.up();
    }
    expect(r.code, r.stderr).toBe(8);
    const out = JSON.parse(r.stdout) as JsonResult;
    expect(out.destinations.map((d) => d.status)).toEqual(['committed', 'failed']);
    expect(out.destinations[1]!.error).toMatch(/ECONNREFUSED|connect|socket|network/i);
    expect(await listed(p.local)).toEqual([out.id]);
    expect(await listed(p.one)).toEqual([]);
    // Plain output: the id on stdout, a warning with the reason on stderr.
    await proxy.down();
    try {
      r = await runCli(backupArgs([p.local, p.one]), { env: env() });
    } finally {
      await proxy.up();
    }
    expect(r.code).toBe(8);
    expect(r.stdout).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}\n$/);
    expect(r.stderr).toContain(`was NOT committed at ${shown(p.one)}:`);
  });

  it('a local destination on a full disk (a 1 MB tmpfs): exit 8, committed at the other, nothing left on the full one', async (ctx) => {
    const p = places();
    const small = join(work, 'small-disk');
    mkdirSync(small, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { stdio: 'pipe' });
    } catch (err) {
      return ctx.skip(`the OS refused mount (${(err as Error).message}); the unit test covers ENOSPC`);
    }
    try {
      const full = join(small, 'repo');
      expect((await runCli(['init', '--to', p.local, '--to', full], { env: env() })).code).toBe(0);
      const r = await runCli(['backup', '--to', p.local, '--to', full, '--files', tree, '--passphrase-env', 'STRONGBOX_PASS', '--json'], { env: env() });
      expect(r.code, r.stderr).toBe(8);
      const out = JSON.parse(r.stdout) as JsonResult;
      expect(out.destinations[1]).toMatchObject({ location: full, status: 'failed' });
      expect(out.destinations[1]!.error).toMatch(/ENOSPC|no space/i);
      expect(await listed(p.local)).toEqual([out.id]);
      // Nothing of the backup is left on the full disk, and no lock.
      expect(readdirSync(full).filter((x) => x !== 'locks')).toEqual(['strongbox.json']);
      if (existsSync(join(full, 'locks'))) expect(readdirSync(join(full, 'locks'))).toEqual([]);
    } finally {
      execFileSync('umount', [small]);
    }
  });
});

describe('every destination fails', () => {
  it('both S3 prefixes unreachable: a failure naming each, nothing committed anywhere', async () => {
    const p = places();
    expect((await runCli(['init', '--to', p.one, '--to', p.two, ...s3Flags()], { env: env() })).code).toBe(0);
    await proxy.down();
    let r;
    try {
      r = await runCli(backupArgs([p.one, p.two]), { env: env() });
    } finally {
      await proxy.up();
    }
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the backup failed at every destination; nothing was committed');
    expect(r.stderr).toContain(`${shown(p.one)}: `);
    expect(r.stderr).toContain(`${shown(p.two)}: `);
    expect(await listed(p.one)).toEqual([]);
    expect(await listed(p.two)).toEqual([]);
  });

  it('all without a repository: the common exit code 4', async () => {
    const p = places();
    const r = await runCli(backupArgs([p.local, join(work, `other-${n}`)]), { env: env() });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`${p.local}: no Strongbox repository at ${p.local}`);
  });
});

describe('the backup action, one destination down', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    process.exitCode = undefined;
    vi.restoreAllMocks();
    resetCancellation();
  });

  it('status partial, exit-code 8, backup-id and destinations set, the step failed naming the destination; retention only where committed; the summary table', async () => {
    const p = places();
    expect((await runCli(['init', '--to', p.local, '--to', p.one, ...s3Flags()], { env: env() })).code).toBe(0);
    // An earlier backup at both, so retention (keep-last 1) has something to remove.
    const first = await runCli(backupArgs([p.local, p.one]), { env: env() });
    expect(first.code, first.stderr).toBe(0);
    const firstId = first.stdout.trim();

    const summary = join(work, `summary-${n}.md`);
    writeFileSync(summary, '');
    const log = captureLog();
    const out = runnerEnv(work, 'action.yml', { to: `${p.local}\n${p.one}`, files: tree, passphrase: PASS, endpoint: proxy.endpoint, 'path-style': 'true', region: 'us-east-1', 'keep-last': '1' }, { ...s3.env, GITHUB_STEP_SUMMARY: summary });
    await proxy.down();
    try {
      await runBackupAction();
    } finally {
      await proxy.up();
    }
    const o = outputs(out);
    expect(o.status).toBe('partial');
    expect(o['exit-code']).toBe('8');
    expect(o['backup-id']).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const dests = JSON.parse(o.destinations!) as JsonResult['destinations'];
    expect(dests.map((d) => [d.location, d.status])).toEqual([
      [p.local, 'committed'],
      [shown(p.one), 'failed'],
    ]);
    expect(process.exitCode).toBe(1);
    const text = log.join('');
    expect(text).toMatch(new RegExp(`::error::backup ${o['backup-id']} is committed at ${p.local} but failed at ${shown(p.one).replace(/[/.()]/g, '\\$&')} \\(`));
    // Retention ran at the local folder (the earlier backup went) and left the failed store alone.
    expect(JSON.parse(o.pruned!)).toEqual([firstId]);
    expect(await listed(p.local)).toEqual([o['backup-id']]);
    expect(await listed(p.one)).toEqual([firstId]);
    const s = readFileSync(summary, 'utf8');
    expect(s).toContain('Strongbox backup: PARTIAL');
    expect(s).toMatch(/<th>Destination<\/th><th>Status<\/th><th>Reason<\/th>/);
    expect(s).toContain(`<td><code>${p.local}</code></td><td>committed</td>`);
    expect(s).toMatch(new RegExp(`<td><code>${shown(p.one).replace(/[/.()]/g, '\\$&')}</code></td><td>failed</td><td>[^<]*(ECONNREFUSED|connect)`));
  });
});

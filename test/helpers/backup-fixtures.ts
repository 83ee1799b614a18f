import { spawn } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backup } from '../../src/core/backup.js';
import { lockKey, type LockHolder } from '../../src/core/lock.js';
import type { Reporter } from '../../src/shared/reporter.js';
import { MANIFEST_NAME, type Manifest } from '../../src/core/types.js';
import { openDestination } from '../../src/destinations/index.js';
import type { Destination } from '../../src/destinations/types.js';
import { entryArgs, type CliResult } from './cli.js';
import type { S3rverHandle } from './s3rver.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Collects what the core reports, for assertions on warnings. */
export class RecordingReporter implements Reporter {
  readonly lines: string[] = [];
  debug() {}
  info(m: string) {
    this.lines.push(`info: ${m}`);
  }
  warning(m: string) {
    this.lines.push(`warning: ${m}`);
  }
  error(m: string) {
    this.lines.push(`error: ${m}`);
  }
  setSecret() {}
}

export interface RunningCli {
  /** Resolves once stderr so far matches `re`; rejects after `timeoutMs` or when the process ends first. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
  pid: number;
}

/**
 * Starts the CLI as a child process, like runCli, but hands it back while it runs so a test can
 * watch its stderr (e.g. for "Waiting … for the lock") before it finishes.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [...entryArgs(), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of waiters) w();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      ended = true;
      for (const w of waiters) w();
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  return {
    pid: child.pid!,
    done,
    waitForStderr(re, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(stderr)) finish();
          else if (ended) finish(new Error(`process ${child.pid} (${args[0]}) ended before its stderr matched ${re}:\n${stderr}`));
        };
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${re} on the stderr of ${args[0]}:\n${stderr}`)), timeoutMs);
        const finish = (err?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** `s3://bucket/prefix` on the test s3rver, opened as the CLI opens it. */
export function s3Destination(s3: S3rverHandle, prefix: string): Destination {
  return openDestination(`s3://${s3.bucket}/${prefix}`, { endpoint: s3.endpoint, pathStyle: true, region: 'us-east-1' });
}

/**
 * Real backups of `tree` whose manifests say they started at `times` (oldest first is not
 * required): the core's `now` is faked, so retention sees a history of days or weeks.
 */
export async function seedBackups(
  dest: Destination,
  times: Date[],
  opts: { tree: string; recipient: string; labels?: string[]; reporter?: Reporter },
): Promise<string[]> {
  const ids: string[] = [];
  for (const t of times) {
    const result = await backup({
      destinations: [dest],
      sources: [{ kind: 'files', location: opts.tree }],
      encryption: { recipients: [opts.recipient] },
      compression: { algorithm: 'zstd' },
      labels: opts.labels ?? ['nightly'],
      origin: { host: 'seed' },
      reporter: opts.reporter ?? new RecordingReporter(),
      now: () => t,
      init: true,
    });
    ids.push(result.id);
  }
  return ids;
}

/** Writes a lock object exactly as `src/core/lock.ts` does, as another run would have. */
export async function plantLock(dest: Destination, over: Partial<LockHolder> & { refreshedAt: string }): Promise<string> {
  const id = over.id ?? `${over.refreshedAt.replace(/[-:]/g, '').replace('.', '')}-${Math.random().toString(16).slice(2, 10)}`;
  const holder: LockHolder = {
    host: 'ci-runner-elsewhere',
    pid: 4242,
    startedAt: over.refreshedAt,
    exclusive: true,
    operation: 'prune',
    ...over,
    id,
  };
  const key = lockKey(id);
  await dest.putBytes(key, Buffer.from(JSON.stringify(holder, null, 2) + '\n', 'utf8'));
  return key;
}

/**
 * Sets the store's modification time of an s3rver object back by `ageMs`, as if it had been
 * written that long ago (s3rver reports a file's mtime as LastModified).
 */
export function backdateS3Object(s3: S3rverHandle, prefix: string, key: string, ageMs: number): void {
  const file = join(s3.directory, s3.bucket, ...`${prefix}/${key}`.split('/').filter(Boolean)) + '._S3rver_object';
  const t = new Date(Date.now() - ageMs);
  utimesSync(file, t, t);
}

/** Every object key under the destination, sorted. */
export async function allKeys(dest: Destination, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of dest.list(prefix)) keys.push(o.key);
  return keys.sort();
}

/** Keys a complete backup must hold: its manifest and every artifact the manifest names. */
export function expectedKeys(m: Manifest): string[] {
  return [`${m.id}/${MANIFEST_NAME}`, ...m.artifacts.map((a) => `${m.id}/${a.key}`)].sort();
}

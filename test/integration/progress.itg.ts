import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { shellWord } from '../../src/shared/text.js';
import { runCli } from '../helpers/cli.js';

/**
 * Progress as a person sees it: the real CLI under a pseudo-terminal (util-linux `script`)
 * redraws one line in place; through a pipe it writes timestamped lines instead. The
 * interval is shortened with STRONGBOX_PROGRESS_INTERVAL_MS (a documented test knob) so a
 * 48 MiB tree gives several updates in well under a second of work.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../src/entries/cli.ts', import.meta.url));
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /;
const key = generateIdentity();
let work: string;
let tree: string;
let keyFile: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-progress-itg-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  // Random bytes: zstd cannot shrink them, so the work takes long enough to be watched.
  for (let i = 0; i < 6; i++) writeFileSync(join(tree, 'sub', `part-${i}.bin`), randomBytes(8 << 20));
  writeFileSync(join(tree, 'readme.txt'), 'hello\n');
  keyFile = join(work, 'key.txt');
  writeFileSync(keyFile, `${key.identity}\n`, { mode: 0o600 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the CLI with its stdin/stdout/stderr on a pseudo-terminal; returns what the terminal received. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; screen: string }> {
  const command = [process.execPath, '--import', 'tsx', ENTRY, ...args].map(shellWord).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code, screen: stdout });
    });
  });
}

/** The redraws: each starts with a carriage return and erase-line, then the line. */
const redraws = (screen: string, label: string) =>
  screen.split('\r\x1b[K').filter((s) => s.startsWith(`${label}: `)).map((s) => s.split(/[\r\n]/)[0]!);

describe('progress on a terminal', () => {
  it('backup and restore redraw one line in place with bytes, rate and (restore) share and ETA; no timestamps', async () => {
    const repo = join(work, 'tty-repo');
    const fast = { STRONGBOX_PROGRESS_INTERVAL_MS: '10' };
    const b = await onTerminal(['backup', '--files', tree, '--to', repo, '--init', '--recipient', key.recipient, '--compression', 'zstd'], fast);
    expect(b.code, b.screen).toBe(0);
    const lines = redraws(b.screen, 'backup files-tree');
    expect(lines.length, b.screen).toBeGreaterThanOrEqual(3);
    // The total comes from the stat walk, which runs beside the dump: once it has arrived every
    // line has the share (and the ETA); before, bytes and rate alone.
    const withTotal = lines.findIndex((l) => l.includes(' of ~'));
    expect(withTotal, b.screen).toBeGreaterThanOrEqual(0);
    for (const l of lines.slice(0, withTotal)) expect(l).toMatch(/^backup files-tree: [\d.]+ (B|KiB|MiB), [\d.]+ (B|KiB|MiB|GiB)\/s$/);
    for (const l of lines.slice(withTotal)) expect(l).toMatch(/^backup files-tree: [\d.]+ (B|KiB|MiB) of ~48\.0 MiB \(\d+%\), [\d.]+ (B|KiB|MiB|GiB)\/s(, ETA [\dhms]+)?$/);
    // The bytes grow from one redraw to the next.
    const mib = lines.map((l) => parseFloat(/: ([\d.]+) MiB/.exec(l)?.[1] ?? '0'));
    expect(mib[mib.length - 1]).toBeGreaterThan(mib[0]!);
    // Log lines are not timestamped on a terminal.
    expect(b.screen).toMatch(/^Backup \d{8}T\d{6}Z-[0-9a-f]{6} → /m);
    expect(b.screen).not.toMatch(/^\d{4}-\d\d-\d\dT/m);

    const r = await onTerminal(['restore', '--from', repo, '--identity-file', keyFile, '--files-target', join(work, 'tty-out')], fast);
    expect(r.code, r.screen).toBe(0);
    const restoring = redraws(r.screen, 'restore files-tree');
    expect(restoring.length, r.screen).toBeGreaterThanOrEqual(2);
    expect(restoring.some((l) => /of ~48\.\d MiB \(\d+%\), [\d.]+ \w+\/s, ETA [\dhms]+$/.test(l)), restoring.join('\n')).toBe(true);
    expect(r.screen).toMatch(/Restored 1 artifact\(s\) from \S+ in \d+\.\d s/);
  });

  it('--quiet, before or after the command: no progress and no informational lines, the result still prints', async () => {
    const repo = join(work, 'quiet-repo');
    const fast = { STRONGBOX_PROGRESS_INTERVAL_MS: '10' };
    for (const args of [['--quiet', 'backup'], ['backup', '--quiet']]) {
      const b = await onTerminal([...args, '--files', tree, '--to', repo, '--init', '--recipient', key.recipient], fast);
      expect(b.code, b.screen).toBe(0);
      expect(b.screen).not.toContain('\x1b[K');
      expect(b.screen).not.toContain('Backup ');
      expect(b.screen.trim()).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/); // the id, on stdout
    }
    const bad = await onTerminal(['verify', '--quiet', '--from', join(work, 'nowhere')]);
    expect(bad.code).not.toBe(0);
    expect(bad.screen).toMatch(/^error: /m); // errors still print
  });
});

describe('progress and timestamps without a terminal', () => {
  it('every stderr line starts with a UTC timestamp; progress is one line per interval, never a redraw', async () => {
    const repo = join(work, 'pipe-repo');
    const b = await runCli(['backup', '--files', tree, '--to', repo, '--init', '--recipient', key.recipient], { env: { STRONGBOX_PROGRESS_INTERVAL_MS: '10' } });
    expect(b.code, b.stderr).toBe(0);
    const lines = b.stderr.split('\n').filter(Boolean);
    for (const l of lines) expect(l).toMatch(STAMP);
    expect(b.stderr).not.toContain('\r');
    const progress = lines.filter((l) => / backup files-tree: /.test(l));
    expect(progress.length, b.stderr).toBeGreaterThanOrEqual(3);
    for (const l of progress) expect(l).toMatch(/^\S+Z backup files-tree: [\d.]+ \w+( of ~48\.0 MiB \(\d+%\))?, [\d.]+ \w+\/s/);
    expect(progress.some((l) => l.includes(' of ~48.0 MiB')), b.stderr).toBe(true);
    // stdout stays clean for scripts.
    expect(b.stdout).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}\n$/);
  });

  it('with the default 15 s interval, work shorter than that prints no progress line', async () => {
    const repo = join(work, 'short-repo');
    const tiny = join(work, 'tiny');
    mkdirSync(tiny, { recursive: true });
    writeFileSync(join(tiny, 'a.txt'), 'a\n');
    const b = await runCli(['backup', '--files', tiny, '--to', repo, '--init', '--recipient', key.recipient]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/ backup files-tiny: .*\/s/);
    expect(b.stderr).toMatch(/^\S+Z Backup \d{8}T/m);
  });

  it('a usage error from the command line is a timestamped line too', async () => {
    const r = await runCli(['backup', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^\S+Z error: unknown option '--no-such-flag'$/m);
  });
});

describe('durations', () => {
  it('restore, verify (one and several locations) and rollback report durationSeconds in --json and in their text', async () => {
    const repo = join(work, 'dur-repo');
    const copy = join(work, 'dur-copy');
    const small = join(work, 'small');
    mkdirSync(small, { recursive: true });
    writeFileSync(join(small, 'x.txt'), 'x\n');
    expect((await runCli(['backup', '--files', small, '--to', repo, '--to', copy, '--init', '--recipient', key.recipient])).code).toBe(0);

    const restored = await runCli(['restore', '--from', repo, '--identity-file', keyFile, '--files-target', join(work, 'dur-out'), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout).durationSeconds).toEqual(expect.any(Number));

    const v = await runCli(['verify', '--from', repo, '--json']);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).durationSeconds).toBeGreaterThanOrEqual(0);
    expect(v.stderr).toMatch(/OK: backup \S+ verified, in \d+\.\d s$/m);

    const across = await runCli(['verify', '--from', repo, '--from', copy, '--json']);
    expect(across.code, across.stderr).toBe(0);
    expect(JSON.parse(across.stdout).durationSeconds).toEqual(expect.any(Number));

    const rb = await runCli(['rollback', '--from', repo, '--backup', 'latest', '--identity-file', keyFile, '--files-target', small, '--confirm', 'small', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(JSON.parse(rb.stdout).durationSeconds).toEqual(expect.any(Number));
    expect(rb.stderr).toMatch(/Rolled back to \S+ in \d+\.\d s/);
  });
});

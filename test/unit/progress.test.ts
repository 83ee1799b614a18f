import { describe, expect, it } from 'vitest';
import { ProgressRenderer, describeProgress, formatEta, type Every } from '../../src/shared/progress.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';

/** A clock and scheduler the test moves by hand: `advance(ms)` fires every timer that falls due. */
function fakeTime(start = Date.parse('2026-12-01T20:40:00Z')) {
  let now = start;
  const timers = new Set<{ every: number; next: number; fn: () => void }>();
  const every: Every = (ms, fn) => {
    const t = { every: ms, next: now + ms, fn };
    timers.add(t);
    return () => timers.delete(t);
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      now = due.next;
      due.next += due.every;
      due.fn();
    }
    now = end;
  };
  return { every, advance, now: () => now, date: () => new Date(now), timers };
}

const MiB = 1 << 20;

describe('progress line', () => {
  it('shows bytes, the average rate and, with a total, the share and the ETA', () => {
    const line = describeProgress({ label: 'backup postgres-appdb', total: 100 * MiB, done: () => 25 * MiB }, 5000);
    // 25 MiB in 5 s: 5 MiB/s; 75 MiB left at that rate: 15 s.
    expect(line).toBe('backup postgres-appdb: 25.0 MiB of ~100.0 MiB (25%), 5.0 MiB/s, ETA 15s');
  });

  it('without a total: bytes and rate, no share and no ETA', () => {
    expect(describeProgress({ label: 'restore files-media', done: () => 3 * MiB }, 2000)).toBe('restore files-media: 3.0 MiB, 1.5 MiB/s');
  });

  it('an estimate the work has outgrown is no longer shown (no 130%, no negative ETA)', () => {
    expect(describeProgress({ label: 'backup x', total: 10 * MiB, done: () => 13 * MiB }, 1000)).toBe('backup x: 13.0 MiB, 13.0 MiB/s');
  });

  it('ETAs read at a glance', () => {
    expect([formatEta(0.2), formatEta(59), formatEta(185), formatEta(3720), formatEta(90_000)]).toEqual(['1s', '59s', '3m05s', '1h02m', '25h00m']);
  });
});

describe('ProgressRenderer without a terminal (logs)', () => {
  it('writes one line every 15 s, with the figures of that moment, and stops when the work ends', () => {
    const t = fakeTime();
    const lines: string[] = [];
    const r = new ProgressRenderer({ mode: 'log', write: (l) => lines.push(l), now: t.now, every: t.every });
    let done = 0;
    const task = r.start({ label: 'backup files-data', total: 300 * MiB, done: () => done });
    done = 10 * MiB;
    t.advance(14_999);
    expect(lines).toEqual([]);
    t.advance(1);
    done = 60 * MiB;
    t.advance(15_000);
    task.end();
    t.advance(60_000);
    expect(lines).toEqual([
      // 10 MiB in 15 s; 290 MiB left at 0.67 MiB/s: 435 s.
      'backup files-data: 10.0 MiB of ~300.0 MiB (3%), 682.7 KiB/s, ETA 7m15s',
      // 60 MiB in 30 s: 2 MiB/s; 240 MiB left: 120 s.
      'backup files-data: 60.0 MiB of ~300.0 MiB (20%), 2.0 MiB/s, ETA 2m00s',
    ]);
    expect(t.timers.size).toBe(0);
  });

  it('prints nothing for work shorter than the interval', () => {
    const t = fakeTime();
    const lines: string[] = [];
    const r = new ProgressRenderer({ mode: 'log', write: (l) => lines.push(l), now: t.now, every: t.every });
    const task = r.start({ label: 'verify sqlite-app', total: MiB, done: () => MiB });
    t.advance(14_000);
    task.end();
    task.end(); // twice is harmless
    t.advance(30_000);
    expect(lines).toEqual([]);
  });
});

describe('ProgressRenderer on a terminal', () => {
  it('redraws one line in place at each tick and erases it when the work ends', () => {
    const t = fakeTime();
    const out: string[] = [];
    const r = new ProgressRenderer({ mode: 'terminal', write: (s) => out.push(s), now: t.now, every: t.every, intervalMs: 250 });
    let done = 0;
    const task = r.start({ label: 'restore postgres-appdb', total: 4 * MiB, done: () => done });
    for (let i = 1; i <= 3; i++) {
      done = i * MiB;
      t.advance(250);
    }
    task.end();
    expect(out).toEqual([
      '\r\x1b[Krestore postgres-appdb: 1.0 MiB of ~4.0 MiB (25%), 4.0 MiB/s, ETA 1s',
      '\r\x1b[Krestore postgres-appdb: 2.0 MiB of ~4.0 MiB (50%), 4.0 MiB/s, ETA 1s',
      '\r\x1b[Krestore postgres-appdb: 3.0 MiB of ~4.0 MiB (75%), 4.0 MiB/s, ETA 1s',
      '\r\x1b[K',
    ]);
  });

  it('never wraps: a line wider than the terminal is cut to fit', () => {
    const t = fakeTime();
    const out: string[] = [];
    const r = new ProgressRenderer({ mode: 'terminal', write: (s) => out.push(s), now: t.now, every: t.every, intervalMs: 100, width: () => 20 });
    r.start({ label: 'backup a-very-long-artifact-name', done: () => 1 });
    t.advance(100);
    expect(out[0]).toBe('\r\x1b[K' + 'backup a-very-long-');
  });
});

describe('ConsoleReporter', () => {
  function reporter(opts: ConstructorParameters<typeof ConsoleReporter>[0] = {}) {
    const lines: string[] = [];
    const raw: string[] = [];
    const t = fakeTime();
    const r = new ConsoleReporter({ write: (l) => lines.push(l), writeRaw: (s) => raw.push(s), now: t.date, every: t.every, ...opts });
    return { r, lines, raw, t };
  }

  it('outside a terminal, every line (each line of a multi-line message too) starts with its UTC time', () => {
    const { r, lines, t } = reporter({ timestamps: true });
    r.info('Backup 20261201T204000Z → /srv/backups');
    t.advance(61_500);
    r.error('upload failed\n  hint: check the bucket');
    r.warning('slow');
    expect(lines).toEqual([
      '2026-12-01T20:40:00Z Backup 20261201T204000Z → /srv/backups',
      '2026-12-01T20:41:01Z error: upload failed\n2026-12-01T20:41:01Z   hint: check the bucket',
      '2026-12-01T20:41:01Z warning: slow',
    ]);
  });

  it('on a terminal, no timestamps', () => {
    const { r, lines } = reporter();
    r.info('Restoring x');
    expect(lines).toEqual(['Restoring x']);
  });

  it('in logs, the progress lines are log lines: timestamped, every 15 s', () => {
    const { r, lines, t } = reporter({ timestamps: true, progress: 'log' });
    const task = r.progress!.start({ label: 'backup files-data', done: () => 15 * MiB });
    t.advance(15_000);
    task.end();
    expect(lines).toEqual(['2026-12-01T20:40:15Z backup files-data: 15.0 MiB, 1.0 MiB/s']);
  });

  it('on a terminal, a log line first erases the progress line, which the next tick draws again', () => {
    const { r, lines, raw, t } = reporter({ progress: 'terminal', progressIntervalMs: 100 });
    const order: string[] = [];
    const task = r.progress!.start({ label: 'backup x', done: () => 1024 });
    t.advance(100);
    r.warning('a file changed while it was read');
    t.advance(100);
    task.end();
    order.push(...raw);
    expect(order).toEqual(['\r\x1b[Kbackup x: 1.0 KiB, 10.0 KiB/s', '\r\x1b[K', '\r\x1b[Kbackup x: 1.0 KiB, 5.0 KiB/s', '\r\x1b[K']);
    expect(lines).toEqual(['warning: a file changed while it was read']);
  });

  it('--quiet: no progress and no informational lines; warnings, errors and notices (hints, cancellation) still print', () => {
    const { r, lines, t } = reporter({ progress: 'log', quiet: true });
    expect(r.progress).toBeUndefined();
    r.info('Backup complete');
    r.warning('w');
    r.error('e');
    r.notice('hint: h');
    t.advance(60_000);
    expect(lines).toEqual(['warning: w', 'error: e', 'hint: h']);
  });

  it('masks secrets in progress lines too', () => {
    const { r, raw, t } = reporter({ progress: 'terminal', progressIntervalMs: 100 });
    r.setSecret('hunter22');
    r.progress!.start({ label: 'backup hunter22', done: () => 0 });
    t.advance(100);
    expect(raw.join('')).not.toContain('hunter22');
    expect(raw.join('')).toContain('backup ***');
  });
});

describe('the CLI', () => {
  async function run(argv: string[], terminal: boolean): Promise<{ code: number; stderr: string }> {
    const { main } = await import('../../src/cli/main.js');
    const { vi } = await import('vitest');
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    try {
      const code = await main(argv, {}, { terminal, now: () => new Date('2026-12-01T20:40:00.123Z') });
      return { code, stderr };
    } finally {
      spy.mockRestore();
    }
  }

  it('outside a terminal stamps every line (the hint too) with the injected clock; on a terminal none', async () => {
    const piped = await run(['list', '--from', '/nonexistent/strongbox-repo'], false);
    expect(piped.code).toBe(4);
    const lines = piped.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^2026-12-01T20:40:00Z (error|hint): /);
    const tty = await run(['list', '--from', '/nonexistent/strongbox-repo'], true);
    expect(tty.stderr).toMatch(/^error: /);
  });

  it('commander\'s usage errors are stamped too, and --quiet keeps the error', async () => {
    const r = await run(['--quiet', 'list', '--bogus'], false);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^2026-12-01T20:40:00Z error: unknown option '--bogus'$/m);
  });
});

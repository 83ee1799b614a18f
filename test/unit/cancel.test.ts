import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAction } from '../../src/actions/run.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { backup } from '../../src/core/backup.js';
import { prune } from '../../src/core/prune.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { listBackups } from '../../src/core/repository.js';
import { CancelledError, beginActivity, cancel, cancelSignal, cancellationLine, resetCancellation } from '../../src/shared/cancel.js';
import type { Destination } from '../../src/destinations/types.js';
import { handleCancelSignals } from '../../src/shared/signals.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

let work: string;
let tree: string;
const key = generateIdentity();
const saved = { ...process.env };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-cancel-unit-'));
  tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  resetCancellation();
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

async function seed(dest: Destination, days: number[]): Promise<void> {
  for (const d of days) {
    await backup({
      destinations: [dest],
      sources: [{ kind: 'files', location: tree }],
      encryption: { recipients: [key.recipient] },
      compression: { algorithm: 'gzip' },
      labels: [],
      origin: { host: 'test' },
      reporter: silentReporter,
      now: () => new Date(Date.UTC(2026, 5, d, 2)),
      init: true,
    } as Parameters<typeof backup>[0]);
  }
}

describe('cancellation', () => {
  it('prune stops between two backups: each is removed whole or not at all, and the line says how many went', async () => {
    const mem = new MemoryDestination();
    await seed(mem, [1, 2, 3, 4]);
    // Cancelled while the first doomed backup is being deleted (after its manifest went).
    const del = mem.delete.bind(mem);
    let deletes = 0;
    vi.spyOn(mem, 'delete').mockImplementation(async (k: string) => {
      await del(k);
      if (/^\d{8}T/.test(k) && ++deletes === 1) cancel('SIGTERM');
    });
    const err = await prune({ destination: mem, policy: { keepLast: 1 }, dryRun: false, reporter: silentReporter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    const left = await listBackups(mem, silentReporter);
    // One backup went (whole), two more were due but are untouched and still complete.
    expect(left.map((e) => e.complete)).toEqual([true, true, true]);
    expect(left.every((e) => e.objects.length === 2)).toBe(true);
    expect(cancellationLine('prune')).toBe('cancelled by SIGTERM: prune of memory://test stopped, 1 backup(s) had been removed as the policy says; the others are untouched');
    expect([...mem.objects.keys()].filter((k) => k.startsWith('locks/'))).toEqual([]);
  });

  it('the action runner turns SIGTERM into one failure line, exit-code 143 and the process exit code', async () => {
    const out = join(work, 'out');
    writeFileSync(out, '');
    process.env.GITHUB_OUTPUT = out;
    const log: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (log.push(String(s)), true));
    await runAction(async () => {
      // A body that runs until cancelled, failing as a torn-down pipeline does.
      const stopped = new Promise((_, reject) => cancelSignal().addEventListener('abort', () => reject(new Error('premature close'))));
      process.kill(process.pid, 'SIGTERM');
      await stopped;
    }, { what: 'the backup action' });
    expect(process.exitCode).toBe(143);
    expect(readFileSync(out, 'utf8')).toMatch(/exit-code<<ghadelimiter_[\w-]+\n143\n/);
    const errors = log.join('').split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toEqual(['::error::cancelled by SIGTERM: the backup action stopped, nothing was committed']);
    expect(process.listenerCount('SIGTERM')).toBe(0); // the handler is gone with the run
  });

  it('the action runner writes the failure detail after a cancellation too, but stops waiting for it before the forced exit', async () => {
    vi.useFakeTimers();
    const log: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (log.push(String(s)), true));
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const detail: string[] = [];
    try {
      const done = runAction(
        async () => {
          const stopped = new Promise((_, reject) => cancelSignal().addEventListener('abort', () => reject(new Error('premature close'))));
          process.emit('SIGINT');
          await stopped;
        },
        {
          what: 'the verify step',
          onFailure: (err, code, budgetMs) => {
            detail.push(`${code} ${budgetMs} ${(err as Error).message}`);
            return new Promise(() => {}); // a summary write that hangs
          },
        },
      );
      await vi.advanceTimersByTimeAsync(6_500);
      await done;
      expect(detail).toEqual(['130 6500 cancelled by SIGINT: the verify step stopped, nothing was committed']);
      expect(log.join('')).toContain('::warning::could not write the failure summary: it took longer than the 6.5 s left before the job is killed');
      expect(exit).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('nested activities: the line takes the outermost name and the innermost truth, on one line', () => {
    const outer = beginActivity('rollback of app to B1', 'the targets were left unchanged');
    outer.nested = (inner) => `${inner}; the safety backup S1 was kept`;
    const inner = beginActivity('restore of B1', 'the targets were left unchanged');
    inner.outcome = 'postgres-app → app had been restored; files-uploads → /srv/uploads\n::error::x was left unchanged';
    cancel('SIGINT');
    inner.end();
    outer.end();
    expect(cancellationLine('rollback')).toBe(
      'cancelled by SIGINT: rollback of app to B1 stopped, postgres-app → app had been restored; files-uploads → /srv/uploads\\n::error::x was left unchanged; the safety backup S1 was kept',
    );
  });

  it('a cleanup that takes longer than the grace period exits at once with the signal\'s code, saying so', async () => {
    const printed: string[] = [];
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const uninstall = handleCancelSignals({ what: 'verify', print: (l) => printed.push(l), graceMs: 50 });
    try {
      process.kill(process.pid, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 20));
      expect(cancelSignal().aborted).toBe(true);
      expect(exit).not.toHaveBeenCalled();
      await new Promise((r) => setTimeout(r, 100));
      expect(exit).toHaveBeenCalledWith(129);
      expect(printed).toEqual(['cancelled by SIGHUP: verify stopped, nothing was committed (the cleanup took longer than 0.05 s)']);
    } finally {
      uninstall();
    }
  });
});

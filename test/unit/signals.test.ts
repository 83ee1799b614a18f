import { afterEach, describe, expect, it, vi } from 'vitest';
import { acquireLock } from '../../src/core/lock.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { resetCancellation } from '../../src/shared/cancel.js';
import { ACTIONS_GRACE_MS, handleCancelSignals } from '../../src/shared/signals.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * The edges' signal handling with fake timers: what a user (or the Actions runner) sending
 * signals sees, and that the lock this process holds is gone before any forced exit.
 */
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  resetCancellation();
});

async function holdLock(dest: MemoryDestination) {
  return acquireLock(dest, { exclusive: false, operation: 'backup', reporter: silentReporter, sleep: async () => {}, settleMs: 0 });
}
const locks = (dest: MemoryDestination) => [...dest.objects.keys()].filter((k) => k.startsWith('locks/'));

function setup(opts: { escalation?: boolean; graceMs?: number }) {
  vi.useFakeTimers();
  const printed: string[] = [];
  const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  const uninstall = handleCancelSignals({ what: 'backup', print: (l) => printed.push(l), ...opts });
  return { printed, exit, uninstall };
}

describe('signals at the edges', () => {
  it('in Actions, the runner\'s SIGTERM 7.5 s after SIGINT does not cut the cleanup short; the forced exit deletes the lock before the SIGKILL at 10 s', async () => {
    const dest = new MemoryDestination();
    await holdLock(dest); // a run whose teardown never gets to release it
    const { printed, exit, uninstall } = setup({ escalation: true, graceMs: ACTIONS_GRACE_MS });
    try {
      process.emit('SIGINT');
      await vi.advanceTimersByTimeAsync(7_500);
      process.emit('SIGTERM');
      await vi.advanceTimersByTimeAsync(1);
      expect(exit).not.toHaveBeenCalled();
      expect(printed).toEqual([]);
      await vi.advanceTimersByTimeAsync(ACTIONS_GRACE_MS - 7_500); // 8 s after the SIGINT
      expect(exit).toHaveBeenCalledWith(130);
      expect(locks(dest)).toEqual([]);
      expect(printed).toEqual(['cancelled by SIGINT: backup stopped, nothing was committed (the cleanup took longer than 8 s)']);
    } finally {
      uninstall();
    }
  });

  it('at a terminal, a second Ctrl-C exits at once, after deleting the lock this process holds', async () => {
    const dest = new MemoryDestination();
    await holdLock(dest);
    const { printed, exit, uninstall } = setup({});
    try {
      process.emit('SIGINT');
      await vi.advanceTimersByTimeAsync(100);
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGINT');
      await vi.advanceTimersByTimeAsync(0);
      expect(exit).toHaveBeenCalledWith(130);
      expect(locks(dest)).toEqual([]);
      expect(printed).toEqual(['cancelled by SIGINT: backup stopped, nothing was committed (second signal SIGINT: exited without finishing the cleanup)']);
    } finally {
      uninstall();
    }
  });

  it('a lock written but still settling (not yet held) is deleted before a forced exit too', async () => {
    const dest = new MemoryDestination();
    void acquireLock(dest, { exclusive: true, operation: 'prune', reporter: silentReporter, sleep: () => new Promise(() => {}) }).catch(() => {});
    await vi.waitFor(() => expect(locks(dest)).toHaveLength(1));
    const { exit, uninstall } = setup({});
    try {
      process.emit('SIGINT');
      process.emit('SIGINT');
      await vi.advanceTimersByTimeAsync(0);
      expect(exit).toHaveBeenCalledWith(130);
      expect(locks(dest)).toEqual([]);
    } finally {
      uninstall();
    }
  });

  it('a lock delete that hangs holds the forced exit back by at most 1.5 s', async () => {
    const dest = new MemoryDestination();
    await holdLock(dest);
    vi.spyOn(dest, 'delete').mockImplementation(() => new Promise(() => {}));
    const { exit, uninstall } = setup({});
    try {
      process.emit('SIGTERM');
      process.emit('SIGTERM');
      await vi.advanceTimersByTimeAsync(1_499);
      expect(exit).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(exit).toHaveBeenCalledWith(143);
    } finally {
      uninstall();
    }
  });

  it('in Actions too, a signal after the runner\'s SIGTERM exits at once', async () => {
    const { exit, uninstall } = setup({ escalation: true, graceMs: ACTIONS_GRACE_MS });
    try {
      process.emit('SIGINT');
      process.emit('SIGTERM');
      await vi.advanceTimersByTimeAsync(0);
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGINT');
      await vi.advanceTimersByTimeAsync(0);
      expect(exit).toHaveBeenCalledWith(130);
    } finally {
      uninstall();
    }
  });
});

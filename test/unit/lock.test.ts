import { describe, expect, it } from 'vitest';
import { ExitCode, LockedError } from '../../src/shared/errors.js';
import { acquireLock, lockKey, type LockHolder, type LockOptions } from '../../src/core/lock.js';
import type { Reporter } from '../../src/shared/reporter.js';
import type { OwnerProbe } from '../../src/shared/process-owner.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

const MIN = 60_000;

class RecordingReporter implements Reporter {
  readonly lines: string[] = [];
  debug(m: string) {
    this.lines.push(`debug: ${m}`);
  }
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

/** A fake clock shared by the destination and the lock code; sleeping only moves it forward. */
function setup() {
  let t = Date.parse('2026-06-10T12:00:00Z');
  const clock = {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
  };
  const dest = new MemoryDestination(clock.now);
  const reporter = new RecordingReporter();
  const base = (over: Partial<LockOptions> & Pick<LockOptions, 'exclusive' | 'operation'>): LockOptions => ({
    now: clock.now,
    sleep: async (ms) => clock.advance(ms),
    reporter,
    ...over,
  });
  const lockKeys = () => [...dest.objects.keys()].filter((k) => k.startsWith('locks/'));
  return { clock, dest, reporter, base, lockKeys };
}

/** This machine as the lock code sees it. */
function probe(over: { host?: string; bootId?: string; pidNamespace?: string; isAlive?: (pid: number) => boolean; startTime?: (pid: number) => string | undefined }): OwnerProbe {
  return {
    host: () => over.host ?? 'box-1',
    bootId: () => over.bootId,
    pidNamespace: () => over.pidNamespace,
    isAlive: over.isAlive ?? (() => true),
    startTime: over.startTime ?? (() => undefined),
  };
}

/** Writes a lock object as another run would have, at the destination's current time. */
async function plantLock(dest: MemoryDestination, over: Partial<LockHolder> & { id: string; refreshedAt: string }): Promise<string> {
  const holder: LockHolder = { host: 'runner-7', pid: 4242, runId: '987654', startedAt: over.refreshedAt, exclusive: true, operation: 'prune', ...over };
  await dest.putBytes(lockKey(holder.id), Buffer.from(JSON.stringify(holder)));
  return lockKey(holder.id);
}

async function lockedError(p: Promise<unknown>): Promise<LockedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LockedError);
  return err as LockedError;
}

describe('acquireLock', () => {
  it('lets shared locks coexist and removes each on release', async () => {
    const { dest, base, lockKeys } = setup();
    const a = await acquireLock(dest, base({ exclusive: false, operation: 'backup' }));
    const b = await acquireLock(dest, base({ exclusive: false, operation: 'verify' }));
    expect(lockKeys().sort()).toEqual([a.key, b.key].sort());
    const stored = JSON.parse(Buffer.from((await dest.getBytes(a.key))!).toString()) as LockHolder;
    expect(stored).toMatchObject({ operation: 'backup', exclusive: false, pid: process.pid, id: a.holder.id });
    await a.release();
    await a.release(); // twice is harmless
    await b.release();
    expect(lockKeys()).toEqual([]);
  });

  it('an exclusive lock blocks a shared one, and the error says who holds it and how to wait', async () => {
    const { dest, base, lockKeys, clock } = setup();
    const prune = await acquireLock(dest, base({ exclusive: true, operation: 'prune', runId: '1234567' }));
    clock.advance(12 * MIN);
    const err = await lockedError(acquireLock(dest, base({ exclusive: false, operation: 'backup' })));
    expect(err.exitCode).toBe(ExitCode.locked);
    expect(err.message).toContain('memory://test is locked, so this backup cannot take its shared lock');
    expect(err.message).toContain(`prune (exclusive) on host ${prune.holder.host}, pid ${process.pid}, run 1234567`);
    expect(err.message).toContain(`since ${prune.holder.startedAt} (12m ago)`);
    expect(err.hint).toContain('--lock-wait');
    expect(err.hint).toContain(prune.key);
    // The refused run leaves nothing behind.
    expect(lockKeys()).toEqual([prune.key]);
    await prune.release();
    await (await acquireLock(dest, base({ exclusive: false, operation: 'backup' }))).release();
  });

  it('a shared lock blocks an exclusive one', async () => {
    const { dest, base, lockKeys } = setup();
    const backup = await acquireLock(dest, base({ exclusive: false, operation: 'backup' }));
    const err = await lockedError(acquireLock(dest, base({ exclusive: true, operation: 'prune' })));
    expect(err.message).toMatch(/this prune cannot take its exclusive lock: backup \(shared\) on host/);
    expect(lockKeys()).toEqual([backup.key]);
  });

  it('an exclusive lock blocks another exclusive one', async () => {
    const { dest, base } = setup();
    await acquireLock(dest, base({ exclusive: true, operation: 'prune' }));
    await lockedError(acquireLock(dest, base({ exclusive: true, operation: 'prune' })));
  });

  it('breaks a stale lock left by a killed run, with a warning naming it and its age', async () => {
    const { dest, base, reporter, clock } = setup();
    const planted = await plantLock(dest, { id: '20260610T115900000Z-dead0001', refreshedAt: clock.now().toISOString() });
    clock.advance(31 * MIN);
    const held = await acquireLock(dest, base({ exclusive: true, operation: 'prune' }));
    expect(await dest.stat(planted)).toBeUndefined();
    const warning = reporter.lines.find((l) => l.startsWith('warning: Removing a stale lock'));
    expect(warning).toContain('prune (exclusive) on host runner-7, pid 4242, run 987654');
    expect(warning).toContain('not been refreshed for 31m (stale after 30m)');
    await held.release();
  });

  it('breaks at once a fresh lock whose holder process on this machine (host, boot id, pid namespace) has exited', async () => {
    const { dest, base, reporter } = setup();
    const here = { host: 'box-1', bootId: 'boot-a', pidNamespace: 'pid:[4026531836]' };
    const planted = await plantLock(dest, { id: '20260610T115900000Z-dead0002', refreshedAt: '2026-06-10T12:00:00.000Z', pid: 4242, startTime: '777', ...here });
    const asked: number[] = [];
    const held = await acquireLock(dest, base({ exclusive: true, operation: 'prune', probe: probe({ ...here, isAlive: (pid) => (asked.push(pid), false) }) }));
    expect(asked).toEqual([4242]);
    expect(await dest.stat(planted)).toBeUndefined();
    expect(reporter.lines.find((l) => l.startsWith('warning: Removing the lock of a run that is no longer running'))).toContain('prune (exclusive) on host box-1, pid 4242');
    await held.release();
  });

  it('breaks at once a fresh lock whose pid now belongs to a process started at another time (pid reuse)', async () => {
    const { dest, base } = setup();
    const here = { host: 'box-1', bootId: 'boot-a', pidNamespace: 'pid:[4026531836]' };
    const planted = await plantLock(dest, { id: '20260610T115900000Z-dead0003', refreshedAt: '2026-06-10T12:00:00.000Z', pid: 4242, startTime: '777', ...here });
    const held = await acquireLock(dest, base({ exclusive: true, operation: 'prune', probe: probe({ ...here, isAlive: () => true, startTime: () => '999' }) }));
    expect(await dest.stat(planted)).toBeUndefined();
    await held.release();
  });

  it('keeps a fresh lock whose holder is alive, or on another machine sharing the host name (other boot id), or in another pid namespace, or of an older version (no boot id)', async () => {
    const here = { host: 'box-1', bootId: 'boot-a', pidNamespace: 'pid:[1]' };
    for (const [over, alive] of [
      [{ ...here }, true],
      [{ ...here, host: 'box-2' }, false],
      [{ ...here, bootId: 'boot-b' }, false], // a cloned VM or a container with --hostname box-1 on another machine
      [{ ...here, pidNamespace: 'pid:[2]' }, false],
      [{ host: 'box-1', pidNamespace: 'pid:[1]' }, false],
      [{ host: 'box-1', bootId: 'boot-a' }, false],
    ] as const) {
      const { dest, base } = setup();
      const planted = await plantLock(dest, { id: '20260610T115900000Z-a11ve002', refreshedAt: '2026-06-10T12:00:00.000Z', pid: 4242, startTime: '777', ...over });
      await lockedError(acquireLock(dest, base({ exclusive: true, operation: 'prune', probe: probe({ ...here, isAlive: () => alive, startTime: () => '777' }) })));
      expect(await dest.stat(planted)).toBeDefined();
    }
  });

  it('records host, pid, boot id, pid namespace and start time in its own lock', async () => {
    const { dest, base } = setup();
    const held = await acquireLock(dest, base({ exclusive: false, operation: 'backup', probe: probe({ host: 'box-9', bootId: 'boot-z', pidNamespace: 'pid:[9]', startTime: () => '4321' }) }));
    const body = JSON.parse(Buffer.from((await dest.getBytes(held.key))!).toString('utf8')) as LockHolder;
    expect(body).toMatchObject({ host: 'box-9', pid: process.pid, bootId: 'boot-z', pidNamespace: 'pid:[9]', startTime: '4321' });
    await held.release();
  });

  it('never breaks a fresh lock', async () => {
    const { dest, base, clock, reporter } = setup();
    const planted = await plantLock(dest, { id: '20260610T115900000Z-a11ve001', refreshedAt: clock.now().toISOString() });
    clock.advance(29 * MIN);
    const err = await lockedError(acquireLock(dest, base({ exclusive: false, operation: 'backup' })));
    expect(err.message).toContain('last refreshed 29m ago');
    expect(await dest.stat(planted)).toBeDefined();
    expect(reporter.lines.filter((l) => l.startsWith('warning'))).toEqual([]);
  });

  it('trusts the store time when the holder clock runs behind', async () => {
    const { dest, base, clock } = setup();
    // The holder's clock says 40 minutes ago, but the store received the write just now.
    await plantLock(dest, { id: '20260610T112000000Z-5kew0001', refreshedAt: new Date(clock.now().getTime() - 40 * MIN).toISOString() });
    await lockedError(acquireLock(dest, base({ exclusive: true, operation: 'prune' })));
  });

  it('treats an unreadable lock object as exclusive until it goes stale', async () => {
    const { dest, base, clock } = setup();
    await dest.putBytes('locks/garbage.json', Buffer.from('{not json'));
    const err = await lockedError(acquireLock(dest, base({ exclusive: false, operation: 'backup' })));
    expect(err.message).toContain('unreadable lock locks/garbage.json');
    clock.advance(31 * MIN);
    await (await acquireLock(dest, base({ exclusive: false, operation: 'backup' }))).release();
    expect(await dest.stat('locks/garbage.json')).toBeUndefined();
  });

  it('waits for the holder to release when asked to, and says so', async () => {
    const { dest, base, reporter, clock } = setup();
    const prune = await acquireLock(dest, base({ exclusive: true, operation: 'prune' }));
    const start = clock.now().getTime();
    const sleeps: number[] = [];
    const backup = await acquireLock(
      dest,
      base({
        exclusive: false,
        operation: 'backup',
        waitMs: 10 * MIN,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock.advance(ms);
          if (clock.now().getTime() - start > 2 * MIN) await prune.release();
        },
      }),
    );
    expect(clock.now().getTime() - start).toBeGreaterThan(2 * MIN);
    expect(clock.now().getTime() - start).toBeLessThan(3 * MIN);
    expect(reporter.lines.some((l) => l.startsWith('info: Waiting up to 10m for the lock on memory://test: prune (exclusive)'))).toBe(true);
    // Polling backs off instead of hammering the store.
    expect(sleeps.filter((ms) => ms > 1000).length).toBeLessThan(15);
    await backup.release();
  });

  it('gives up when the wait runs out, saying how long it waited', async () => {
    const { dest, base, clock } = setup();
    await acquireLock(dest, base({ exclusive: true, operation: 'prune' }));
    const start = clock.now().getTime();
    const err = await lockedError(acquireLock(dest, base({ exclusive: false, operation: 'backup', waitMs: 2 * MIN })));
    expect(err.message).toContain('is locked (waited 2m)');
    expect(clock.now().getTime() - start).toBe(2 * MIN);
  });

  it('refreshing keeps a long-held lock from going stale', async () => {
    const { dest, base, clock } = setup();
    const prune = await acquireLock(dest, base({ exclusive: true, operation: 'prune' }));
    clock.advance(25 * MIN);
    const refreshedAt = clock.now().toISOString();
    await prune.refresh();
    clock.advance(25 * MIN);
    // 50 minutes after it was taken, refreshed 25 minutes ago: still held.
    await lockedError(acquireLock(dest, base({ exclusive: false, operation: 'backup' })));
    const stored = JSON.parse(Buffer.from((await dest.getBytes(prune.key))!).toString()) as LockHolder;
    expect(stored.refreshedAt).toBe(refreshedAt);
    expect(stored.startedAt).toBe(prune.holder.startedAt);
    expect(prune.signal.aborted).toBe(false);
  });

  it('the timer refreshes the lock while it is held and stops at release (real clock)', async () => {
    const dest = new MemoryDestination();
    const held = await acquireLock(dest, { exclusive: true, operation: 'prune', staleMs: 600, refreshMs: 40, settleMs: 1, reporter: new RecordingReporter() });
    const first = held.holder.refreshedAt;
    await new Promise((r) => setTimeout(r, 150));
    const stored = JSON.parse(Buffer.from((await dest.getBytes(held.key))!).toString()) as LockHolder;
    expect(Date.parse(stored.refreshedAt)).toBeGreaterThan(Date.parse(first));
    await held.release();
    await new Promise((r) => setTimeout(r, 100));
    // A refresh after release would have written the lock back.
    expect(dest.objects.size).toBe(0);
  });

  it('a lock broken by another run is reported lost, not silently recreated', async () => {
    const { dest, base, reporter } = setup();
    const held = await acquireLock(dest, base({ exclusive: true, operation: 'prune' }));
    await dest.delete(held.key);
    await held.refresh();
    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toBeInstanceOf(LockedError);
    expect(await dest.stat(held.key)).toBeUndefined();
    expect(reporter.lines.some((l) => l.startsWith(`error: the lock memory://test/${held.key} held by this prune was removed by another run`))).toBe(true);
  });

  it('refuses a refresh interval that would let the lock go stale', async () => {
    const { dest, base } = setup();
    await expect(acquireLock(dest, base({ exclusive: true, operation: 'prune', staleMs: MIN, refreshMs: 2 * MIN }))).rejects.toThrow(/refresh interval \(2m\).*stale timeout \(1m\)/);
  });
});

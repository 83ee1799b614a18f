import { randomBytes } from 'node:crypto';
import { objectName } from '../destinations/types.js';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { cancelSignal, onForcedExit } from '../shared/cancel.js';
import { currentOwner, ownerIsGone, systemProbe, type OwnerProbe, type ProcessOwner } from '../shared/process-owner.js';
import { formatDuration } from './duration.js';
import { LockedError, StrongboxError, UsageError, errorMessage } from '../shared/errors.js';
import type { Reporter } from '../shared/reporter.js';
import type { Destination } from '../destinations/types.js';

/**
 * Runs on the same destination coordinate through lock objects `locks/<id>.json`, as restic
 * does: prune takes the lock exclusively; backup, verify and restore take it shared.
 *
 * Acquiring:
 * 1. List the locks. Locks not refreshed for `staleMs` belong to killed runs: they are deleted
 *    with a warning. A conflicting fresh lock (exclusive vs anything, or anything vs our
 *    exclusive) means: wait (`waitMs`, i.e. `--lock-wait`) or fail with LockedError.
 * 2. Write our own lock (conditional write where the destination offers one).
 * 3. After `settleMs`, list again. Two runs that both passed step 1 now see each other: at most
 *    one listing can miss the other's lock, because each run lists only after its own write.
 *    - No conflicting lock: we hold it.
 *    - A conflicting lock with a lower id (normally: older): remove ours and back off.
 *    - Only conflicting locks with higher ids: those runs back off when they see ours, so wait
 *      a few settle periods for them to go; if they stay (they won, e.g. their clock is
 *      behind ours), remove ours and back off.
 *    Nobody ever holds a lock while a conflicting one showed in its last listing, so two
 *    conflicting holders never overlap; the id order only decides who retries.
 * While held, the lock is rewritten every `refreshMs` by an unref'd timer; release deletes it.
 *
 * Staleness compares the newer of the holder's own refreshedAt and the store's lastModified
 * with our clock, so it needs clocks agreeing to well within `staleMs` (default 30 min).
 */
export interface LockHolder {
  host: string;
  pid: number;
  /** GitHub run id, when running in Actions. */
  runId?: string;
  startedAt: string;
  refreshedAt: string;
  exclusive: boolean;
  id: string;
  /** What the holder is doing: backup, verify, restore, prune, rollback. */
  operation: string;
  /** The holder's pid namespace (Linux), so containers sharing a host name are told apart. */
  pidNamespace?: string;
  /** The holder's kernel boot id (Linux), so machines sharing a host name are told apart. */
  bootId?: string;
  /** The holder process's start time (Linux), so a reused pid is not taken for the holder. */
  startTime?: string;
}

export interface LockOptions {
  exclusive: boolean;
  operation: string;
  /** How long to wait for a conflicting lock to go away. Default 0: fail at once. */
  waitMs?: number;
  /** A lock not refreshed for this long is considered abandoned. Default 30 min. */
  staleMs?: number;
  /** Default staleMs / 3. */
  refreshMs?: number;
  /** Pause between writing our lock and checking for racers. Default 200 ms. */
  settleMs?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  runId?: string;
  reporter: Reporter;
  /** Reads this machine's host name, boot id, pid namespace and processes; tests inject it. */
  probe?: OwnerProbe;
  /**
   * Called once our lock object is written after a listing showed no conflict, i.e. when only
   * the settle check is left: a backup starts reading its sources then, and writes nothing
   * until the lock is held (DestinationRun.ready).
   */
  onWritten?: () => void;
}

export interface HeldLock {
  holder: LockHolder;
  /** The lock object's key at the destination. */
  key: string;
  /**
   * Aborted (with a LockedError as reason) if the lock is lost while held: removed by another
   * run as stale, or not refreshed for longer than staleMs. Long operations check it before
   * destructive steps.
   */
  signal: AbortSignal;
  /** Rewrites the lock with a new refreshedAt; the timer calls this, tests may too. */
  refresh(): Promise<void>;
  /** Deletes the lock. Safe to call more than once. */
  release(): Promise<void>;
}

export const LOCK_PREFIX = 'locks/';
export const DEFAULT_STALE_MS = 30 * 60_000;
const DEFAULT_SETTLE_MS = 200;
/** Settle periods a lower-id run waits for racing higher-id runs to back off. */
const SETTLE_ROUNDS = 5;
const FIRST_POLL_MS = 1_000;
const MAX_POLL_MS = 30_000;

interface SeenLock {
  key: string;
  id: string;
  /** Undefined when the object could not be parsed; treated as an exclusive lock. */
  holder?: LockHolder;
  /** Newest sign of life: refreshedAt or the store's lastModified, whichever is later. */
  aliveAt?: number;
}

export function lockKey(id: string): string {
  return `${LOCK_PREFIX}${id}.json`;
}

export async function acquireLock(dest: Destination, opts: LockOptions): Promise<HeldLock> {
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const refreshMs = opts.refreshMs ?? Math.floor(staleMs / 3);
  const waitMs = opts.waitMs ?? 0;
  const settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
  if (!(staleMs > 0)) throw new UsageError(`lock stale timeout must be positive, got ${staleMs}`);
  if (!(refreshMs > 0 && refreshMs < staleMs)) {
    throw new UsageError(`lock refresh interval (${formatDuration(refreshMs)}) must be positive and shorter than the stale timeout (${formatDuration(staleMs)})`);
  }
  if (!(waitMs >= 0)) throw new UsageError(`--lock-wait must not be negative, got ${waitMs}`);
  if (!opts.operation) throw new UsageError('a lock needs the name of the operation taking it');
  const ctx: Ctx = {
    dest,
    opts,
    staleMs,
    refreshMs,
    settleMs,
    now: opts.now ?? (() => new Date()),
    // A cancellation ends a wait for the lock at once.
    sleep: opts.sleep ?? ((ms) => sleepFor(ms, undefined, { signal: cancelSignal() })),
    probe: opts.probe ?? systemProbe,
    owner: currentOwner(opts.probe ?? systemProbe),
  };

  const deadline = ctx.now().getTime() + waitMs;
  let pause = FIRST_POLL_MS;
  let announced = false;
  for (;;) {
    const attempt = await tryOnce(ctx);
    if ('held' in attempt) return attempt.held;
    const left = deadline - ctx.now().getTime();
    if (left <= 0) throw lockedError(ctx, attempt.blocker, waitMs);
    if (!announced) {
      opts.reporter.info(`Waiting up to ${formatDuration(waitMs)} for the lock on ${dest.display}: ${describeHolder(ctx, attempt.blocker)}`);
      announced = true;
    }
    // Jitter keeps runs that back off together from retrying in lockstep.
    await ctx.sleep(Math.min(left, Math.round(pause * (0.5 + Math.random()))));
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}

interface Ctx {
  dest: Destination;
  opts: LockOptions;
  staleMs: number;
  refreshMs: number;
  settleMs: number;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  probe: OwnerProbe;
  owner: ProcessOwner;
}

/**
 * A holder on this machine (host, boot id and pid namespace all ours) whose process is gone
 * was killed (kill -9, a crash, a forced exit): its lock is stale at once. Another machine's
 * (or container's) process cannot be checked from here and waits for the stale timeout.
 */
function holderIsGone(ctx: Ctx, h: LockHolder | undefined): boolean {
  return !!h && ownerIsGone(h, ctx.probe);
}

async function tryOnce(ctx: Ctx): Promise<{ held: HeldLock } | { blocker: SeenLock }> {
  const { dest, opts } = ctx;
  const before = conflicts(ctx, await freshLocks(ctx), undefined);
  if (before.length) return { blocker: before[0]! };

  const started = ctx.now().toISOString();
  const holder: LockHolder = {
    ...ctx.owner,
    ...(opts.runId ? { runId: opts.runId } : {}),
    startedAt: started,
    refreshedAt: started,
    exclusive: opts.exclusive,
    id: newLockId(ctx.now()),
    operation: opts.operation,
  };
  const key = lockKey(holder.id);
  const body = encode(holder);
  if (dest.putBytesIfAbsent) {
    if (!(await dest.putBytesIfAbsent(key, body))) throw new StrongboxError(`lock ${objectName(dest, key)} already exists; lock ids are random, so this should not happen — retry`);
  } else {
    await dest.putBytes(key, body);
  }

  let blocker: SeenLock | undefined;
  // Written but not yet held (settling): a forced exit now must delete it too.
  const unregister = onForcedExit(() => dest.delete(key));
  opts.onWritten?.();
  try {
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      await ctx.sleep(ctx.settleMs);
      const all = await freshLocks(ctx);
      if (!all.some((l) => l.key === key)) {
        throw new LockedError(
          `the lock ${objectName(dest, key)} this run just wrote has disappeared`,
          'another run removed it, which happens only when clocks disagree by more than the stale timeout; check the clocks and retry',
        );
      }
      const against = conflicts(ctx, all, holder);
      if (against.length === 0) {
        const held = hold(ctx, holder, key); // registers its own delete
        unregister();
        return { held };
      }
      blocker = against[0]!;
      if (blocker.id < holder.id) break;
    }
  } catch (err) {
    // Leaving our lock behind would block every other run until it goes stale.
    await dest.delete(key).catch(() => undefined);
    unregister();
    throw err;
  }
  try {
    await dest.delete(key);
  } finally {
    unregister();
  }
  return { blocker: blocker! };
}

/** Locks that conflict with `mine` (or with the lock we are about to take), oldest id first. */
function conflicts(ctx: Ctx, locks: SeenLock[], mine: LockHolder | undefined): SeenLock[] {
  const exclusive = ctx.opts.exclusive;
  return locks
    .filter((l) => l.id !== mine?.id && (exclusive || !l.holder || l.holder.exclusive))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Reads every lock; deletes the stale ones with a warning and returns the rest. */
async function freshLocks(ctx: Ctx): Promise<SeenLock[]> {
  const { dest, opts } = ctx;
  const seen: SeenLock[] = [];
  for await (const obj of dest.list(LOCK_PREFIX)) {
    if (!obj.key.endsWith('.json')) continue;
    const bytes = await dest.getBytes(obj.key);
    if (!bytes) continue; // released between list and read
    const id = obj.key.slice(LOCK_PREFIX.length, -'.json'.length);
    const holder = decode(bytes);
    const times = [holder ? Date.parse(holder.refreshedAt) : NaN, obj.lastModified?.getTime() ?? NaN].filter((t) => !Number.isNaN(t));
    seen.push({ key: obj.key, id, holder, aliveAt: times.length ? Math.max(...times) : undefined });
  }
  const now = ctx.now().getTime();
  const fresh: SeenLock[] = [];
  for (const lock of seen) {
    if (holderIsGone(ctx, lock.holder)) {
      opts.reporter.warning(`Removing the lock of a run that is no longer running on ${dest.display}: ${describeHolder(ctx, lock)}; that process has exited on this host (killed?)`);
      await dest.delete(lock.key);
      continue;
    }
    if (lock.aliveAt === undefined || now - lock.aliveAt <= ctx.staleMs) {
      fresh.push(lock);
      continue;
    }
    opts.reporter.warning(
      `Removing a stale lock on ${dest.display}: ${describeHolder(ctx, lock)}; it has not been refreshed for ${formatDuration(now - lock.aliveAt)} (stale after ${formatDuration(ctx.staleMs)}), so its run was killed or lost`,
    );
    await dest.delete(lock.key);
  }
  return fresh;
}

function hold(ctx: Ctx, holder: LockHolder, key: string): HeldLock {
  const { dest, opts } = ctx;
  const controller = new AbortController();
  let released = false;
  let lastRefresh = Date.parse(holder.refreshedAt);
  let inflight: Promise<void> = Promise.resolve();

  const lose = (message: string) => {
    if (controller.signal.aborted) return;
    opts.reporter.error(message);
    controller.abort(new LockedError(message, 'another run may be working on this destination; check its state and rerun'));
  };

  const refreshOnce = async () => {
    if (released || controller.signal.aborted) return;
    try {
      // A lock that vanished was broken as stale by another run: do not resurrect it.
      if (!(await dest.stat(key))) {
        lose(`the lock ${objectName(dest, key)} held by this ${holder.operation} was removed by another run`);
        return;
      }
      const now = ctx.now();
      holder.refreshedAt = now.toISOString();
      await dest.putBytes(key, encode(holder));
      lastRefresh = now.getTime();
    } catch (err) {
      const since = ctx.now().getTime() - lastRefresh;
      opts.reporter.warning(`Could not refresh the lock ${objectName(dest, key)} (${errorMessage(err)}); last refreshed ${formatDuration(since)} ago`);
      if (since > ctx.staleMs) lose(`the lock ${objectName(dest, key)} has not been refreshed for ${formatDuration(since)} and may have been taken over`);
    }
  };
  const refresh = () => (inflight = inflight.then(refreshOnce));
  // A forced exit (second signal, cleanup past its grace) skips the finally that releases us.
  const unregister = onForcedExit(() => dest.delete(key));
  // setInterval treats delays beyond 2^31-1 ms as 1 ms.
  const timer = setInterval(() => void refresh(), Math.min(ctx.refreshMs, 2_147_483_647));
  timer.unref();

  return {
    holder,
    key,
    signal: controller.signal,
    refresh,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await inflight;
      try {
        await dest.delete(key);
        unregister();
      } catch (err) {
        unregister();
        // Throwing here would hide the outcome of the operation; the lock expires on its own.
        opts.reporter.warning(
          `Could not remove the lock ${objectName(dest, key)} (${errorMessage(err)}); other runs are blocked until it goes stale in ${formatDuration(ctx.staleMs)}`,
        );
      }
    },
  };
}

function lockedError(ctx: Ctx, blocker: SeenLock, waitedMs: number): LockedError {
  const { dest, opts } = ctx;
  const waited = waitedMs > 0 ? ` (waited ${formatDuration(waitedMs)})` : '';
  const want = opts.exclusive ? 'exclusive' : 'shared';
  return new LockedError(
    `${dest.display} is locked${waited}, so this ${opts.operation} cannot take its ${want} lock: ${describeHolder(ctx, blocker)}`,
    `wait for that run to finish, or rerun with --lock-wait (e.g. --lock-wait 30m) to wait for it. ` +
      `A lock left by a killed run is removed automatically once it has not been refreshed for ${formatDuration(ctx.staleMs)}; ` +
      `only if you are sure no Strongbox run is using ${dest.display}, delete ${blocker.key} by hand`,
  );
}

function describeHolder(ctx: Ctx, lock: SeenLock): string {
  const now = ctx.now().getTime();
  const h = lock.holder;
  if (!h) {
    const seen = lock.aliveAt !== undefined ? `, last written ${formatDuration(now - lock.aliveAt)} ago` : '';
    return `unreadable lock ${lock.key}${seen}`;
  }
  const run = h.runId ? `, run ${h.runId}` : '';
  const started = Date.parse(h.startedAt);
  const since = Number.isNaN(started) ? h.startedAt : `${h.startedAt} (${formatDuration(now - started)} ago)`;
  const refreshed = lock.aliveAt !== undefined ? `, last refreshed ${formatDuration(Math.max(0, now - lock.aliveAt))} ago` : '';
  return `${h.operation} (${h.exclusive ? 'exclusive' : 'shared'}) on host ${h.host}, pid ${h.pid}${run}, holds it since ${since}${refreshed}`;
}

/** Sortable by time as a string, random so two runs in the same millisecond differ. */
function newLockId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

function encode(h: LockHolder): Uint8Array {
  return Buffer.from(JSON.stringify(h, null, 2) + '\n', 'utf8');
}

function decode(bytes: Uint8Array): LockHolder | undefined {
  try {
    const d = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<LockHolder>;
    if (typeof d !== 'object' || d === null) return undefined;
    if (typeof d.id !== 'string' || typeof d.refreshedAt !== 'string' || typeof d.exclusive !== 'boolean') return undefined;
    return {
      host: String(d.host ?? 'unknown host'),
      pid: Number(d.pid ?? 0),
      ...(d.runId ? { runId: String(d.runId) } : {}),
      startedAt: String(d.startedAt ?? d.refreshedAt),
      refreshedAt: d.refreshedAt,
      exclusive: d.exclusive,
      id: d.id,
      operation: String(d.operation ?? 'unknown operation'),
      ...(typeof d.pidNamespace === 'string' ? { pidNamespace: d.pidNamespace } : {}),
      ...(typeof d.bootId === 'string' ? { bootId: d.bootId } : {}),
      ...(typeof d.startTime === 'string' ? { startTime: d.startTime } : {}),
    };
  } catch {
    return undefined;
  }
}

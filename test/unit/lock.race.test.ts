import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockedError } from '../../src/shared/errors.js';
import { acquireLock } from '../../src/core/lock.js';
import { silentReporter } from '../../src/shared/reporter.js';
import type { Destination, ObjectInfo } from '../../src/destinations/types.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * Every destination call and every sleep becomes a point where fast-check's scheduler decides
 * which run goes next, so each property run tries a different interleaving of racing runs.
 */
function scheduled(inner: MemoryDestination, s: fc.Scheduler): Destination {
  const gate = (label: string) => s.schedule(Promise.resolve(), label);
  const op =
    <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      await gate(`${name} ${String(a[0])}`);
      const r = await fn(...a);
      await gate(`${name} done`);
      return r;
    };
  return {
    display: inner.display,
    put: op('put', inner.put.bind(inner)),
    putBytes: op('putBytes', inner.putBytes.bind(inner)),
    putBytesIfAbsent: op('putBytesIfAbsent', inner.putBytesIfAbsent.bind(inner)),
    get: op('get', inner.get.bind(inner)),
    getBytes: op('getBytes', inner.getBytes.bind(inner)),
    stat: op('stat', inner.stat.bind(inner)),
    delete: op('delete', inner.delete.bind(inner)),
    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      await gate(`list ${prefix}`);
      const snapshot: ObjectInfo[] = [];
      for await (const o of inner.list(prefix)) snapshot.push(o);
      await gate('list done');
      yield* snapshot;
    },
  };
}

interface Run {
  exclusive: boolean;
  waitMs: number;
}

/** Starts the runs together; each holds its lock for a few scheduler steps. Returns the outcomes. */
async function race(s: fc.Scheduler, runs: Run[]) {
  let t = Date.parse('2026-06-10T12:00:00Z');
  const now = () => new Date(t);
  const store = new MemoryDestination(now);
  const dest = scheduled(store, s);
  const active = new Set<{ exclusive: boolean }>();
  const violations: string[] = [];
  let maxActive = 0;

  const one = async (run: Run, i: number): Promise<'held' | 'locked'> => {
    let held;
    try {
      held = await acquireLock(dest, {
        exclusive: run.exclusive,
        operation: `run${i}`,
        waitMs: run.waitMs,
        now,
        sleep: async (ms) => {
          await s.schedule(Promise.resolve(), `sleep ${ms}`);
          t += ms;
        },
        reporter: silentReporter,
      });
    } catch (err) {
      if (err instanceof LockedError) return 'locked';
      throw err;
    }
    const me = { exclusive: run.exclusive };
    for (const other of active) {
      if (other.exclusive || me.exclusive) violations.push(`run${i} (${run.exclusive ? 'exclusive' : 'shared'}) got the lock while a conflicting run held it`);
    }
    active.add(me);
    maxActive = Math.max(maxActive, active.size);
    for (let k = 0; k < 3; k++) await s.schedule(Promise.resolve(), `run${i} working`);
    active.delete(me);
    await held.release();
    return 'held';
  };

  const outcomes = await s.waitFor(Promise.all(runs.map(one)));
  const leftover = [...store.objects.keys()].filter((k) => k.startsWith('locks/'));
  return { outcomes, violations, leftover, maxActive };
}

describe('racing runs', () => {
  it('two exclusive racers never both win, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const { outcomes, violations, leftover } = await race(s, [
          { exclusive: true, waitMs: 0 },
          { exclusive: true, waitMs: 0 },
        ]);
        expect(violations).toEqual([]);
        expect(outcomes.filter((o) => o === 'held').length).toBeLessThanOrEqual(2);
        expect(leftover).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('mixed shared and exclusive runs, some waiting, never overlap in conflict', async () => {
    let waitingRaces = 0;
    let allHeld = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.record({ exclusive: fc.boolean(), waitMs: fc.constantFrom(0, 60_000, 300_000) }), { minLength: 2, maxLength: 4 }),
        async (s, runs) => {
          const { outcomes, violations, leftover } = await race(s, runs);
          expect(violations).toEqual([]);
          expect(leftover).toEqual([]);
          // A run that gave up did so only because of a conflicting run: shared-only races always succeed.
          if (runs.every((r) => !r.exclusive)) expect(outcomes.every((o) => o === 'held')).toBe(true);
          if (runs.every((r) => r.waitMs > 0)) {
            waitingRaces++;
            if (outcomes.every((o) => o === 'held')) allHeld++;
          }
        },
      ),
      { numRuns: 300 },
    );
    // When every run waits, all normally get their turn (about 95% of interleavings); the
    // scheduler can starve some on purpose, by running one run's sleeps past its deadline.
    expect(allHeld).toBeGreaterThanOrEqual(0.8 * waitingRaces);
  });

  it('shared racers really run together', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const { outcomes } = await race(s, [
          { exclusive: false, waitMs: 0 },
          { exclusive: false, waitMs: 0 },
          { exclusive: false, waitMs: 0 },
        ]);
        expect(outcomes).toEqual(['held', 'held', 'held']);
      }),
      { numRuns: 50 },
    );
  });
});

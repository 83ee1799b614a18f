import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRetention, type BackupCandidate, type RetentionDecision, type RetentionPolicy } from '../../src/core/retention.js';

const NOW = new Date('2026-06-10T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SKEW = 5 * 60_000;

// Times from about three years back to a little past NOW, on a coarse grid so several backups
// share an hour, a day or a week and bucket boundaries get exercised.
const pastTime = fc.integer({ min: 0, max: 3 * 366 * 24 * 4 }).map((q) => new Date(NOW.getTime() - q * 15 * 60_000));
const futureTime = fc.integer({ min: 1, max: 400 * 24 }).map((h) => new Date(NOW.getTime() + SKEW + h * HOUR));
const labels = fc.subarray(['release', 'pre-release', 'manual']);

const completeShape = fc.record({ time: pastTime, labels });
const incompleteShape = fc.record({
  time: fc.oneof(pastTime, futureTime),
  lastModified: fc.option(fc.oneof(pastTime, futureTime), { nil: undefined }),
});

const policyArb: fc.Arbitrary<RetentionPolicy> = fc
  .record(
    {
      keepLast: fc.integer({ min: 0, max: 6 }),
      keepHourly: fc.integer({ min: 0, max: 6 }),
      keepDaily: fc.integer({ min: 0, max: 10 }),
      keepWeekly: fc.integer({ min: 0, max: 6 }),
      keepMonthly: fc.integer({ min: 0, max: 14 }),
      keepYearly: fc.integer({ min: 0, max: 3 }),
      keepWithinMs: fc.integer({ min: 0, max: 60 }).map((d) => d * DAY),
      keepLabels: fc.subarray(['release', 'pre-release', 'manual']),
    },
    { requiredKeys: [] },
  )
  .filter((p) => Object.values(p).some((v) => (Array.isArray(v) ? v.length > 0 : v > 0)));

// Policies that select by label alone leave the newest backup to the safety rule.
const labelOnlyPolicy: fc.Arbitrary<RetentionPolicy> = fc
  .subarray(['release', 'pre-release', 'manual'], { minLength: 1 })
  .map((keepLabels) => ({ keepLabels }));

function toCandidates(shapes: { time: Date; labels: string[] }[], prefix: string): BackupCandidate[] {
  return shapes.map((s, i) => ({ id: `${prefix}${i}`, time: s.time, labels: s.labels, complete: true }));
}

function keptIds(d: RetentionDecision): string[] {
  return d.keep.map((k) => k.id).sort();
}

describe('retention properties', () => {
  it('never removes the newest complete backup', () => {
    fc.assert(
      fc.property(fc.array(completeShape, { minLength: 1, maxLength: 40 }), fc.oneof(policyArb, labelOnlyPolicy), (shapes, policy) => {
        const backups = toCandidates(shapes, 'b');
        const d = applyRetention(backups, policy, NOW);
        const newest = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime())[0]!;
        // Ties on time are broken by id; whichever of the tied backups comes first must stay.
        const tied = backups.filter((b) => b.time.getTime() === newest.time.getTime()).map((b) => b.id);
        expect(d.keep.some((k) => tied.includes(k.id))).toBe(true);
        expect(d.keep[0]!.reasons.length).toBeGreaterThan(0);
      }),
    );
  });

  it('is idempotent: applying the policy to what it kept removes nothing', () => {
    fc.assert(
      fc.property(fc.array(completeShape, { maxLength: 60 }), policyArb, (shapes, policy) => {
        const backups = toCandidates(shapes, 'b');
        const first = applyRetention(backups, policy, NOW);
        const keptSet = new Set(first.keep.map((k) => k.id));
        const second = applyRetention(backups.filter((b) => keptSet.has(b.id)), policy, NOW);
        expect(second.remove).toEqual([]);
        expect(second.keep).toEqual(first.keep);
      }),
    );
  });

  it('partitions the input: every backup lands in exactly one list', () => {
    fc.assert(
      fc.property(
        fc.array(completeShape, { maxLength: 30 }),
        fc.array(fc.record({ time: futureTime, labels }), { maxLength: 5 }),
        fc.array(incompleteShape, { maxLength: 8 }),
        policyArb,
        (done, future, partial, policy) => {
          const backups = [
            ...toCandidates(done, 'c'),
            ...toCandidates(future, 'f'),
            ...partial.map((p, i): BackupCandidate => ({ id: `i${i}`, time: p.time, lastModified: p.lastModified, complete: false, labels: [] })),
          ];
          const d = applyRetention(backups, policy, NOW);
          const all = [...d.keep, ...d.remove, ...d.future, ...d.incompleteRemove, ...d.incompleteKeep].map((x) => x.id);
          expect(all.sort()).toEqual(backups.map((b) => b.id).sort());
          // Only complete, past-dated backups are ever removed by the policy; incomplete ones
          // only once their newest object is past the grace period.
          for (const r of d.remove) expect(r.id.startsWith('c')).toBe(true);
          for (const r of d.incompleteRemove) {
            const b = backups.find((x) => x.id === r.id)!;
            expect(NOW.getTime() - b.lastModified!.getTime()).toBeGreaterThan(DAY);
          }
          expect(d.future.map((x) => x.id).sort()).toEqual(toCandidates(future, 'f').map((b) => b.id).sort());
        },
      ),
    );
  });

  it('incomplete and future-dated backups never take a slot', () => {
    fc.assert(
      fc.property(
        fc.array(completeShape, { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ time: futureTime, labels }), { maxLength: 5 }),
        fc.array(incompleteShape, { minLength: 1, maxLength: 8 }),
        policyArb,
        (done, future, partial, policy) => {
          const base = toCandidates(done, 'c');
          const noisy = [
            ...base,
            ...toCandidates(future, 'f'),
            ...partial.map((p, i): BackupCandidate => ({ id: `i${i}`, time: p.time, lastModified: p.lastModified, complete: false, labels: ['release'] })),
          ];
          const clean = applyRetention(base, policy, NOW);
          const withNoise = applyRetention(noisy, policy, NOW);
          expect(withNoise.keep).toEqual(clean.keep);
          expect(withNoise.remove).toEqual(clean.remove);
        },
      ),
    );
  });

  it('orders by time, not by id: reassigning ids changes nothing but the names', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(pastTime, { selector: (d) => d.getTime(), minLength: 1, maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        policyArb,
        (times, seeds, policy) => {
          // Two id assignments: one sorting with time, one shuffled against it.
          const byTime = times.map((t) => ({ id: `x${t.toISOString()}`, time: t, labels: [], complete: true }));
          const ranks = times.map((t, i) => ({ t, r: seeds.next().value as number, i })).sort((a, b) => a.r - b.r || a.i - b.i);
          const shuffled = ranks.map(({ t }, j) => ({ id: `y${String(j).padStart(3, '0')}`, time: t, labels: [], complete: true }));
          const timeOf = (list: BackupCandidate[], ids: string[]) => ids.map((id) => list.find((b) => b.id === id)!.time.getTime());
          const a = applyRetention(byTime, policy, NOW);
          const b = applyRetention(shuffled, policy, NOW);
          expect(timeOf(shuffled, b.keep.map((k) => k.id))).toEqual(timeOf(byTime, a.keep.map((k) => k.id)));
          expect(b.keep.map((k) => k.reasons)).toEqual(a.keep.map((k) => k.reasons));
        },
      ),
    );
  });

  it('raising a count never removes a backup the smaller count kept', () => {
    fc.assert(
      fc.property(
        fc.array(completeShape, { maxLength: 50 }),
        policyArb,
        fc.constantFrom('keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly' as const),
        fc.integer({ min: 1, max: 5 }),
        (shapes, policy, field, extra) => {
          const backups = toCandidates(shapes, 'b');
          const bigger = { ...policy, [field]: (policy[field] ?? 0) + extra };
          const small = new Set(keptIds(applyRetention(backups, policy, NOW)));
          const large = new Set(keptIds(applyRetention(backups, bigger, NOW)));
          for (const id of small) expect(large.has(id)).toBe(true);
        },
      ),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { applyRetention, bucketOf, isoWeek, validatePolicy, type BackupCandidate, type RetentionPolicy } from '../../src/core/retention.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function complete(id: string, iso: string, labels: string[] = []): BackupCandidate {
  return { id, time: new Date(iso), complete: true, labels };
}

function incomplete(id: string, lastModified: string | undefined): BackupCandidate {
  return { id, time: new Date(lastModified ?? 0), complete: false, labels: [], lastModified: lastModified ? new Date(lastModified) : undefined };
}

function kept(backups: BackupCandidate[], policy: RetentionPolicy, now: string): Record<string, string[]> {
  return Object.fromEntries(applyRetention(backups, policy, new Date(now)).keep.map((k) => [k.id, k.reasons]));
}

describe('UTC buckets', () => {
  it('uses ISO 8601 weeks across year boundaries', () => {
    expect(isoWeek(new Date('2020-12-31T12:00:00Z'))).toBe('2020-W53');
    expect(isoWeek(new Date('2021-01-03T23:59:59Z'))).toBe('2020-W53');
    expect(isoWeek(new Date('2021-01-04T00:00:00Z'))).toBe('2021-W01');
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
    expect(isoWeek(new Date('2026-03-15T02:00:00Z'))).toBe('2026-W11');
    expect(isoWeek(new Date('2026-03-16T02:00:00Z'))).toBe('2026-W12');
  });

  it('buckets in UTC whatever the local time zone says', () => {
    // 23:30 UTC on the 1st is already the 2nd in UTC+1, but the bucket stays the 1st.
    const t = new Date('2026-05-01T23:30:00Z');
    expect(bucketOf('hourly', t)).toBe('2026-05-01-23');
    expect(bucketOf('daily', t)).toBe('2026-05-01');
    expect(bucketOf('monthly', t)).toBe('2026-05');
    expect(bucketOf('yearly', t)).toBe('2026');
    expect(bucketOf('daily', new Date('2026-05-01T23:30:00-02:00'))).toBe('2026-05-02');
  });
});

describe('validatePolicy', () => {
  it('refuses an empty policy, saying which flags exist', () => {
    for (const p of [{}, { keepDaily: 0, keepWithinMs: 0, keepLabels: [] }] as RetentionPolicy[]) {
      expect(() => validatePolicy(p)).toThrow(UsageError);
      expect(() => validatePolicy(p)).toThrow(/retention policy is empty/);
    }
    try {
      validatePolicy({});
    } catch (err) {
      expect((err as UsageError).hint).toContain('--keep-daily');
    }
  });

  it('refuses negative and fractional counts, naming the flag and value', () => {
    expect(() => validatePolicy({ keepDaily: -1 })).toThrow(/--keep-daily must be a whole number.*got -1/);
    expect(() => validatePolicy({ keepWeekly: 1.5 })).toThrow(/--keep-weekly .*got 1.5/);
    expect(() => validatePolicy({ keepLast: Number.NaN })).toThrow(/--keep-last/);
    expect(() => validatePolicy({ keepWithinMs: -5 })).toThrow(/--keep-within/);
    expect(() => validatePolicy({ keepLabels: [''] })).toThrow(/--keep-label/);
  });

  it('accepts a policy made only of labels', () => {
    expect(() => validatePolicy({ keepLabels: ['release'] })).not.toThrow();
  });

  it('applyRetention refuses an empty policy too, before deciding anything', () => {
    expect(() => applyRetention([complete('a', '2026-01-01T00:00:00Z')], {}, new Date('2026-01-02T00:00:00Z'))).toThrow(UsageError);
  });
});

describe('a nightly series over 400 days: 7 daily, 4 weekly, 12 monthly, 2 yearly', () => {
  // One backup at 02:00 UTC every day from 2025-02-09 to 2026-03-15 (a Sunday).
  const end = Date.parse('2026-03-15T02:00:00Z');
  const series = Array.from({ length: 400 }, (_, i) => {
    const t = new Date(end - i * DAY);
    return complete(`d${t.toISOString().slice(0, 10)}`, t.toISOString());
  });
  const policy = { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 2 };

  it('keeps exactly the expected backups, each with every rule that kept it', () => {
    expect(series.at(-1)!.id).toBe('d2025-02-09');
    const result = kept(series, policy, '2026-03-15T12:00:00Z');
    expect(result).toEqual({
      'd2026-03-15': ['daily', 'weekly', 'monthly', 'yearly'],
      'd2026-03-14': ['daily'],
      'd2026-03-13': ['daily'],
      'd2026-03-12': ['daily'],
      'd2026-03-11': ['daily'],
      'd2026-03-10': ['daily'],
      'd2026-03-09': ['daily'],
      'd2026-03-08': ['weekly'], // Sundays end ISO weeks
      'd2026-03-01': ['weekly'],
      'd2026-02-28': ['monthly'],
      'd2026-02-22': ['weekly'],
      'd2026-01-31': ['monthly'],
      'd2025-12-31': ['monthly', 'yearly'],
      'd2025-11-30': ['monthly'],
      'd2025-10-31': ['monthly'],
      'd2025-09-30': ['monthly'],
      'd2025-08-31': ['monthly'],
      'd2025-07-31': ['monthly'],
      'd2025-06-30': ['monthly'],
      'd2025-05-31': ['monthly'],
      'd2025-04-30': ['monthly'],
    });
  });

  it('lists keep and remove newest first and accounts for every backup', () => {
    const d = applyRetention(series, policy, new Date('2026-03-15T12:00:00Z'));
    expect(d.keep).toHaveLength(21);
    expect(d.remove).toHaveLength(379);
    expect(d.keep[0]!.id).toBe('d2026-03-15');
    expect(d.keep.at(-1)!.id).toBe('d2025-04-30');
    expect(d.remove[0]!.id).toBe('d2026-03-07');
    expect(d.remove.at(-1)!.id).toBe('d2025-02-09');
  });

  it('gives the same answer when the input arrives in any order', () => {
    const shuffled = [...series].sort((a, b) => (a.id.slice(-2) + a.id).localeCompare(b.id.slice(-2) + b.id));
    expect(kept(shuffled, policy, '2026-03-15T12:00:00Z')).toEqual(kept(series, policy, '2026-03-15T12:00:00Z'));
  });
});

describe('restic-like examples', () => {
  const now = '2026-06-10T12:00:00Z';
  const hourlyish = [
    complete('a', '2026-06-10T10:40:00Z'),
    complete('b', '2026-06-10T10:05:00Z'),
    complete('c', '2026-06-10T09:50:00Z'),
    complete('d', '2026-06-10T08:10:00Z'),
    complete('e', '2026-06-09T23:55:00Z'),
    complete('f', '2026-06-09T23:10:00Z'),
  ];

  it('--keep-last N keeps the N newest', () => {
    expect(kept(hourlyish, { keepLast: 3 }, now)).toEqual({ a: ['last'], b: ['last'], c: ['last'] });
  });

  it('--keep-hourly keeps the newest backup of each of the N most recent hours', () => {
    expect(kept(hourlyish, { keepHourly: 3 }, now)).toEqual({ a: ['hourly'], c: ['hourly'], d: ['hourly'] });
  });

  it('--keep-daily counts days with a backup, not calendar days', () => {
    const sparse = [complete('x', '2026-06-10T01:00:00Z'), complete('y', '2026-05-01T01:00:00Z'), complete('z', '2026-01-01T01:00:00Z'), complete('w', '2025-12-31T01:00:00Z')];
    expect(kept(sparse, { keepDaily: 3 }, now)).toEqual({ x: ['daily'], y: ['daily'], z: ['daily'] });
  });

  it('a rule with slots left over also keeps the oldest backup (restic ≥ 0.17)', () => {
    // Two days hold three backups; keep-daily 5 keeps both days' newest and the oldest.
    const young = [complete('n', '2026-06-10T10:00:00Z'), complete('m', '2026-06-09T10:00:00Z'), complete('o', '2026-06-09T08:00:00Z')];
    expect(kept(young, { keepDaily: 5 }, now)).toEqual({ n: ['daily'], m: ['daily'], o: ['daily'] });
    // …but not once the slots are used up.
    expect(kept(young, { keepDaily: 2 }, now)).toEqual({ n: ['daily'], m: ['daily'] });
  });

  it('combines rules and labels, listing every reason', () => {
    const list = [complete('a', '2026-06-10T10:00:00Z'), complete('b', '2026-06-09T10:00:00Z', ['release-v1.2']), complete('c', '2026-05-09T10:00:00Z', ['pre-release', 'release-v1.1'])];
    expect(kept(list, { keepLast: 1, keepMonthly: 1, keepLabels: ['pre-release', 'release-v1.2'] }, now)).toEqual({
      a: ['last', 'monthly'],
      b: ['label:release-v1.2'],
      c: ['label:pre-release'],
    });
  });

  it('--keep-within counts back from the newest complete backup, not from now', () => {
    // Backups stopped three weeks ago; a 7-day window still keeps the last week of them.
    const stopped = Array.from({ length: 14 }, (_, i) => complete(`s${i}`, new Date(Date.parse('2026-05-20T02:00:00Z') - i * DAY).toISOString()));
    const result = kept(stopped, { keepWithinMs: 7 * DAY }, now);
    expect(Object.keys(result)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
    expect(result.s0).toEqual(['within']);
  });
});

describe('the safety rules', () => {
  const now = '2026-06-10T12:00:00Z';

  it('keeps a single backup older than every window (fault 18)', () => {
    const old = [complete('only', '2024-01-01T00:00:00Z'), incomplete('stale-partial', '2024-02-01T00:00:00Z')];
    expect(kept(old, { keepWithinMs: DAY }, now)).toEqual({ only: ['within'] });
    expect(kept(old, { keepHourly: 1 }, now)).toEqual({ only: ['hourly'] });
    expect(kept(old, { keepLabels: ['x'] }, now)).toEqual({ only: ['newest'] });
  });

  it('keeps the newest complete backup even when no rule selects it', () => {
    const list = [complete('new', '2026-06-10T10:00:00Z'), complete('tagged', '2026-06-01T10:00:00Z', ['keep'])];
    expect(kept(list, { keepLabels: ['keep'] }, now)).toEqual({ new: ['newest'], tagged: ['label:keep'] });
  });

  it('incomplete newest backups take no slot; the older complete one is kept (fault 19)', () => {
    const list = [
      incomplete('run-killed', '2026-06-09T03:00:00Z'),
      incomplete('running', '2026-06-10T11:59:00Z'),
      complete('good', '2026-06-08T02:00:00Z'),
      complete('older', '2026-06-07T02:00:00Z'),
    ];
    const d = applyRetention(list, { keepLast: 1 }, new Date(now));
    expect(d.keep).toEqual([{ id: 'good', reasons: ['last'] }]);
    expect(d.remove).toEqual([{ id: 'older' }]);
    expect(d.incompleteRemove).toEqual([{ id: 'run-killed' }]);
    expect(d.incompleteKeep).toEqual([{ id: 'running', reason: expect.stringMatching(/last written 1m ago .*1d grace period.*still be running/) }]);
  });

  it('removes an incomplete backup only after the grace period, and never when its age is unknown', () => {
    const list = [incomplete('i23h', '2026-06-09T13:00:00Z'), incomplete('i25h', '2026-06-09T11:00:00Z'), incomplete('unknown', undefined), complete('c', '2026-06-10T02:00:00Z')];
    const d = applyRetention(list, { keepLast: 1 }, new Date(now));
    expect(d.incompleteRemove.map((x) => x.id)).toEqual(['i25h']);
    expect(d.incompleteKeep.map((x) => x.id)).toEqual(['i23h', 'unknown']);
    const shortGrace = applyRetention(list, { keepLast: 1 }, new Date(now), { incompleteGraceMs: HOUR });
    expect(shortGrace.incompleteRemove.map((x) => x.id)).toEqual(['i23h', 'i25h']);
  });

  it('orders by manifest time, not by id or object name (fault 20)', () => {
    // Ids sort the opposite way to the times.
    const list = [complete('2026-a', '2026-06-01T00:00:00Z'), complete('2025-b', '2026-06-05T00:00:00Z'), complete('2024-c', '2026-06-09T00:00:00Z')];
    expect(kept(list, { keepLast: 1 }, now)).toEqual({ '2024-c': ['last'] });
  });

  it('reports future-dated backups, keeps them, and lets them anchor nothing', () => {
    const list = [
      complete('future', '2027-01-01T00:00:00Z'),
      complete('skewed', '2026-06-10T12:03:00Z'), // within the 5-minute skew allowance: an ordinary backup
      complete('today', '2026-06-10T02:00:00Z'),
      complete('yesterday', '2026-06-09T02:00:00Z'),
    ];
    const d = applyRetention(list, { keepLast: 1, keepWithinMs: 12 * HOUR }, new Date(now));
    expect(d.future).toEqual([{ id: 'future' }]);
    expect(d.keep).toEqual([
      { id: 'skewed', reasons: ['last', 'within'] },
      { id: 'today', reasons: ['within'] },
    ]);
    expect(d.remove).toEqual([{ id: 'yesterday' }]);
  });

  it('refuses input that lists a backup twice or has an unreadable time', () => {
    const dup = [complete('a', '2026-06-01T00:00:00Z'), complete('a', '2026-06-02T00:00:00Z')];
    expect(() => applyRetention(dup, { keepLast: 1 }, new Date(now))).toThrow(/backup a is listed twice/);
    expect(() => applyRetention([complete('bad', 'not a date')], { keepLast: 1 }, new Date(now))).toThrow(/backup bad has no valid start time/);
  });
});

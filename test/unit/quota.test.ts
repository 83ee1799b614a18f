import { describe, expect, it } from 'vitest';
import { checkQuotas, quotaAlert, storedBytes } from '../../src/core/quota.js';
import type { Destination } from '../../src/destinations/types.js';
import type { Reporter } from '../../src/shared/reporter.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/** A quota is an early warning: at ≥ 80 % "nearly full", above 100 % "OVER", never a failure. */
function reporter() {
  const warnings: string[] = [];
  const r: Reporter = { debug: () => {}, info: () => {}, warning: (m) => void warnings.push(m), error: () => {}, setSecret: () => {} };
  return { r, warnings };
}
async function holding(bytes: number[], display = 'memory://nas'): Promise<MemoryDestination> {
  const d = new MemoryDestination(undefined, display);
  for (const [i, n] of bytes.entries()) await d.putBytes(`20260101T000000Z-00000${i}/db.dump.age`, new Uint8Array(n));
  return d;
}

describe('quota', () => {
  it('the stored bytes are the sum of every object under the prefix', async () => {
    expect(await storedBytes(await holding([300, 200, 1]))).toBe(501);
    expect(await storedBytes(await holding([]))).toBe(0);
  });

  const rows: [string, number, number, RegExp | undefined][] = [
    ['below 80 %: nothing said', 799, 1000, undefined],
    ['at 80 %: nearly full, naming the location, used and quota', 800, 1000, /^memory:\/\/nas is nearly full: it holds 800 B of its 1000 B quota \(80%\)/],
    ['at 100 %: still only nearly full', 1000, 1000, /nearly full: it holds 1000 B of its 1000 B quota \(100%\)/],
    ['above 100 %: OVER', 1001, 1000, /^memory:\/\/nas is OVER its quota: it holds 1001 B of its 1000 B quota \(100%\)/],
    ['binary units as the rest of the output', 3 * 2 ** 20, 2 ** 21, /holds 3\.0 MiB of its 2\.0 MiB quota \(150%\)/],
  ];
  it.each(rows)('%s', async (_what, used, quota, warning) => {
    const { r, warnings } = reporter();
    const dest = await holding([used]);
    const usage = await checkQuotas([{ destination: dest, quotaBytes: quota }], r);
    expect(usage).toMatchObject([{ location: 'memory://nas', usedBytes: used, quotaBytes: quota }]);
    if (warning) {
      expect(warnings).toEqual([expect.stringMatching(warning)]);
      // The warning is the alert's message: the same words reach --json, outputs and notifications.
      expect(usage[0]!.alert).toMatchObject({ kind: 'quota', subject: 'memory://nas', value: used, baseline: quota, message: warnings[0] });
    } else {
      expect(warnings).toEqual([]);
      expect(usage[0]!.alert).toBeUndefined();
    }
  });

  it('a location that cannot be measured is a warning, not a failure, and the others are still measured', async () => {
    const { r, warnings } = reporter();
    const broken = { display: 's3://b/p', list: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('connect ECONNREFUSED')) }) }) } as unknown as Destination;
    const ok = await holding([900], 'memory://ok');
    const usage = await checkQuotas([{ destination: broken, quotaBytes: 1000 }, { destination: ok, quotaBytes: 1000 }], r);
    expect(usage).toMatchObject([{ location: 'memory://ok', usedBytes: 900, quotaBytes: 1000 }]);
    expect(warnings).toEqual([expect.stringMatching(/^could not measure s3:\/\/b\/p against its quota of 1000 B: connect ECONNREFUSED/), expect.stringMatching(/memory:\/\/ok is nearly full/)]);
  });

  it('--quota-alert moves the threshold; 0 alerts only when over the quota', async () => {
    const { r, warnings } = reporter();
    const dest = await holding([900]);
    expect((await checkQuotas([{ destination: dest, quotaBytes: 1000 }], r, 95))[0]!.alert).toBeUndefined();
    expect((await checkQuotas([{ destination: dest, quotaBytes: 1000 }], r, 90))[0]!.alert).toMatchObject({ kind: 'quota', changePercent: 90, thresholdPercent: 90 });
    expect(warnings).toEqual([expect.stringMatching(/nearly full: it holds 900 B of its 1000 B quota \(90%\), the alert is at 90%/)]);
    expect(quotaAlert({ location: 'x', usedBytes: 999, quotaBytes: 1000 }, 0)).toBeUndefined();
    expect(quotaAlert({ location: 'x', usedBytes: 1001, quotaBytes: 1000 }, 0)).toMatchObject({ kind: 'quota', thresholdPercent: 100 });
  });
});

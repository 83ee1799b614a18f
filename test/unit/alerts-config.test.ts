import { describe, expect, it } from 'vitest';
import { quotaTargets, resolveAlertSettings } from '../../src/config/backup.js';
import { ConfigFileError, parseConfigText } from '../../src/config/file.js';
import type { OpenedLocation } from '../../src/config/locations.js';
import { parsePercent } from '../../src/config/percent.js';
import type { Destination } from '../../src/destinations/types.js';

/** The alert settings as flags and the file give them: a flag wins, then `alerts:`, then the defaults. */
const FILE = '/work/strongbox.yml';
const file = (alerts: string) => parseConfigText(`destinations:\n  - url: /srv/backups\n    quota: 1GB\nalerts:\n${alerts}`, FILE);

describe('alert settings', () => {
  it('defaults: 20 % size, 50 % duration, 20 % rows, 80 % quota, no failing', () => {
    expect(resolveAlertSettings({}, undefined)).toMatchObject({ thresholds: { sizeChangePercent: 20, durationChangePercent: 50, rowsDropPercent: 20 }, failOnAlert: false, quotaAlertPercent: 80 });
    expect(resolveAlertSettings({}, undefined).quotaBytes).toBeUndefined();
  });

  it('the file sets them; a flag given beats the file, an empty one does not', () => {
    const f = file('  size-change: 30%\n  duration-change: 0\n  rows-drop: 5\n  quota: 90%\n  fail: true\n');
    expect(resolveAlertSettings({}, f)).toMatchObject({ thresholds: { sizeChangePercent: 30, durationChangePercent: 0, rowsDropPercent: 5 }, failOnAlert: true, quotaAlertPercent: 90 });
    const flags = { alertSizeChange: '10%', alertDurationChange: '', alertRowsDrop: '0', failOnAlert: false, quotaAlert: '75%', quota: '2GB' };
    expect(resolveAlertSettings(flags, f)).toMatchObject({ thresholds: { sizeChangePercent: 10, durationChangePercent: 0, rowsDropPercent: 0 }, failOnAlert: false, quotaAlertPercent: 75, quotaBytes: 2e9 });
  });

  it('bad values name the flag; in the file, FILE:LINE:COL and the key', () => {
    expect(() => resolveAlertSettings({ alertSizeChange: 'lots' }, undefined)).toThrow(/^--alert-size-change "lots" is not a percentage$/);
    expect(() => resolveAlertSettings({ alertRowsDrop: '120%' }, undefined)).toThrow(/--alert-rows-drop "120%" is more than 100%/);
    expect(() => resolveAlertSettings({ quota: '2 bananas' }, undefined)).toThrow(/--quota "2 bananas" has an unknown unit/);
    expect(() => file('  size-change: -5%\n')).toThrow(ConfigFileError);
    expect(() => file('  size-change: -5%\n')).toThrow(`${FILE}:5:16: alerts.size-change: size-change "-5%" is not a percentage`);
    expect(() => file('  size-chnage: 5%\n')).toThrow(/5:3: alerts.size-chnage: unknown key; did you mean "size-change"\?/);
    expect(() => file('  fail: yes please\n')).toThrow(/alerts.fail/);
  });

  it('percentages: 20%, 20, 12.5 %; 0 is off', () => {
    expect(parsePercent('20%', 'x')).toBe(20);
    expect(parsePercent(20, 'x')).toBe(20);
    expect(parsePercent('12.5 %', 'x')).toBe(12.5);
    expect(parsePercent('0', 'x')).toBe(0);
    expect(() => parsePercent('', 'x')).toThrow(/not a percentage/);
  });

  it("--quota applies to every destination, over the file's quota:; without it the file's", () => {
    const d = (display: string) => ({ display }) as Destination;
    const locations: OpenedLocation[] = [
      { destination: d('/srv/a'), config: { tier: 'destinations', url: '/srv/a', quota: { text: '1GB', bytes: 1e9 }, at: '' } },
      { destination: d('/srv/b'), config: undefined },
    ];
    expect(quotaTargets(locations).map((q) => [q.destination.display, q.quotaBytes])).toEqual([['/srv/a', 1e9]]);
    expect(quotaTargets(locations, 5e9).map((q) => [q.destination.display, q.quotaBytes])).toEqual([['/srv/a', 5e9], ['/srv/b', 5e9]]);
  });
});

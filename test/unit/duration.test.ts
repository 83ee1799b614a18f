import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { UsageError } from '../../src/shared/errors.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['30s', 30 * S],
    ['15m', 15 * M],
    ['36h', 36 * H],
    ['7d', 7 * D],
    ['2w', 14 * D],
    ['1d12h', 36 * H],
    ['2w3d4h5m6s', 17 * D + 4 * H + 5 * M + 6 * S],
    [' 10M ', 10 * M],
    ['0s', 0],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text, '--lock-wait')).toBe(ms);
  });

  it.each([
    ['', /empty/],
    ['15', /no unit/],
    ['1.5h', /whole numbers/],
    ['-5m', /whole numbers/],
    ['5 m', /whole numbers/],
    ['1x', /unknown unit "x"/],
    ['6mo', /unknown unit "mo"/],
    ['1y', /unknown unit "y"/],
    ['12h1d', /largest first/],
    ['1h1h', /largest first/],
    ['m', /whole numbers/],
    ['99999999999999999w', /too large/],
  ])('refuses %j, naming the input and the value', (text, why) => {
    let err: unknown;
    try {
      parseDuration(text, '--keep-within');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`--keep-within "${text}" is not a valid duration`);
    expect((err as Error).message).toMatch(why);
  });

  it('suggests days when someone writes months or years', () => {
    try {
      parseDuration('6mo', '--keep-within');
      expect.unreachable();
    } catch (e) {
      expect((e as UsageError).hint).toMatch(/180d/);
    }
  });

  it('enforces limits, warning that m means minutes', () => {
    expect(() => parseDuration('6m', '--keep-within', { minMs: H })).toThrow(/shorter than the minimum of 1h/);
    try {
      parseDuration('6m', '--keep-within', { minMs: H });
    } catch (e) {
      expect((e as UsageError).hint).toMatch(/"m" means minutes/);
    }
    expect(() => parseDuration('2d', '--lock-wait', { maxMs: D })).toThrow(/--lock-wait "2d" is longer than the maximum of 1d/);
    expect(parseDuration('1h', '--keep-within', { minMs: H, maxMs: D })).toBe(H);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [450, '450ms'],
    [45 * S, '45s'],
    [12 * M + 30 * S + 999, '12m30s'],
    [H, '1h'],
    [D + 2 * H + 3 * M, '1d2h'],
    [36 * H, '1d12h'],
    [15 * D, '15d'],
    [3 * H + 4 * S, '3h'],
    [-90 * S, '-1m30s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('produces text parseDuration reads back (rounded down to its two largest units)', () => {
    for (const ms of [S, 59 * S, 61 * M, 25 * H, 400 * D + 5 * H]) {
      const back = parseDuration(formatDuration(ms), 'x');
      expect(back).toBeLessThanOrEqual(ms);
      expect(back).toBeGreaterThan(ms * 0.95);
    }
  });
});

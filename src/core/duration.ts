import { UsageError } from '../shared/errors.js';

/**
 * Durations as people type them in flags and action inputs: `30s`, `15m`, `36h`, `7d`, `2w`,
 * or combinations from the largest unit down (`1d12h`, `2w3d`). `m` is minutes, never months:
 * months and years have no fixed length, so long spans are written in days or weeks.
 */
const UNITS = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNITS;
const ORDER: Unit[] = ['w', 'd', 'h', 'm', 's'];
const EXAMPLES = 'e.g. 30s, 15m, 36h, 7d, 2w or 1d12h';

export interface DurationLimits {
  /** Smallest accepted value; guards against `6m` typed for six months. */
  minMs?: number;
  maxMs?: number;
}

/** Parses `text` into milliseconds; `inputName` (e.g. `--lock-wait`) is named in errors. */
export function parseDuration(text: string, inputName: string, limits: DurationLimits = {}): number {
  const raw = text.trim();
  const bad = (why: string, hint = `write a number followed by a unit (w, d, h, m, s), ${EXAMPLES}`) =>
    new UsageError(`${inputName} "${text}" is not a valid duration: ${why}`, hint);
  if (raw === '') throw bad('it is empty');
  if (/^\d+(\.\d+)?$/.test(raw)) throw bad('it has no unit', `add a unit, e.g. ${raw}m for minutes or ${raw}h for hours`);
  const parts = raw.toLowerCase().match(/\d+[a-z]+/g);
  if (!parts || parts.join('') !== raw.toLowerCase()) throw bad('expected whole numbers each followed by a unit');
  let total = 0;
  let previous = -1;
  for (const part of parts) {
    const [, digits, unit] = /^(\d+)([a-z]+)$/.exec(part)!;
    if (!(unit! in UNITS)) {
      throw bad(`unknown unit "${unit}"`, unit === 'mo' || unit === 'y' ? `months and years vary in length; write them in days, e.g. 180d or 365d` : undefined);
    }
    const rank = ORDER.indexOf(unit as Unit);
    if (rank <= previous) throw bad(`units must each appear once, largest first (${EXAMPLES})`);
    previous = rank;
    total += Number(digits) * UNITS[unit as Unit];
  }
  if (!Number.isSafeInteger(total)) throw bad('it is too large');
  if (limits.minMs !== undefined && total < limits.minMs) {
    const hint = /\dm/i.test(raw) ? `"m" means minutes; write months in days, e.g. 180d` : undefined;
    throw new UsageError(`${inputName} "${text}" is shorter than the minimum of ${formatDuration(limits.minMs)}`, hint);
  }
  if (limits.maxMs !== undefined && total > limits.maxMs) {
    throw new UsageError(`${inputName} "${text}" is longer than the maximum of ${formatDuration(limits.maxMs)}`);
  }
  return total;
}

/**
 * A short human form for messages, in the syntax parseDuration accepts: the two largest
 * non-zero units, rounded down (`2d3h`, `12m30s`, `45s`); under a second, `${ms}ms`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.trunc(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  const out: string[] = [];
  // Days rather than weeks: "15d" reads more easily than "2w1d".
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNITS[unit]);
    rest -= n * UNITS[unit];
    if (n > 0 || out.length > 0) out.push(`${n}${unit}`);
    if (out.length === 2) break;
  }
  return sign + out.filter((p) => !p.startsWith('0')).join('');
}

/** Seconds from `started` to now (the injected clock), to the millisecond: durations in results. */
export function secondsSince(started: Date, now: () => Date = () => new Date()): number {
  return (now().getTime() - started.getTime()) / 1000;
}

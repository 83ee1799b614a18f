import { UsageError } from '../shared/errors.js';

/**
 * A threshold in percent: `20%`, `20` or `12.5%`; `0` switches the check off. `max` bounds a
 * share that cannot pass 100 (a drop, a quota's fill level).
 */
export function parsePercent(value: string | number, inputName: string, max?: number): number {
  const raw = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(raw);
  const hint = `write a percentage such as 20%; 0 switches the check off`;
  if (!m) throw new UsageError(`${inputName} "${raw}" is not a percentage`, hint);
  const n = Number(m[1]);
  if (max !== undefined && n > max) throw new UsageError(`${inputName} "${raw}" is more than ${max}%`, hint);
  return n;
}

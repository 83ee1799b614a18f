import { UsageError } from '../shared/errors.js';

/**
 * Storage sizes as providers sell them: `200GB` is 200 × 10⁹ bytes (decimal, as B2, R2, S3 and
 * disk makers count), `1.5TiB` is 1.5 × 2⁴⁰ (binary, as `df -h` and Strongbox's own output
 * print). Units are case-insensitive (`gb` = `GB`); a bare number is bytes.
 */
const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
};

export function parseSize(value: string | number, inputName: string): number {
  const raw = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  const hint = 'write a number and a unit: 500MB, 200GB, 1.5TB (decimal) or 512GiB, 1.5TiB (binary)';
  if (!m) throw new UsageError(`${inputName} "${raw}" is not a size`, hint);
  const unit = (m[2] || 'b').toLowerCase();
  const factor = UNITS[unit];
  if (factor === undefined) throw new UsageError(`${inputName} "${raw}" has an unknown unit "${m[2]}"`, hint);
  const bytes = Math.floor(Number(m[1]) * factor);
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) throw new UsageError(`${inputName} "${raw}" must be more than 0 bytes and at most 8 PB`, hint);
  return bytes;
}

import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';

/**
 * Object keys are '/'-separated paths relative to a destination's root. The same rules hold for
 * every destination, so a key that works on S3 also works in a folder and can never climb out
 * of the root there.
 */
export function keySegments(key: string, where: string): string[] {
  if (typeof key !== 'string' || key === '') throw new UsageError(`empty object key for ${where}`);
  const segments = key.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) {
      throw new UsageError(
        `object key "${printable(key)}" is not allowed for ${where}`,
        'keys are relative paths with "/" separators and no empty, "." or ".." parts, no backslashes and no leading "/"',
      );
    }
  }
  return segments;
}

/**
 * A list prefix is a key, or the start of one: it may be empty, end with '/' or stop within a
 * segment (`2024-` matches `2024-01-01/…`), but it obeys the key rules otherwise.
 */
export function checkPrefix(prefix: string, where: string): void {
  if (prefix === '') return;
  const inner = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  // A trailing partial '.' or '..' would still name a parent; keySegments refuses those too.
  keySegments(inner === '' ? '/' : inner, where);
}


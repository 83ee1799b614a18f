/**
 * S3 lists keys in UTF-8 byte order, which is code point order. JavaScript compares UTF-16 code
 * units, which differs for characters above U+FFFF against U+E000–U+FFFF; compared here by code
 * point without allocating.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (U+D800–DFFF) stands for a code point above U+FFFF: it sorts after every BMP unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * With --all-versions a non-current version is named `key?versionId=ID` (S3's own spelling of a
 * version), the current one plain `key`. The order: by key, the current version first, then by
 * version id, so names of one key stay together whatever their text.
 */
export const VERSION_MARK = '?versionId=';

export function versionedName(key: string, versionId: string | undefined, isLatest: boolean): string {
  return isLatest || !versionId ? key : `${key}${VERSION_MARK}${versionId}`;
}

function split(name: string): [string, string] {
  const at = name.lastIndexOf(VERSION_MARK);
  return at < 0 ? [name, ''] : [name.slice(0, at), name.slice(at + VERSION_MARK.length)];
}

export function compareVersionedNames(a: string, b: string): number {
  const [ka, va] = split(a);
  const [kb, vb] = split(b);
  return compareKeys(ka, kb) || compareKeys(va, vb);
}

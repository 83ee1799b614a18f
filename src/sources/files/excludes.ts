import { basename } from 'node:path';
import { Minimatch } from 'minimatch';

/**
 * Exclude patterns, gitignore-like: a pattern without "/" matches a name at any depth
 * (`node_modules`, `*.log`); one with "/" matches the path from the tree root
 * (`cache/tmp`, `**\/*.tmp`; a leading "/" or "./" just anchors); a trailing "/" matches
 * directories only. A matching directory is skipped with everything under it.
 */
export function compileExcludes(patterns: string[]): (rel: string, isDir: boolean) => boolean {
  const rules = patterns
    .map((raw) => raw.trim())
    .filter((raw) => raw.length > 0)
    .map((raw) => {
      let p = raw;
      const dirOnly = p.endsWith('/');
      p = p.replace(/\/+$/, '');
      const anchored = p.startsWith('/') || p.startsWith('./');
      p = p.replace(/^(\.\/|\/)+/, '');
      const whole = anchored || p.includes('/');
      return { mm: new Minimatch(p, { dot: true }), dirOnly, whole };
    })
    .filter((r) => r.mm.pattern.length > 0);
  return (rel, isDir) =>
    rules.some((r) => (!r.dirOnly || isDir) && r.mm.match(r.whole ? rel : basename(rel)));
}

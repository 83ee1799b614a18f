import { Minimatch } from 'minimatch';
import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';

/**
 * `restore --path GLOB` (repeatable): a member or entry is selected when its name, or the name
 * of a folder above it, matches one of the patterns (minimatch, `dot: true`), so a folder's
 * name selects its whole subtree. Which patterns matched is remembered: one that matched
 * nothing is a usage error naming it, raised before anything is written.
 */
export class PathSelection {
  private readonly patterns: { text: string; glob: Minimatch; matched: boolean }[];
  constructor(patterns: string[]) {
    this.patterns = patterns.map((p) => {
      const text = p.trim().replace(/^\.\/+/, '').replace(/\/+$/, '');
      return { text, glob: new Minimatch(text, { dot: true }), matched: false };
    });
    for (const p of this.patterns) if (!p.text) throw new UsageError('--path needs a pattern', 'e.g. --path docs/report.pdf, --path "photos/2026/**" or --path photos');
  }

  readonly select = (name: string): boolean => {
    const parts = name.split('/');
    let hit = false;
    for (const p of this.patterns) {
      for (let i = 1; i <= parts.length; i++) {
        if (p.glob.match(parts.slice(0, i).join('/'))) {
          p.matched = true;
          hit = true;
          break;
        }
      }
    }
    return hit;
  };

  /** Throws a UsageError naming every pattern that has selected nothing so far. */
  readonly assertAllMatched = (what: string): void => {
    const none = this.patterns.filter((p) => !p.matched);
    if (!none.length) return;
    throw new UsageError(`--path ${none.map((p) => `"${printable(p.text)}"`).join(', ')} matched nothing in ${what}; nothing was written`, 'names are relative to the backed-up tree (or bucket prefix), without a leading slash: docs/report.pdf, photos, "photos/**/*.jpg"');
  };
}

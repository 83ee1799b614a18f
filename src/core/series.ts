import { UsageError } from './errors.js';
import type { Manifest } from './types.js';

/**
 * A backup's series: the backups that replace one another, so retention (and anything that
 * compares a backup with its history) only ever weighs a backup against its own kind. A
 * nightly `postgres + files` backup and a pre-deploy `postgres`-only snapshot are different
 * series. Derived from the manifest alone, so it works on every backup ever written.
 */
export const GROUP_BY = ['sources', 'labels', 'sources,labels', 'none'] as const;
export type GroupBy = (typeof GROUP_BY)[number];
export const DEFAULT_GROUP_BY: GroupBy = 'sources';

/** Validates a `--group-by` value (CLI flag or action input); undefined or "" is the default. */
export function parseGroupBy(value: string | undefined, flag = '--group-by'): GroupBy {
  const v = value?.trim().replace(/\s+/g, '');
  if (v === undefined || v === '') return DEFAULT_GROUP_BY;
  const canonical = v === 'labels,sources' ? 'sources,labels' : v;
  if ((GROUP_BY as readonly string[]).includes(canonical)) return canonical as GroupBy;
  throw new UsageError(`${flag} "${value}" is not one of ${GROUP_BY.join(', ')}`, `${flag} sources (the default) makes one series per set of artifact names; none treats every backup as one series`);
}

/** The series name: sorted artifact names joined by `+`, and/or sorted labels, or `all`. */
export function seriesOf(m: Pick<Manifest, 'artifacts' | 'labels'>, groupBy: GroupBy = DEFAULT_GROUP_BY): string {
  if (groupBy === 'none') return 'all';
  const sorted = (xs: string[]) => [...new Set(xs)].sort();
  const sources = sorted(m.artifacts.map((a) => a.name)).join('+') || '(no artifacts)';
  const labels = m.labels.length ? `label:${sorted(m.labels).join(',')}` : '(no labels)';
  if (groupBy === 'sources') return sources;
  if (groupBy === 'labels') return labels;
  return `${sources} ${labels}`;
}

import { UsageError } from '../shared/errors.js';
import { findSourceAdapter } from '../sources/index.js';
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

type SeriesManifest = { artifacts: Pick<Manifest['artifacts'][number], 'name' | 'kind' | 'source'>[]; labels: string[] };

/**
 * What an artifact was taken from, as its manifest records it: the absolute path of a files
 * source, `host[:port]/database` of a PostgreSQL source (the manifest never holds a password).
 * Never the backup host: CI runners get a new hostname per run. Empty when not recorded.
 */
export function sourceIdentity(a: Pick<Manifest['artifacts'][number], 'kind' | 'source'>): string {
  return findSourceAdapter(a.kind)?.sourceIdentity(a.source ?? {}) ?? '';
}

/** The series name shown to users: sorted artifact names joined by `+`, and/or sorted labels, or `all`. */
export function seriesOf(m: Pick<SeriesManifest, 'labels'> & { artifacts: { name: string }[] }, groupBy: GroupBy = DEFAULT_GROUP_BY): string {
  if (groupBy === 'none') return 'all';
  const sorted = (xs: string[]) => [...new Set(xs)].sort();
  const sources = sorted(m.artifacts.map((a) => a.name)).join('+') || '(no artifacts)';
  const labels = m.labels.length ? `label:${sorted(m.labels).join(',')}` : '(no labels)';
  if (groupBy === 'sources') return sources;
  if (groupBy === 'labels') return labels;
  return `${sources} ${labels}`;
}

/**
 * The series key: like the name, but each artifact also carries its source identity, so
 * `x/data` and `y/data` (both `files-data`) or `app` on two servers never share a series.
 */
export function seriesKeyOf(m: SeriesManifest, groupBy: GroupBy = DEFAULT_GROUP_BY): string {
  if (groupBy === 'none' || groupBy === 'labels') return seriesOf(m, groupBy);
  const withIdentity = m.artifacts.map((a) => ({ name: `${a.name} (${sourceIdentity(a) || '?'})` }));
  return seriesOf({ ...m, artifacts: withIdentity }, groupBy);
}

/**
 * Display names for a set of manifests, by series key: the plain name, extended with the
 * source identities only where two different keys would otherwise show the same name.
 */
export function seriesNames(ms: SeriesManifest[], groupBy: GroupBy = DEFAULT_GROUP_BY): Map<string, string> {
  const keys = new Map<string, string>();
  for (const m of ms) keys.set(seriesKeyOf(m, groupBy), seriesOf(m, groupBy));
  const count = new Map<string, number>();
  for (const name of keys.values()) count.set(name, (count.get(name) ?? 0) + 1);
  return new Map([...keys].map(([key, name]) => [key, count.get(name)! > 1 ? key : name]));
}

import { parseGroupBy } from '../core/series.js';
import type { HistoryFilters } from '../core/history.js';
import type { Selection } from '../core/repository.js';
import type { Destination } from '../destinations/types.js';
import type { Reporter } from '../shared/reporter.js';
import type { ConfigFile } from './file.js';
import { resolveListConfig } from './read.js';
import type { StorageSettings } from './settings.js';

/** `strongbox history` and `strongbox show`: where to read, and what to pick. */

export interface HistorySettings extends StorageSettings {
  from?: string;
  series?: string;
  label?: string;
  groupBy?: string;
}

export interface HistoryConfig {
  destination: Destination;
  filters: HistoryFilters;
}

/** `--group-by` beats the file's `group-by:`, as for prune; empty filters are no filters. */
export function resolveHistoryConfig(flags: HistorySettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): HistoryConfig {
  const { destination, label } = resolveListConfig({ ...flags, label: flags.label }, file, env, reporter);
  const groupBy = flags.groupBy !== undefined ? parseGroupBy(flags.groupBy) : (file?.groupBy ?? parseGroupBy(undefined));
  const series = flags.series?.trim() || undefined;
  return { destination, filters: { series, label, groupBy } };
}

export interface ShowSettings extends StorageSettings {
  from?: string;
  backup?: string;
}

export interface ShowConfig {
  destination: Destination;
  selection: Selection;
  groupBy: HistoryFilters['groupBy'];
}

export function resolveShowConfig(flags: ShowSettings, file: ConfigFile | undefined, env: NodeJS.ProcessEnv, reporter: Reporter): ShowConfig {
  const { destination } = resolveListConfig(flags, file, env, reporter);
  return { destination, selection: { selector: flags.backup?.trim() || 'latest' }, groupBy: file?.groupBy ?? parseGroupBy(undefined) };
}

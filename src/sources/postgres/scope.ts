import { UsageError } from '../../shared/errors.js';
import type { SourceDetails, SourceOptions } from '../adapter.js';

/**
 * What part of a database a dump covers: pg_dump's --schema / --exclude-schema / --table /
 * --exclude-table / --exclude-table-data patterns (psql's pattern syntax: `*`, `?`, quoted
 * names), recorded in the manifest so a restore knows whether the dump was partial.
 */
export interface PgScope {
  schemas: string[];
  excludeSchemas: string[];
  tables: string[];
  excludeTables: string[];
  excludeTableData: string[];
}

const FLAGS: Record<keyof PgScope, string> = {
  schemas: '--schema',
  excludeSchemas: '--exclude-schema',
  tables: '--table',
  excludeTables: '--exclude-table',
  excludeTableData: '--exclude-table-data',
};

const KEYS = Object.keys(FLAGS) as (keyof PgScope)[];

/** The scope from the edges' options, each pattern checked: none empty, none that could read as a flag. */
export function scopeFromOptions(options: SourceOptions = {}): PgScope {
  const scope = {} as PgScope;
  for (const key of KEYS) {
    const patterns = options[key] ?? [];
    for (const p of patterns) {
      if (p.trim() === '') throw new UsageError(`a ${FLAGS[key]} pattern is empty`, `give a name or pattern, e.g. ${FLAGS[key]} public.orders (an unset variable or input?)`);
      if (p.startsWith('-')) throw new UsageError(`the ${FLAGS[key]} pattern "${p}" starts with "-"`, 'patterns name schemas or tables; quote a name that really starts with "-" as "\\"-name\\""');
      if (/[\0\n\r]/.test(p)) throw new UsageError(`the ${FLAGS[key]} pattern ${JSON.stringify(p)} holds a control character`, 'give one pattern per flag or per input line');
    }
    scope[key] = [...patterns];
  }
  return scope;
}

/** pg_dump's arguments, each as `--flag=PATTERN` so a pattern is never read as an option. */
export function scopeArgs(scope: PgScope): string[] {
  return KEYS.flatMap((key) => scope[key].map((p) => `${FLAGS[key]}=${p}`));
}

/**
 * A dump that leaves objects out (not just some tables' data): restoring it must replace only
 * what it contains. A dump with only --exclude-table-data still holds every object.
 */
export function isPartialScope(scope: PgScope): boolean {
  return scope.schemas.length + scope.excludeSchemas.length + scope.tables.length + scope.excludeTables.length > 0;
}

/** Manifest details: only the non-empty lists, plus `partial` so a restore need not re-derive it. */
export function scopeDetails(scope: PgScope): SourceDetails {
  const d: SourceDetails = {};
  for (const key of KEYS) if (scope[key].length) d[key] = scope[key];
  if (isPartialScope(scope)) d.partial = true;
  return d;
}

/** Whether a manifest's details describe a partial dump (older manifests have no scope: full). */
export function isPartialDump(details: SourceDetails): boolean {
  if (details.partial === true) return true;
  return (['schemas', 'excludeSchemas', 'tables', 'excludeTables'] as const).some((k) => Array.isArray(details[k]) && (details[k] as string[]).length > 0);
}

/**
 * Whether a partial dump holds whole schemas (--schema, nothing excluded from them, no
 * --table): only then may its restore drop and recreate the schemas it holds.
 */
export function holdsWholeSchemas(details: SourceDetails): boolean {
  const has = (k: string) => Array.isArray(details[k]) && (details[k] as string[]).length > 0;
  return has('schemas') && !has('tables') && !has('excludeTables');
}

/**
 * psql's pattern → a POSIX regex, as pg_dump does it (fe_utils processSQLNamePattern): outside
 * double quotes letters fold to lower case, `*` is `.*`, `?` is `.`, a dot splits schema from
 * name, and other characters pass as regex; inside quotes everything is literal.
 */
export function patternToRegex(pattern: string): { schema?: string; name: string } {
  const parts: string[] = [''];
  let quoted = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '"') {
      if (quoted && pattern[i + 1] === '"') {
        parts[parts.length - 1] += '"';
        i++;
      } else quoted = !quoted;
    } else if (!quoted && ch === '.') parts.push('');
    else if (!quoted && ch === '*') parts[parts.length - 1] += '.*';
    else if (!quoted && ch === '?') parts[parts.length - 1] += '.';
    else if (!quoted && /[A-Z]/.test(ch)) parts[parts.length - 1] += ch.toLowerCase();
    else if (ch === '$' || (quoted && '|*+?()[]{}.^\\'.includes(ch))) parts[parts.length - 1] += `\\${ch}`;
    else parts[parts.length - 1] += ch;
  }
  // db.schema.table: the database part names the dumped database itself.
  const name = parts[parts.length - 1]!;
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  return { name: `^(${name})$`, ...(schema !== undefined ? { schema: `^(${schema})$` } : {}) };
}

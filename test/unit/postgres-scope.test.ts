import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { KeepSchemas } from '../../src/sources/postgres/keep-schemas.js';
import { parseRowCounts, rowCountCheckSql, rowCountKey } from '../../src/sources/postgres/row-count-sql.js';
import { isPartialDump, isPartialScope, patternToRegex, scopeArgs, scopeDetails, scopeFromOptions } from '../../src/sources/postgres/scope.js';

describe('PostgreSQL dump scope', () => {
  it('gives pg_dump each pattern as one --flag=PATTERN argument, so none reads as an option', () => {
    const scope = scopeFromOptions({ schemas: ['tenant_*'], tables: ['public.orders', 's."Odd Name"'], excludeTableData: ['audit'] });
    expect(scopeArgs(scope)).toEqual(['--schema=tenant_*', '--table=public.orders', '--table=s."Odd Name"', '--exclude-table-data=audit']);
  });

  it.each([
    [{ tables: [''] }, /--table pattern is empty/],
    [{ excludeSchemas: ['  '] }, /--exclude-schema pattern is empty/],
    [{ schemas: ['-n'] }, /--schema pattern "-n" starts with "-"/],
    [{ excludeTableData: ['a\nb'] }, /control character/],
  ])('refuses %j with a usage error naming the flag', (options, message) => {
    expect(() => scopeFromOptions(options)).toThrow(UsageError);
    expect(() => scopeFromOptions(options)).toThrow(message);
  });

  it('calls a dump partial when it leaves objects out, not when it leaves only rows out', () => {
    expect(isPartialScope(scopeFromOptions({ excludeTableData: ['audit'] }))).toBe(false);
    expect(isPartialScope(scopeFromOptions({ excludeTables: ['audit'] }))).toBe(true);
    expect(scopeDetails(scopeFromOptions({ tables: ['t'] }))).toEqual({ tables: ['t'], partial: true });
    expect(isPartialDump({ engine: 'postgresql' })).toBe(false); // a manifest from before scopes: full
    expect(isPartialDump({ schemas: ['a'] })).toBe(true);
  });

  it.each([
    ['orders', { name: '^(orders)$' }],
    ['Public.Orders', { schema: '^(public)$', name: '^(orders)$' }],
    ['s.*', { schema: '^(s)$', name: '^(.*)$' }],
    ['t?', { name: '^(t.)$' }],
    ['"Mixed.Case"', { name: '^(Mixed\\.Case)$' }],
    ['"a""b"', { name: '^(a"b)$' }],
    ['db.s.t', { schema: '^(s)$', name: '^(t)$' }],
    ['price$', { name: '^(price\\$)$' }],
  ])('turns the pattern %s into the regex pg_dump uses', (pattern, expected) => {
    expect(patternToRegex(pattern)).toEqual(expected);
  });
});

describe('row counts', () => {
  it('reads only a well-formed, marked line of counts', () => {
    expect(parseRowCounts('noise\nstrongbox-row-counts:{"public.t": 3}\n')).toEqual({ 'public.t': 3 });
    expect(parseRowCounts('strongbox-row-counts:{"public.t": -1}')).toBeUndefined();
    expect(parseRowCounts('strongbox-row-counts:[1]')).toBeUndefined();
    expect(parseRowCounts('strongbox-row-counts:{')).toBeUndefined();
    expect(parseRowCounts('{"public.t": 3}')).toBeUndefined();
  });

  it('keys a table unambiguously, quoting only a part that holds a dot or a quote', () => {
    expect(rowCountKey('public', 'users')).toBe('public.users');
    expect(rowCountKey('a.b', 'c')).toBe('"a.b".c');
    expect(rowCountKey('a', 'b.c')).toBe('a."b.c"');
    expect(rowCountKey('a', 'b"c')).toBe('a."b""c"');
    expect(rowCountKey('a.b', 'c')).not.toBe(rowCountKey('a', 'b.c'));
  });

  it('quotes the expected counts so no table name can end the check early', () => {
    const sql = rowCountCheckSql({ 'public.we$c$ird': 1, 'public.x$check$y': 2 });
    const tag = /^DO (\$check[0-9a-f]*\$)/.exec(sql)![1]!;
    expect(tag).not.toBe('$check$');
    // The body's tag appears exactly twice: where it opens and where it closes.
    expect(sql.split(tag)).toHaveLength(3);
  });
});

describe('keeping the schemas of a partial restore', () => {
  const script = [
    'SET row_security = off;',
    'DROP TABLE IF EXISTS app.items;',
    'DROP SCHEMA IF EXISTS app;',
    'DROP SCHEMA IF EXISTS "My App";',
    '--',
    '-- Name: app; Type: SCHEMA; Schema: -; Owner: -',
    '--',
    '',
    'CREATE SCHEMA app;',
    '--',
    '-- Name: SCHEMA app; Type: COMMENT; Schema: -; Owner: -',
    '--',
    "COMMENT ON SCHEMA app IS 'é';",
    '--',
    '-- Name: items; Type: TABLE; Schema: app; Owner: -',
    '--',
    'CREATE TABLE app.items (t text);',
    'COPY app.items (t) FROM stdin;',
    'DROP SCHEMA IF EXISTS app;',
    'CREATE SCHEMA app;',
    '\\.',
    'COMMIT;',
    '',
  ].join('\n');

  async function through(chunkSize: number): Promise<string> {
    const bytes = Buffer.from(script, 'utf8');
    const chunks = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, i) => bytes.subarray(i * chunkSize, (i + 1) * chunkSize));
    const out = await buffer(Readable.from(chunks).pipe(new KeepSchemas()));
    return out.toString('utf8');
  }

  it('leaves out the schema drops, creates schemas only if missing, and never touches what follows the schemas (data rows alike)', async () => {
    for (const size of [1, 7, 4096]) {
      const out = await through(size);
      expect(out).not.toMatch(/^DROP SCHEMA IF EXISTS "My App";$/m);
      expect(out.split('\n').filter((l) => l.startsWith('DROP SCHEMA'))).toEqual(['DROP SCHEMA IF EXISTS app;']); // the data row only
      expect(out).toContain('DROP TABLE IF EXISTS app.items;');
      expect(out).toContain('\nCREATE SCHEMA IF NOT EXISTS app;\n');
      expect(out).toContain("COMMENT ON SCHEMA app IS 'é';");
      expect(out).toContain('COPY app.items (t) FROM stdin;\nDROP SCHEMA IF EXISTS app;\nCREATE SCHEMA app;\n\\.\nCOMMIT;\n');
    }
  });
});

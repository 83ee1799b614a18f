import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrongboxError, UsageError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { parsePostgresUrl } from '../../src/sources/postgres/url.js';
import { customFormatProblem, dumpPostgres } from '../../src/sources/postgres/dump.js';
import { describePgDumpFailure, describePgRestoreFailure, describeRestoreSqlFailure } from '../../src/sources/postgres/failures.js';
import { postgresArtifactName, redactPostgresUrl } from '../../src/sources/postgres/index.js';
import { TailHolder } from '../../src/sources/postgres/tail-holder.js';
import { majorVersion, parseVersion } from '../../src/sources/postgres/versions.js';
import type { ToolFailure } from '../../src/sources/process.js';

const failure = (over: Partial<ToolFailure>): ToolFailure => ({ name: 'pg_dump', command: 'pg_dump', code: 1, signal: null, stderr: '', ...over });

describe('parsePostgresUrl', () => {
  it('splits a URL into database, host, a password-free URL and the password', () => {
    const t = parsePostgresUrl('postgres://app:s3cr%40t@db.example.com:6543/appdb?sslmode=require');
    expect(t).toEqual({
      database: 'appdb',
      host: 'db.example.com:6543',
      connectionUrl: 'postgres://app@db.example.com:6543/appdb?sslmode=require',
      password: 's3cr@t',
    });
  });

  it('accepts postgresql://, several hosts, socket hosts and a password given as a parameter', () => {
    expect(parsePostgresUrl('postgresql://u@h1:5432,h2:5433/db').host).toBe('h1:5432,h2:5433');
    expect(parsePostgresUrl('postgres:///db?host=/var/run/postgresql')).toMatchObject({ database: 'db', host: '/var/run/postgresql' });
    const t = parsePostgresUrl('postgres://u@h/db?password=hunter22&application_name=x%20y');
    expect(t.password).toBe('hunter22');
    expect(t.connectionUrl).toBe('postgres://u@h/db?application_name=x%20y');
    expect(parsePostgresUrl('postgres://u@h/my%20db').database).toBe('my db');
  });

  it('refuses URLs it cannot parse or that name no database, without echoing them', () => {
    for (const bad of ['mysql://u:topsecret@h/db', 'postgres://u:topsecret@h', 'postgres://u:topsecret@h/', 'not a url topsecret']) {
      let err: unknown;
      try {
        parsePostgresUrl(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(UsageError);
      expect((err as Error).message).not.toContain('topsecret');
    }
  });

  it('refuses a password with an unencoded "/" instead of taking half of it for the database name', () => {
    expect(() => parsePostgresUrl('postgres://u:abc/topsecret@h/db')).toThrow(UsageError);
    try {
      parsePostgresUrl('postgres://u:abc/topsecret@h/db');
    } catch (e) {
      expect((e as Error).message).not.toContain('topsecret');
    }
  });

  it('refuses sslpassword, which libpq would otherwise get through argv', () => {
    expect(() => parsePostgresUrl('postgres://u@h/db?sslpassword=x')).toThrow(/sslpassword/);
  });
});

describe('names and redaction', () => {
  it('derives the artifact name from the database, with safe characters only', () => {
    expect(postgresArtifactName('postgres://u:p@h/appdb')).toBe('postgres-appdb');
    expect(postgresArtifactName('postgres://u:p@h/My%20Shop%2Fprod')).toBe('postgres-My-Shop-prod');
    expect(postgresArtifactName('postgres://u:p@h/%2E%2E')).toBe('postgres-db');
  });

  it('removes passwords for logs and manifests, and never throws', () => {
    expect(redactPostgresUrl('postgres://app:hunter22@h:5432/db?password=x&sslmode=require')).toBe('postgres://app@h:5432/db?sslmode=require');
    expect(redactPostgresUrl('postgres://app:hunter22@h/')).not.toContain('hunter22');
  });
});

describe('versions', () => {
  it('reads versions from tool output', () => {
    expect(parseVersion('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)')).toBe('15.20');
    expect(parseVersion('17beta1')).toBe('17beta1');
    expect(majorVersion('9.6.24')).toBeCloseTo(9.6);
    expect(majorVersion('16.2')).toBe(16);
    expect(majorVersion('17beta1')).toBe(17);
  });
});

describe('describePgDumpFailure', () => {
  const where = 'database "shop" on db:5432';
  // Captured from pg_dump 15+, 12–14 and ≤ 11 respectively.
  const captured = [
    'pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 16.2 (Debian 16.2-1.pgdg120+2); pg_dump version: 15.20 (Debian 15.20-0+deb12u1)',
    'pg_dump: error: server version: 16.2; pg_dump version: 15.20\npg_dump: error: aborting because of server version mismatch',
    'pg_dump: server version: 16.2; pg_dump version: 15.20\npg_dump: aborting because of server version mismatch',
  ];
  it.each(captured)('names both versions of a mismatch and what to install (%#)', (stderr) => {
    const err = describePgDumpFailure(failure({ stderr }), where);
    expect(err.message).toContain('16.2');
    expect(err.message).toContain('15.20');
    expect(err.message).toContain(where);
    expect(err.message).toMatch(/install pg_dump 16 or newer/);
    expect(err.hint).toMatch(/postgresql-client-16/);
  });

  it('says a killed pg_dump left an incomplete dump', () => {
    const err = describePgDumpFailure(failure({ code: null, signal: 'SIGKILL' }), where);
    expect(err.message).toMatch(/killed by SIGKILL/);
    expect(err.message).toMatch(/incomplete/);
  });

  it('passes other failures on with pg_dump\'s own words', () => {
    const err = describePgDumpFailure(failure({ code: 1, stderr: 'pg_dump: error: query failed: ERROR:  permission denied for table secrets' }), where);
    expect(err.message).toMatch(/exit code 1/);
    expect(err.message).toMatch(/permission denied for table secrets/);
  });

  it('a table lock held elsewhere past --db-lock-timeout is named, in the dump and in the restore', () => {
    // pg_dump --lock-wait-timeout works through statement_timeout on its LOCK TABLE.
    const dump = describePgDumpFailure(
      failure({ stderr: 'pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dump: detail: Query was: LOCK TABLE public.items IN ACCESS SHARE MODE' }),
      where,
      120_000,
    );
    expect(dump.message).toBe(`pg_dump of ${where} waited longer than --db-lock-timeout (2m) for a lock on public.items that another session holds; nothing was committed`);
    expect(dump.hint).toMatch(/pg_blocking_pids.*--db-lock-timeout/);
    const emptying = describeRestoreSqlFailure(
      failure({ name: 'psql', code: 3, stderr: 'psql:<stdin>:40: ERROR:  could not empty database shop before the restore (at DROP TABLE public.keep CASCADE): canceling statement due to lock timeout' }),
      where,
      2_000,
    );
    expect(emptying.message).toMatch(/^the restore into database "shop" on db:5432 waited longer than --db-lock-timeout \(2s\) for a lock on public\.keep that another session holds; .*left unchanged$/);
    const script = describeRestoreSqlFailure(failure({ name: 'psql', code: 3, stderr: 'psql:<stdin>:9: ERROR:  canceling statement due to lock timeout' }), where, 2_000);
    expect(script.message).toMatch(/waited longer than --db-lock-timeout \(2s\) for a lock that another session holds/);
    // A statement timeout that is not pg_dump's LOCK TABLE stays what it is.
    expect(describePgDumpFailure(failure({ stderr: 'pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout' }), where).message).toMatch(/exit code 1/);
  });

  it('tells pg_restore failures apart: a too-old client, or a backup it could not read', () => {
    const old = describePgRestoreFailure(failure({ name: 'pg_restore', stderr: 'pg_restore: error: unsupported version (1.16) in file header' }), where);
    expect(old.message).toMatch(/too old.*1\.16/);
    const cut = describePgRestoreFailure(failure({ name: 'pg_restore', stderr: 'pg_restore: error: could not read from input file: end of file' }), where);
    expect(cut.message).toMatch(/^pg_restore failed with exit code 1 while reading the backup being restored into database "shop" on db:5432; .*left unchanged/);
    expect(cut.message).toMatch(/end of file/);
  });

  it('tells psql failures apart: SQL errors, a refused emptying, a psql older than pg_restore', () => {
    const sql = describeRestoreSqlFailure(failure({ name: 'psql', code: 3, stderr: 'psql:<stdin>:12: ERROR:  boom' }), where);
    expect(sql.message).toMatch(/^the restore into database "shop" on db:5432 failed \(psql exit code 3\); .*left unchanged:\n.*ERROR:  boom/);
    const owner = describeRestoreSqlFailure(failure({ name: 'psql', code: 3, stderr: 'ERROR:  could not empty database shop before the restore: must be owner of schema x' }), where);
    expect(owner.message).toMatch(/^could not empty database "shop" on db:5432 before restoring into it/);
    expect(owner.hint).toMatch(/owns its schemas/);
    const old = describeRestoreSqlFailure(failure({ name: 'psql', code: 3, stderr: 'psql:<stdin>:5: error: invalid command \\restrict' }), where);
    expect(old.message).toMatch(/psql is older than the pg_restore/);
    expect(old.hint).toMatch(/same PostgreSQL installation/);
  });
});

describe('customFormatProblem', () => {
  // The first bytes of a real `pg_dump -Fc` archive (format 1.14, custom).
  const real = Buffer.from('5047444d50010e000408010000000000', 'hex');

  it('accepts a custom-format header and rejects empty, foreign or other-format output', () => {
    expect(customFormatProblem(real)).toBeUndefined();
    expect(customFormatProblem(Buffer.alloc(0))).toMatch(/only 0 bytes/);
    expect(customFormatProblem(Buffer.from('--\n-- PostgreSQL database dump\n'))).toMatch(/no PGDMP signature/);
    const tar = Buffer.from(real);
    tar[10] = 3; // archTar
    expect(customFormatProblem(tar)).toMatch(/not custom/);
  });
});

describe('TailHolder', () => {
  it('releases everything but the last N bytes until the input has ended', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.integer({ min: 1, max: 500 }), (chunks, keep) => {
        const holder = new TailHolder(keep);
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        const early = Buffer.concat(chunks.flatMap((c) => holder.push(Buffer.from(c))));
        expect(early.length).toBe(Math.max(0, all.length - keep));
        expect(Buffer.concat([early, ...holder.rest()]).equals(all)).toBe(true);
      }),
    );
  });
});

describe('dumpPostgres with stand-in client tools', () => {
  let dir: string;
  const url = 'postgres://app:Hunter2-very-secret@db.invalid:5432/shop';
  const lines: string[] = [];
  const reporter = new ConsoleReporter({ verbose: true, write: (l) => lines.push(l) });

  async function tool(name: string, script: string): Promise<string> {
    const p = join(dir, name);
    await writeFile(p, `#!/bin/sh\n${script}\n`);
    await chmod(p, 0o755);
    return p;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-pgfake-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a server newer than pg_dump before dumping anything, naming both versions', async () => {
    const psql = await tool('psql-17', 'echo "17.2 (Debian 17.2-1.pgdg120+1)"');
    const pgDump = await tool('pg_dump-15', `[ "$1" = --version ] && { echo "pg_dump (PostgreSQL) 15.20"; exit 0; }; touch "${dir}/dumped"; exit 0`);
    const err = await dumpPostgres(url, reporter, { pgDump, psql, rowCounts: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/pg_dump 15\.20 is older than the PostgreSQL 17\.2 server/);
    expect((err as Error).message).toMatch(/install pg_dump 17 or newer/);
    await expect(import('node:fs/promises').then((f) => f.access(join(dir, 'dumped')))).rejects.toThrow();
  });

  it('fails a pg_dump that exits 0 without writing an archive (an empty dump never looks complete)', async () => {
    const psql = await tool('psql', 'echo 15.20');
    const pgDump = await tool('pg_dump-empty', '[ "$1" = --version ] && { echo "pg_dump (PostgreSQL) 15.20"; exit 0; }; exit 0');
    const dump = await dumpPostgres(url, reporter, { pgDump, psql, rowCounts: 'none' });
    await expect(buffer(dump.stream)).rejects.toThrow(/did not produce a custom-format archive \(only 0 bytes\)/);
    await expect(dump.completed).rejects.toThrow(/did not produce a custom-format archive/);
  });

  it('fails a dump whose pg_dump exits non-zero after writing data, masking the password in its stderr', async () => {
    const psql = await tool('psql', 'echo 15.20');
    const pgDump = await tool(
      'pg_dump-fails',
      '[ "$1" = --version ] && { echo "pg_dump (PostgreSQL) 15.20"; exit 0; }; printf "PGDMP\\001\\016\\000\\004\\010\\001"; head -c 100000 /dev/zero; echo "pg_dump: error: connection to server lost (password $PGPASSWORD)" >&2; exit 1',
    );
    const dump = await dumpPostgres(url, reporter, { pgDump, psql, rowCounts: 'none' });
    const streamErr = await buffer(dump.stream).catch((e: unknown) => e);
    const err = await dump.completed.catch((e: unknown) => e);
    expect(streamErr).toBe(err);
    expect((err as Error).message).toMatch(/pg_dump of database "shop" on db\.invalid:5432 failed with exit code 1/);
    expect((err as Error).message).toContain('connection to server lost (password ***)');
    expect((err as Error).message).not.toContain('Hunter2');
    expect(lines.join('\n')).not.toContain('Hunter2');
    expect(dump.details).toMatchObject({ engine: 'postgresql', serverVersion: '15.20', clientVersion: '15.20', database: 'shop', host: 'db.invalid:5432', dumpFormat: 'custom' });
  });

  it('says what to install when pg_dump is missing', async () => {
    const err = await dumpPostgres(url, reporter, { pgDump: join(dir, 'no-such-pg_dump') }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/pg_dump was not found/);
    expect((err as StrongboxError).hint).toMatch(/postgresql-client/);
  });
});

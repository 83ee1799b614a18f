import { access, chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrongboxError } from '../../src/shared/errors.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';
import { EMPTY_DATABASE_SQL, restoreScriptPrologue } from '../../src/sources/postgres/restore-script.js';
import { restorePostgres } from '../../src/sources/postgres/restore.js';

/**
 * restorePostgres with stand-in client tools, to pin down the order of events that keeps a
 * failed restore from committing: psql must never see the end of its input, nor the script's
 * tail (where pg_restore's COMMIT is), unless the input ended cleanly and pg_restore exited 0.
 * The stand-in psql copies its stdin to a file and writes `eof` only once it has read EOF;
 * it uses shell builtins only, so a SIGKILL stops it before it can. Like the real one it
 * prints the transaction id the prologue asks for, and the server's verdict on that
 * transaction (txid_status) is "committed" only if it read a COMMIT line.
 */
describe('restorePostgres with stand-in pg_restore and psql', () => {
  const password = 'Hunter2-very-secret';
  const url = `postgres://app:${password}@db.invalid:5432/shop`;
  let dir: string;
  let lines: string[];
  let reporter: ConsoleReporter;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-pgrestore-'));
    lines = [];
    reporter = new ConsoleReporter({ verbose: true, write: (l) => lines.push(l) });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function tool(name: string, body: string): Promise<string> {
    const p = join(dir, name);
    await writeFile(p, `#!/bin/bash\n{ printf '%s\\n' "$@"; echo "PGPASSWORD=$PGPASSWORD"; } >> "${dir}/${name}.args"\n${body}\n`);
    await chmod(p, 0o755);
    return p;
  }

  /**
   * Answers the emptiness query with `tables`, txid_status from what it saw; copies a script
   * to `script`, and `onLine` may act on each line.
   */
  function psql(onLine = '', tables = 3): Promise<string> {
    return tool(
      'psql',
      `prev=
for a in "$@"; do
  if [ "$prev" = -c ]; then
    case "$a" in
      *txid_status*) if [ -e "${dir}/committed" ]; then echo committed; else echo aborted; fi ;;
      *) echo ${tables} ;;
    esac
    exit 0
  fi
  prev=$a
done
: > "${dir}/script"
while IFS= read -r line || [ -n "$line" ]; do
  printf '%s\\n' "$line" >> "${dir}/script"
  case "$line" in
    *txid_current*) echo " strongbox-restore-xid:4242" ;;
    'COMMIT;') : > "${dir}/committed" ;;
  esac
  ${onLine}
done
echo eof > "${dir}/eof"`,
    );
  }

  const read = (name: string) => readFile(join(dir, name), 'utf8');
  /** What psql read; nothing if it was killed before it began. */
  const script = () => read('script').catch(() => '');
  const sawEof = () => access(join(dir, 'eof')).then(() => true, () => false);
  /** A stand-in archive: text, so the stand-in pg_restore (cat) passes it on as the "script". */
  const archive = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`).join('\n') + '\nCOMMIT;\n';

  it('sends BEGIN, the emptying and the whole script, ends psql\'s input, and asks the server whether it committed; only psql gets the password', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const body = archive(20000); // ~200 kB: more than either hold-back
    await restorePostgres(Readable.from([Buffer.from(body)]), url, { force: true, reporter, pgRestore, psql: await psql() });
    expect(await sawEof()).toBe(true);
    expect(restoreScriptPrologue(true)).toContain(EMPTY_DATABASE_SQL);
    expect(await read('script')).toBe(`${restoreScriptPrologue(true)}${body}`);
    expect(await read('pg_restore.args')).toBe('--single-transaction\n--file=-\n--no-owner\n--no-privileges\nPGPASSWORD=\n');
    // Three psql runs: is the target empty, the script, did its transaction commit.
    const psqlArgs = (await read('psql.args')).split('\n');
    expect(psqlArgs.filter((l) => l === '--dbname=postgres://app@db.invalid:5432/shop')).toHaveLength(3);
    expect(psqlArgs).toContain('--file=-');
    expect(psqlArgs.some((l) => l.includes('txid_status(4242)'))).toBe(true);
    expect(psqlArgs).not.toContain('--single-transaction');
    expect(psqlArgs.filter((l) => !l.startsWith('PGPASSWORD=')).join('\n')).not.toContain(password);
    expect(psqlArgs.filter((l) => l.startsWith('PGPASSWORD='))).toEqual(Array(3).fill(`PGPASSWORD=${password}`));
    expect(lines.join('\n')).not.toContain(password);
  });

  it("replaces the script's `SET lock_timeout = 0;` with the restore's own lock timeout", async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const body = `SET statement_timeout = 0;\nSET lock_timeout = 0;\n${archive(10)}`;
    await restorePostgres(Readable.from([Buffer.from(body)]), url, { force: false, reporter, pgRestore, psql: await psql('', 0), lockTimeoutMs: 2000 });
    const script = await read('script');
    expect(script).toContain("BEGIN;\nSET client_min_messages = error;\nSET lock_timeout = '2000ms';\n");
    expect(script).toContain(`SET statement_timeout = 0;\nSET lock_timeout = '2000ms';\n${archive(10)}`);
    expect(script).not.toContain('SET lock_timeout = 0;');
  });

  it('without force sends no emptying, and keeps owners when asked', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const body = archive(10);
    // Without force a target with tables is refused: this one has none.
    await restorePostgres(Readable.from([Buffer.from(body)]), url, { force: false, keepOwnership: true, reporter, pgRestore, psql: await psql('', 0) });
    expect(await read('script')).toBe(`BEGIN;\nSET client_min_messages = error;\nSET lock_timeout = '300000ms';\nSELECT 'strongbox-restore-xid:' || pg_catalog.txid_current();\n${body}`);
    expect(await read('pg_restore.args')).toBe('--single-transaction\n--file=-\nPGPASSWORD=\n');
  });

  it('when the input fails after its last byte, kills psql before its input ends and rejects with the input\'s error', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const body = Buffer.from(archive(20000));
    const input = new PassThrough();
    const restoring = restorePostgres(input, url, { force: true, reporter, pgRestore, psql: await psql() });
    restoring.catch(() => {});
    input.write(body);
    await new Promise((r) => setTimeout(r, 500)); // let everything but the held-back tails flow
    const upstream = new StrongboxError('checksum mismatch (simulated)');
    input.destroy(upstream);
    await expect(restoring).rejects.toBe(upstream);
    expect(await sawEof()).toBe(false);
    const got = await script();
    expect(got).toContain('line 100\n'); // psql was well into the script…
    expect(got).not.toContain('COMMIT;'); // …but never saw its tail
  });

  it('when pg_restore fails after writing its whole script, psql never sees the script\'s tail', async () => {
    const pgRestore = await tool('pg_restore', `cat\necho "pg_restore: error: could not read from input file: end of file (archive $PGPASSWORD)" >&2\nexit 1`);
    const err = await restorePostgres(Readable.from([Buffer.from(archive(20000))]), url, { force: true, reporter, pgRestore, psql: await psql() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/^pg_restore failed with exit code 1 while reading the backup being restored into database "shop" on db\.invalid:5432; .*left unchanged/);
    expect((err as Error).message).toContain('could not read from input file: end of file');
    expect(await sawEof()).toBe(false);
    expect(await script()).not.toContain('COMMIT;');
  });

  it('when psql fails, names the database with psql\'s masked words, and stops reading the input', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const failing = await psql(`[ "$line" = "line 50" ] && { echo "psql:<stdin>:9: ERROR:  boom near $PGPASSWORD" >&2; exit 3; }`);
    const input = new PassThrough();
    input.write(archive(20000)); // and never ended: the restore must not wait for it
    const err = await restorePostgres(input, url, { force: true, reporter, pgRestore, psql: failing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrongboxError);
    expect((err as Error).message).toMatch(/^the restore into database "shop" on db\.invalid:5432 failed \(psql exit code 3\); .*left unchanged/);
    expect((err as Error).message).toContain('ERROR:  boom near ***');
    expect((err as Error).message).not.toContain(password);
    expect(input.destroyed).toBe(true);
  });

  it('says why when the emptying of a forced restore is refused', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const refusing = await psql(`[ "$line" = "END" ] && { echo 'psql:<stdin>:40: ERROR:  could not empty database shop before the restore: must be owner of schema billing' >&2; exit 3; }`);
    const err = await restorePostgres(Readable.from([Buffer.from(archive(10))]), url, { force: true, reporter, pgRestore, psql: refusing }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^could not empty database "shop" on db\.invalid:5432 before restoring into it/);
    expect((err as Error).message).toContain('must be owner of schema billing');
    expect((err as StrongboxError).hint).toMatch(/database owner or a superuser/);
  });

  it('fails a psql that ends by itself before the script was complete, even after it was handed all of it', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    // Small enough to sit in the pipe's buffer at once: psql's exit comes after its input was ended.
    for (const lines of [20000, 50]) {
      const quitting = await psql('[ "$line" = "line 5" ] && exit 0');
      const err = await restorePostgres(Readable.from([Buffer.from(archive(lines))]), url, { force: true, reporter, pgRestore, psql: quitting }).catch((e: unknown) => e);
      expect(err, `${lines} lines`).toBeInstanceOf(StrongboxError);
      expect((err as Error).message).toMatch(/psql ended before the whole restore script reached it|did not commit \(its transaction 4242 is aborted\)/);
      expect((err as Error).message).toMatch(/database "shop" on db\.invalid:5432/);
    }
  });

  it('fails a restore whose script never committed, though psql read it all and exited 0', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const noCommit = Buffer.from(archive(100).replace('COMMIT;', 'SELECT 1;'));
    const err = await restorePostgres(Readable.from([noCommit]), url, { force: true, reporter, pgRestore, psql: await psql() }).catch((e: unknown) => e);
    expect(await sawEof()).toBe(true);
    expect((err as Error).message).toMatch(/^the restore into database "shop" on db\.invalid:5432 did not commit \(its transaction 4242 is aborted\)/);
  });

  it('warns when pg_restore is too old to fence off backslash commands in the dump (\\restrict)', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    await restorePostgres(Readable.from([Buffer.from(archive(10))]), url, { force: true, reporter, pgRestore, psql: await psql() });
    expect(lines.filter((l) => l.includes('CVE-2025-8714'))).toHaveLength(1);
    lines.length = 0;
    await restorePostgres(Readable.from([Buffer.from(`--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n${archive(10)}`)]), url, { force: true, reporter, pgRestore, psql: await psql() });
    expect(lines.join('\n')).not.toContain('CVE-2025-8714');
  });

  it('rolls back on abort: rejects with the reason, psql never sees EOF', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const input = new PassThrough();
    const abort = new AbortController();
    const restoring = restorePostgres(input, url, { force: true, reporter, pgRestore, psql: await psql(), signal: abort.signal });
    restoring.catch(() => {});
    input.write(archive(20000));
    await new Promise((r) => setTimeout(r, 300));
    const reason = new StrongboxError('cancelled');
    abort.abort(reason);
    await expect(restoring).rejects.toBe(reason);
    expect(await sawEof()).toBe(false);
  });

  it('says what to install when psql is missing', async () => {
    const pgRestore = await tool('pg_restore', 'exec cat');
    const err = await restorePostgres(Readable.from([Buffer.from(archive(10))]), url, { force: true, reporter, pgRestore, psql: join(dir, 'no-such-psql') }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/psql was not found/);
    expect((err as StrongboxError).hint).toMatch(/postgresql-client/);
  });
});

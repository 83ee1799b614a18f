import { StrongboxError } from '../../shared/errors.js';
import type { RowCounts } from '../adapter.js';
import { spawnTool, type RunningTool } from '../process.js';
import { childEnv, connectFailure, describe } from './connection.js';
import { COUNTS_MARK, parseRowCounts } from './row-count-sql.js';
import type { PgTarget } from './url.js';

/**
 * A psql session holding one REPEATABLE READ READ ONLY transaction open: it exports its
 * snapshot for `pg_dump --snapshot`, and counts rows in that same snapshot, so the counts are
 * those of the data pg_dump writes. The session must stay open until pg_dump has imported the
 * snapshot; it is kept until the dump has ended, then closed (COMMIT, EOF). A failing,
 * cancelled or killed run kills psql: a read-only transaction has nothing to roll back.
 */

const SNAPSHOT_MARK = 'strongbox-snapshot:';
const COUNTED_MARK = 'strongbox-counted';

function countFailure(where: string, why: string): StrongboxError {
  return new StrongboxError(`could not count the rows of ${where} in the dump's snapshot: ${why}`, {
    hint: /row-level security/.test(why)
      ? 'the role sees only some rows under row-level security: dump with --row-security (input row-security), or count with --row-counts estimate|none'
      : 'fix the cause above, or skip exact counting with --row-counts estimate|none (input row-counts)',
  });
}

export class SnapshotSession {
  private out = '';
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly run: RunningTool,
    private readonly where: string,
  ) {
    run.child.stdout!.setEncoding('utf8');
    run.child.stdout!.on('data', (s: string) => {
      // Bounded: only marked lines matter, and each is read before the next query is sent.
      this.out = (this.out + s).slice(-(16 << 20));
      for (const w of this.waiters.splice(0)) w();
    });
    run.child.stdin!.on('error', () => {}); // psql gone: its exit status says why
    run.exited.then(
      () => this.wake(),
      () => this.wake(),
    );
  }

  private wake(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
  }

  static open(t: PgTarget, psql: string, mask: (s: string) => string, opts: { rowSecurity: boolean; lockTimeoutMs: number; appName: string }): SnapshotSession {
    const run = spawnTool(psql, ['-X', '--no-password', '--no-align', '--tuples-only', '--quiet', '-v', 'ON_ERROR_STOP=1', '--file=-', `--dbname=${t.connectionUrl}`], {
      name: 'psql',
      env: { ...childEnv(t), PGAPPNAME: opts.appName },
      stdin: true,
      mask,
      describeFailure: (f) => (f.spawnError ? connectFailure(t)(f) : countFailure(describe(t), f.stderr || `psql exit code ${f.code ?? f.signal}`)),
    });
    const s = new SnapshotSession(run, describe(t));
    // pg_dump counts with row_security off unless --enable-row-security, and fails rather than
    // dump a filtered table; counting the same way fails the same way, and under
    // --row-security counts exactly the rows the role sees.
    s.send(
      `SET standard_conforming_strings = on;\nSET row_security = ${opts.rowSecurity ? 'on' : 'off'};\nSET lock_timeout = '${Math.max(1, Math.round(opts.lockTimeoutMs))}ms';\n` +
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT '${SNAPSHOT_MARK}' || pg_catalog.pg_export_snapshot();\n` +
        // From here a failing statement must not end the transaction: pg_dump may not have
        // imported the snapshot yet. Each statement gets its own savepoint instead.
        '\\set ON_ERROR_STOP 0\n\\set ON_ERROR_ROLLBACK on\n',
    );
    return s;
  }

  private failure(stderr: string): StrongboxError {
    return countFailure(this.where, stderr || 'psql printed no error');
  }

  private send(sql: string): void {
    if (!this.run.child.stdin!.destroyed) this.run.child.stdin!.write(sql);
  }

  /**
   * Resolves with the first output line starting with `mark`, or undefined when the line
   * `done` comes first (the statement before it failed); rejects with psql's failure if it ends first.
   */
  private async line(mark: string, done?: string): Promise<string | undefined> {
    for (;;) {
      const at = this.out.indexOf(mark);
      const end = at >= 0 ? this.out.indexOf('\n', at) : -1;
      if (end >= 0) {
        const line = this.out.slice(at, end);
        this.out = this.out.slice(end + 1);
        return line;
      }
      const d = done === undefined ? -1 : this.out.indexOf(done);
      if (d >= 0 && this.out.indexOf('\n', d) >= 0) return undefined;
      if (this.closed) {
        await this.run.exited; // rejects with psql's error
        throw new StrongboxError(`psql ended the snapshot session of ${this.where} before answering`);
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async snapshotId(): Promise<string> {
    const id = ((await this.line(SNAPSHOT_MARK)) ?? '').slice(SNAPSHOT_MARK.length).trim();
    if (!/^[0-9A-F-]+$/i.test(id)) throw new StrongboxError(`the server of ${this.where} exported a malformed snapshot id "${id}"`);
    return id;
  }

  /** Runs a {@link rowCountQuery} in the snapshot. */
  async count(sql: string): Promise<RowCounts> {
    this.send(`${sql}\nSELECT '${COUNTED_MARK}';\n`);
    const line = await this.line(COUNTS_MARK, COUNTED_MARK);
    if (line === undefined) throw this.failure(this.run.stderr());
    const counts = parseRowCounts(line);
    if (!counts) throw new StrongboxError(`could not read the row counts of ${this.where} (unexpected output from psql)`);
    return counts;
  }

  /** Ends the transaction and the session; never throws. */
  async close(): Promise<void> {
    const stdin = this.run.child.stdin!;
    if (!stdin.destroyed && !stdin.writableEnded) stdin.end('COMMIT;\n');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.run.exited.catch(() => {}), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    this.kill();
    await this.run.exited.catch(() => {});
  }

  kill(): void {
    if (this.run.child.exitCode === null && this.run.child.signalCode === null) this.run.child.kill('SIGKILL');
  }
}

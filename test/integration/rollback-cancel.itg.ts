import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/core/backup.js';
import type { Reporter } from '../../src/shared/reporter.js';
import { listBackups } from '../../src/core/repository.js';
import { rollback } from '../../src/core/rollback.js';
import { LocalDestination } from '../../src/destinations/local.js';
import { CancelledError, cancel, cancellationLine, resetCancellation } from '../../src/shared/cancel.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

/**
 * A rollback cancelled part-way, with a real PostgreSQL server and a local repository: the
 * one line printed must say what had already been replaced. The signal is simulated (cancel())
 * at a step the run reports, so the point is deterministic.
 */
const PASSPHRASE = 'a long enough test passphrase';
let work: string;
let db: TestDatabase;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-rollback-cancel-'));
  db = await createTestDatabase('rb_cancel');
});
afterAll(async () => {
  await db.drop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => resetCancellation());

/** Records every line and cancels (as a SIGINT would) when one matches `at`. */
function cancelAt(at: RegExp): Reporter & { lines: string[] } {
  const lines: string[] = [];
  const seen = (kind: string) => (m: string) => {
    lines.push(`${kind}: ${m}`);
    if (at.test(m)) cancel('SIGINT');
  };
  return { lines, debug: () => {}, info: seen('info'), warning: seen('warning'), error: seen('error'), setSecret: () => {} };
}

async function snapshot(name: string) {
  await db.sql('DROP TABLE IF EXISTS items; CREATE TABLE items (id int); INSERT INTO items SELECT generate_series(1, 10);');
  const files = join(work, name, 'uploads');
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'a.txt'), 'snapshot\n');
  const dest = new LocalDestination(join(work, name, 'repo'));
  const b = await backup({
    destinations: [dest],
    sources: [{ kind: 'postgres', location: db.url }, { kind: 'files', location: files }],
    encryption: { passphrase: PASSPHRASE },
    compression: { algorithm: 'gzip' },
    labels: ['pre-release'],
    origin: { host: 'test' },
    reporter: cancelAt(/^$/),
    init: true,
  } as Parameters<typeof backup>[0]);
  // The "release" to roll back.
  await db.sql('INSERT INTO items VALUES (11);');
  writeFileSync(join(files, 'a.txt'), 'release\n');
  return { dest, files, id: b.id };
}

const run = (dest: LocalDestination, files: string, reporter: Reporter, checkSql: string[] = []) =>
  rollback({
    destination: dest,
    selection: { selector: 'label:pre-release' },
    decrypt: { passphrase: PASSPHRASE },
    recipients: [],
    targets: { postgres: db.url, files },
    confirm: db.name,
    checkSql,
    origin: { host: 'test' },
    reporter,
  });

describe('a cancelled rollback says what it had changed', () => {
  it('cancelled after the database was restored, before the files: names both and keeps the safety backup', async () => {
    const { dest, files, id } = await snapshot('mid-restore');
    const reporter = cancelAt(/^ {2}restoring files-/);
    await expect(run(dest, files, reporter)).rejects.toThrow();
    const safety = (await listBackups(dest, reporter)).find((e) => e.complete && e.manifest?.labels.includes('pre-rollback'))!;
    expect(safety).toBeDefined();
    const line = cancellationLine('rollback')!;
    expect(line).toMatch(new RegExp(`^cancelled by SIGINT: rollback of ${db.name} to ${id} stopped, postgres-\\S+ → \\S+ had been restored; files-\\S+ → \\S+ was left unchanged; the safety backup ${safety.id} was kept \\(to undo: strongbox restore .*--backup ${safety.id} `));
    expect(line).not.toContain('the targets were left unchanged');
    // What the line says is what happened.
    expect((await db.sql('SELECT count(*) FROM items')).trim()).toBe('10');
    expect(readFileSync(join(files, 'a.txt'), 'utf8')).toBe('release\n');
    expect(readdirSync(join(work, 'mid-restore', 'repo'))).not.toContain('locks'); // the exclusive lock was released
  }, 60_000);

  it('cancelled during the smoke checks: a cancellation, not failed checks with advice to undo; the line says the targets were rolled back', async () => {
    const { dest, files, id } = await snapshot('checks');
    const reporter = cancelAt(/^Restored \d+ artifact/);
    const err = await run(dest, files, reporter, ['SELECT 1 FROM items']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(reporter.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(cancellationLine('rollback')).toMatch(new RegExp(`^cancelled by SIGINT: rollback of ${db.name} to ${id} stopped, the targets had been rolled back to ${id}, the smoke checks did not finish; the safety backup \\S+ was kept`));
    expect((await db.sql('SELECT count(*) FROM items')).trim()).toBe('10');
    expect(readFileSync(join(files, 'a.txt'), 'utf8')).toBe('snapshot\n');
  }, 60_000);
});

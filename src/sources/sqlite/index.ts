import { basename, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { UsageError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { SourceAdapter, SourceSpec } from '../adapter.js';
import { dumpSqlite } from './dump.js';
import { sqliteEngine } from './engine.js';
import { sqliteArtifactName } from './header.js';
import { restoreSqlite } from './restore.js';
import { checkSqliteSource } from './source-check.js';
import { checkSqliteTarget, isSqliteTargetEmpty, targetFile } from './target.js';

/**
 * SQLite databases. The artifact's plaintext is the database file itself, so
 * `age -d … | zstd -d > app.db` restores it with standard tools. How the copy stays consistent
 * and what it costs: dump.ts; how a restore replaces a database (and its -wal/-shm): restore.ts;
 * which engine runs where: engine.ts.
 */
export const sqliteAdapter: SourceAdapter = {
  kind: 'sqlite',
  sourceFlag: '--sqlite',
  targetFlag: '--sqlite-target',
  targetNoun: 'SQLite file',
  replaceHint: 'rerun with --force to replace the file with the backup (the old file stays in place until the new one, checked, is renamed over it)',
  extension: '.sqlite',
  artifactName: (spec: SourceSpec) => sqliteArtifactName(spec.location),
  async checkSource(spec) {
    await checkSqliteSource(spec.location);
  },
  dump: dumpSqlite,
  // The dump is a consistent copy of the file, so the file's size (with its WAL) is the estimate.
  async estimateSize(spec) {
    const sizes = await Promise.all(['', '-wal'].map((x) => stat(spec.location + x).then((s) => s.size, () => 0)));
    return { bytes: sizes[0]! + sizes[1]! };
  },
  sourceIdentity: (details) => (typeof details.path === 'string' ? details.path : ''),

  normalizeTarget: (target) => resolve(target),
  displayTarget: (target) => printable(target),
  confirmName: (target) => basename(resolve(target)),
  checkTarget: (target, ctx) => checkSqliteTarget(target, ctx.repository),
  isTargetEmpty: (target) => isSqliteTargetEmpty(target),
  async safetySource(target) {
    const path = await targetFile(target);
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) await checkSqliteTarget(target); // refuses it, naming the directory
    // Nothing to keep: no file, or an empty one (which no backup could take).
    return st?.isFile() && st.size > 0 ? { kind: 'sqlite', location: path } : undefined;
  },
  // The restore is staged in a file and proven before it is renamed into place.
  verifyBeforeRestore: false,
  restore: (input, target, artifact, ctx) => restoreSqlite(input, target, artifact, ctx),
  async countQueryRows(target, sql, ctx) {
    const path = await targetFile(target);
    if (!(await stat(path).catch(() => undefined))?.isFile()) throw new UsageError(`the SQLite target ${printable(target)} does not exist, so --check-sql cannot run on it`);
    const engine = await sqliteEngine();
    return engine.countRows(path, sql, { mode: 'readonly', busyTimeoutMs: ctx.lockTimeoutMs ?? 30_000 });
  },
};

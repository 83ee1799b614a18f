import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DRILL_ACTION_NAMES } from '../../src/config/drill.js';
import { drill } from '../../src/core/drill.js';
import { openDestination } from '../../src/destinations/index.js';
import { UsageError } from '../../src/shared/errors.js';
import { folderWriter, plantRepository } from '../helpers/history-fixtures.js';

/**
 * What a drill refuses before any scratch target exists or any artifact is read (exit 2): a
 * database artifact with no scratch target, an --only or a check NAME: that names nothing to
 * drill. A planted repository (postgres-app + files-media) is enough: nothing gets restored.
 */

let dir: string;
let repo: string;
let err: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-drill-plan-'));
  repo = join(dir, 'repo');
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  await plantRepository(folderWriter(repo), [{ at: 1, artifacts: ['files-media', 'postgres-app'] }]);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

// A server nobody listens on: reaching it would fail differently (exit 1), not with exit 2.
const NOBODY = 'postgres://u@127.0.0.1:1/';

describe('drill: refused up front', () => {
  it('a database artifact without --postgres-scratch is refused (exit 2) naming the flag and --only, not skipped with exit 0', async () => {
    expect(await main(['drill', '--from', repo], {})).toBe(2);
    expect(err).toContain('cannot be drilled completely, nothing was restored: postgres-app');
    expect(err).toContain('no --postgres-scratch given');
    expect(err).toMatch(/give --postgres-scratch \(an unset secret or variable expands to ""\), or drill only the others on purpose with --only NAME/);
    expect(err).not.toContain('Drilling');
  });

  it('the verify action\'s names appear instead of the flags (drill-postgres), with no --only to offer', async () => {
    const run = drill({ destination: openDestination(repo), selection: { selector: 'latest' }, scratch: {}, checkSql: [], keep: false, reporter: { debug() {}, info() {}, warning() {}, error() {}, setSecret() {} }, names: DRILL_ACTION_NAMES });
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow('no drill-postgres given');
    await expect(run).rejects.not.toThrow('--');
  });

  it('--only naming no artifact of the backup is refused, listing its artifacts', async () => {
    expect(await main(['drill', '--from', repo, '--only', 'warehouse'], {})).toBe(2);
    expect(err).toMatch(/--only warehouse: backup \S+ has no such artifact/);
    expect(err).toContain('its artifacts: files-media, postgres-app');
  });

  it('--check-sql NAME: naming no artifact, or one not drilled (left out by --only, or no database), is refused before any server is reached', async () => {
    expect(await main(['drill', '--from', repo, '--postgres-scratch', NOBODY, '--check-sql', 'warehouse:SELECT 1'], {})).toBe(2);
    expect(err).toMatch(/check-sql warehouse:SELECT 1: warehouse is no artifact of backup \S+/);
    err = '';
    expect(await main(['drill', '--from', repo, '--only', 'files-media', '--check-sql', 'postgres-app:SELECT 1'], {})).toBe(2);
    expect(err).toContain('postgres-app is not a database artifact drilled here');
    err = '';
    expect(await main(['drill', '--from', repo, '--postgres-scratch', NOBODY, '--check-sql', 'files-media:SELECT 1'], {})).toBe(2);
    expect(err).toContain('files-media is not a database artifact drilled here');
    expect(err).toContain('prefix a check with one of postgres-app and a colon');
  });
});

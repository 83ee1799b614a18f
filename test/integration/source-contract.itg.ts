import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceAdapters } from '../../src/sources/index.js';
import { runCli } from '../helpers/cli.js';
import type { ContractFixture } from '../helpers/source-contract.js';
import { filesFixture } from '../helpers/contract-fixtures/files.js';
import { mysqlFixture } from '../helpers/contract-fixtures/mysql.js';
import { postgresFixture } from '../helpers/contract-fixtures/postgres.js';
import { sqliteFixture } from '../helpers/contract-fixtures/sqlite.js';

/**
 * One suite every source adapter runs, through the CLI as a user would: a round trip is exact,
 * a failed dump commits nothing, a non-empty target is refused without --force, --force
 * replaces it, and a rollback whose --confirm does not repeat the target's name changes nothing.
 */
const fixtures: ContractFixture[] = [postgresFixture, mysqlFixture, sqliteFixture, filesFixture];
const PASS = 'contract-suite-passphrase-0123';
const env = { STRONGBOX_PASS: PASS };

/**
 * Sources stored only as collections have no single-stream round trip to run here; their own
 * suites (bucket.itg.ts, bucket-adapter.itg.ts) cover the round trip, the refusals and the shield.
 */
const COLLECTION_ONLY = ['bucket'];

it('every registered source adapter has a contract fixture', () => {
  for (const kind of COLLECTION_ONLY) expect(sourceAdapters.find((a) => a.kind === kind)?.collection, kind).toBeDefined();
  expect(fixtures.map((f) => f.kind).sort()).toEqual(sourceAdapters.map((a) => a.kind).filter((k) => !COLLECTION_ONLY.includes(k)).sort());
});

describe.each(fixtures)('source contract: $kind', (fx) => {
  let work: string;
  let repo: string;
  let source: { location: string; cleanup(): Promise<void> };
  let snapshot: string;
  const cleanups: (() => Promise<void>)[] = [];
  const cli = (args: string[]) => runCli(args, { env });
  const target = async () => {
    const t = await fx.makeTarget();
    cleanups.push(t.cleanup);
    return t.target;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), `sb-contract-${fx.kind}-`));
    await writeFile(join(work, 'not-empty'), '');
    repo = join(work, 'repo');
    source = await fx.makeSource();
    cleanups.push(source.cleanup);
    const r = await cli(['backup', '--to', repo, '--init', `--${fx.kind}`, source.location, '--passphrase-env', 'STRONGBOX_PASS', '--json']);
    expect(r.code, r.stderr).toBe(0);
    snapshot = (JSON.parse(r.stdout) as { id: string }).id;
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await rm(work, { recursive: true, force: true });
  });

  it('round trip: the restored target equals the source, and list names the artifact with its kind', async () => {
    const t = await target();
    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_PASS', `--${fx.kind}-target`, t, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).restored).toEqual([expect.objectContaining({ kind: fx.kind })]);
    expect(await fx.fingerprint(t)).toBe(await fx.fingerprint(source.location));
    const list = await cli(['list', '--from', repo, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { id: string; artifacts: { kind: string }[] }[];
    expect(listed.find((b) => b.id === snapshot)?.artifacts).toEqual([expect.objectContaining({ kind: fx.kind })]);
  });

  it('a failed dump commits nothing: non-zero exit, no new backup listed, nothing left behind', async () => {
    const failing = await fx.failingSource();
    cleanups.push(failing.cleanup);
    const before = (await readdir(repo)).sort();
    const r = await cli(['backup', '--to', repo, `--${fx.kind}`, failing.location, '--passphrase-env', 'STRONGBOX_PASS']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: /);
    expect((await readdir(repo)).sort()).toEqual(before);
  });

  it('a non-empty target is refused without --force (exit 7) and left unchanged; --force replaces it', async () => {
    const t = await target();
    await fx.fill(t);
    const filled = await fx.fingerprint(t);
    const r = await cli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_PASS', `--${fx.kind}-target`, t]);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toContain('--force');
    expect(await fx.fingerprint(t)).toBe(filled);
    const forced = await cli(['restore', '--from', repo, '--passphrase-env', 'STRONGBOX_PASS', `--${fx.kind}-target`, t, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await fx.fingerprint(t)).toBe(await fx.fingerprint(source.location));
  });

  it('rollback with a wrong --confirm changes nothing (exit 7); with the right name it returns the target to the snapshot', async () => {
    const t = await target();
    await fx.fill(t);
    const filled = await fx.fingerprint(t);
    const base = ['rollback', '--from', repo, '--backup', snapshot, '--passphrase-env', 'STRONGBOX_PASS', `--${fx.kind}-target`, t];
    const wrong = await cli([...base, '--confirm', `${fx.confirmName(t)}-typo`]);
    expect(wrong.code, wrong.stderr).toBe(7);
    expect(await fx.fingerprint(t)).toBe(filled);
    const right = await cli([...base, '--confirm', fx.confirmName(t), '--json']);
    expect(right.code, right.stderr).toBe(0);
    expect(await fx.fingerprint(t)).toBe(await fx.fingerprint(source.location));
    // The safety backup holds the state before the rollback: restoring it brings the filled data back.
    const { safetyBackupId } = JSON.parse(right.stdout) as { safetyBackupId: string };
    const back = await target();
    const undo = await cli(['restore', '--from', repo, '--backup', safetyBackupId, '--passphrase-env', 'STRONGBOX_PASS', `--${fx.kind}-target`, back]);
    expect(undo.code, undo.stderr).toBe(0);
    expect(await fx.fingerprint(back)).toBe(filled);
  });
});

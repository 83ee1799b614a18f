import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prune } from '../../src/core/prune.js';
import { readManifestWithBytes } from '../../src/core/repository.js';
import { applyRetentionBySeries, type RetentionPolicy } from '../../src/core/retention.js';
import type { Destination } from '../../src/destinations/types.js';
import {
  RecordingReporter,
  allKeys,
  backdateS3Object,
  expectedKeys,
  plantLock,
  s3Destination,
  seedBackups,
  startCli,
} from '../helpers/backup-fixtures.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { FaultDestination } from '../helpers/fault-destination.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3rver.js';

/**
 * Retention and locking against a real S3 server (s3rver on loopback), driven through the CLI
 * as separate processes. History is seeded with real backups whose clock is faked in-process,
 * so retention sees days of backups without waiting for them.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let s3: S3rverHandle;
let work: string;
let tree: string;
let bigTree: string;
let keyFile: string;
let recipient: string;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  s3 = await startS3rver();
  // The in-process S3 client (seeding, fault wrapper) finds credentials where the SDK looks.
  for (const [k, v] of Object.entries(s3.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  work = mkdtempSync(join(tmpdir(), 'strongbox-prune-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  writeFileSync(join(tree, 'sub', 'b.bin'), randomBytes(64 * 1024));
  // Big enough that the concurrent backup takes a while: a prune that did not wait for it
  // would see it half-written.
  bigTree = join(work, 'big');
  mkdirSync(bigTree);
  writeFileSync(join(bigTree, 'data.bin'), randomBytes(24 << 20));
  keyFile = join(work, 'key.txt');
  const kg = await runCli(['keygen', '--output', keyFile]);
  expect(kg.code).toBe(0);
  recipient = /age1[0-9a-z]+/.exec(kg.stderr)![0];
}, 120_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function s3Flags(): string[] {
  return ['--endpoint', s3.endpoint, '--path-style', '--region', 'us-east-1'];
}

function url(prefix: string): string {
  return `s3://${s3.bucket}/${prefix}`;
}

function cli(args: string[]): Promise<CliResult> {
  return runCli([...args, ...s3Flags()], { env: s3.env });
}

interface Listed {
  id: string;
  complete: boolean;
  startedAt?: string;
  labels: string[];
  artifacts: { name: string; kind: string; from?: string }[];
}

async function list(prefix: string, all = false): Promise<Listed[]> {
  const r = await cli(['list', '--from', url(prefix), '--json', ...(all ? ['--all'] : [])]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
}

const ids = (l: { id: string }[]) => l.map((b) => b.id);

async function pruneJson(prefix: string, flags: string[]): Promise<{ r: CliResult; json: PruneJson }> {
  const r = await cli(['prune', '--from', url(prefix), '--json', ...flags]);
  expect(r.code, r.stderr).toBe(0);
  return { r, json: JSON.parse(r.stdout) as PruneJson };
}

interface PruneJson {
  dryRun: boolean;
  kept: { id: string; reasons: string[] }[];
  removed: { id: string }[];
  incompleteRemoved: string[];
  incompleteKept: { id: string; reason: string }[];
  retained: { id: string; reason: string }[];
}

/** For every complete backup: its manifest and each artifact it names are all still stored. */
async function expectNoMissingParts(dest: Destination, listed: Listed[]): Promise<void> {
  const keys = new Set(await allKeys(dest));
  for (const b of listed) {
    const m = (await readManifestWithBytes(dest, b.id)).manifest;
    for (const k of expectedKeys(m)) expect(keys.has(k), `${k} of listed backup ${b.id}`).toBe(true);
  }
}

async function expectVerifies(prefix: string, id: string, deep = false): Promise<void> {
  const v = await cli(['verify', '--from', url(prefix), '--backup', id, ...(deep ? ['--deep', '--identity-file', keyFile] : [])]);
  expect(v.code, `verify ${id}: ${v.stderr}`).toBe(0);
}

function daysAgo(n: number): Date {
  return new Date(Date.now() - n * DAY);
}

describe('prune against a real S3 server', () => {
  it('two prunes and a backup at once: the lock serialises them and nothing listed goes missing', async () => {
    const prefix = 'concurrent';
    const dest = s3Destination(s3, prefix);
    await seedBackups(dest, [daysAgo(20), daysAgo(9), daysAgo(3), new Date(Date.now() - 50 * HOUR), new Date(Date.now() - 26 * HOUR)], { tree, recipient });
    const before = await list(prefix);
    expect(before).toHaveLength(5);

    // A fourth run holds the lock while the three start, so all three are provably running
    // (and waiting) at the same time; then it lets go and they race for it.
    const gate = await plantLock(dest, { refreshedAt: new Date().toISOString(), host: 'gate-keeper', operation: 'backup', exclusive: true });
    const wait = ['--lock-wait', '30s'];
    const env = s3.env;
    const runs = [
      startCli(['prune', '--from', url(prefix), '--keep-last', '2', '--json', ...wait, ...s3Flags()], env),
      startCli(['prune', '--from', url(prefix), '--keep-daily', '1', '--json', ...wait, ...s3Flags()], env),
      startCli(['backup', '--to', url(prefix), '--files', bigTree, '--recipient', recipient, '--label', 'concurrent', '--json', ...wait, ...s3Flags()], env),
    ];
    try {
      await Promise.all(runs.map((r) => r.waitForStderr(/Waiting up to 30s for the lock .*gate-keeper/, 90_000)));
    } finally {
      await dest.delete(gate);
    }
    const [p1, p2, b] = await Promise.all(runs.map((r) => r.done));
    for (const r of [p1!, p2!, b!]) expect(r.code, r.stderr).toBe(0);
    const newId = JSON.parse(b!.stdout).id as string;

    const after = await list(prefix);
    const newEntry = after.find((e) => e.id === newId);
    expect(newEntry, 'the new backup is listed').toBeDefined();

    // Serialised means: the outcome is that of running the three one after the other in some
    // order, and each prune saw exactly the repository its predecessors left (never a backup
    // half-written, never a state another prune was still changing). Try all six orders.
    const timeOf = new Map([...before, newEntry!].map((e) => [e.id, new Date(e.startedAt!)]));
    const seriesOf = new Map([...before, newEntry!].map((e) => [e.id, e.artifacts.map((a) => a.name).sort().join('+')]));
    const pruneRuns = [p1!, p2!].map((r) => JSON.parse(r.stdout) as PruneJson);
    const policies: RetentionPolicy[] = [{ keepLast: 2 }, { keepDaily: 1 }];
    const sorted = (xs: string[]) => [...xs].sort().join(',');
    const consistentOrders: string[][] = [];
    for (const order of permutations(['prune0', 'prune1', 'backup'])) {
      let state = ids(before);
      let consistent = true;
      for (const step of order) {
        if (step === 'backup') {
          state = [...state, newId];
          continue;
        }
        const n = Number(step.slice(-1));
        const seen = [...pruneRuns[n]!.kept, ...pruneRuns[n]!.removed].map((x) => x.id);
        if (sorted(seen) !== sorted(state)) consistent = false;
        // Retention applies per series (the set of artifact names): the new backup of another tree is its own series.
        const decision = applyRetentionBySeries(
          state.map((id) => ({ id, time: timeOf.get(id)!, complete: true, labels: [], series: seriesOf.get(id) })),
          policies[n]!,
          new Date(),
        );
        if (sorted(ids(pruneRuns[n]!.removed)) !== sorted(ids(decision.remove))) consistent = false;
        const keep = new Set(decision.keep.map((k) => k.id));
        state = state.filter((id) => keep.has(id));
      }
      if (consistent && sorted(state) === sorted(ids(after))) consistentOrders.push(order);
    }
    expect(consistentOrders, `prunes saw ${JSON.stringify(pruneRuns.map((p) => [ids(p.kept), ids(p.removed)]))}, final ${ids(after)}`).not.toEqual([]);
    for (const p of pruneRuns) expect([...p.incompleteKept.map((x) => x.id), ...p.incompleteRemoved], 'a prune saw a backup mid-upload').toEqual([]);
    const removedByPrunes = pruneRuns.flatMap((p) => ids(p.removed));
    expect(removedByPrunes.length).toBeGreaterThan(0);

    // No listed backup lost a part, every one verifies, and nothing else is left behind.
    await expectNoMissingParts(dest, after);
    for (const e of after) await expectVerifies(prefix, e.id, e.id === newId);
    const allowed = new Set(['strongbox.json']);
    for (const e of after) for (const k of expectedKeys((await readManifestWithBytes(dest, e.id)).manifest)) allowed.add(k);
    expect((await allKeys(dest)).filter((k) => !allowed.has(k)), 'no garbage, no leftover locks').toEqual([]);
  });

  it('keeps an incomplete backup that may still be running; removes one older than --incomplete-grace', async () => {
    const prefix = 'incomplete';
    const dest = s3Destination(s3, prefix);
    const [c1, c2] = await seedBackups(dest, [daysAgo(2), daysAgo(1)], { tree, recipient });
    // Incomplete backups: real artifacts, no manifest (an interrupted run, or one still uploading).
    const makeIncomplete = async (startedAt: Date, ageMs: number) => {
      const [id] = await seedBackups(dest, [startedAt], { tree, recipient });
      await dest.delete(`${id}/manifest.json`);
      for (const k of await allKeys(dest, `${id!}/`)) if (ageMs) backdateS3Object(s3, prefix, k, ageMs);
      return id!;
    };
    const old = await makeIncomplete(new Date(Date.now() - 40 * HOUR), 30 * HOUR);
    const mid = await makeIncomplete(new Date(Date.now() - 5 * HOUR), 3 * HOUR);
    const running = await makeIncomplete(new Date(), 0);
    const keysOf = async (id: string) => allKeys(dest, `${id}/`);
    const runningKeys = await keysOf(running);
    expect(runningKeys.length).toBeGreaterThan(0);

    // Default grace (24 h): only the 30-hour-old leftovers go. The incomplete backups are the
    // newest folders, yet take no retention slot: the newest complete backup is the one kept.
    const first = await pruneJson(prefix, ['--keep-last', '1']);
    expect(ids(first.json.kept)).toEqual([c2]);
    expect(ids(first.json.removed)).toEqual([c1]);
    expect(first.json.incompleteRemoved).toEqual([old]);
    expect(ids(first.json.incompleteKept).sort()).toEqual([mid, running].sort());
    expect(await keysOf(old)).toEqual([]);
    expect(await keysOf(mid)).not.toEqual([]);
    expect(await keysOf(running)).toEqual(runningKeys);

    // A shorter grace collects the 3-hour-old one; the one written moments ago stays untouched.
    const second = await pruneJson(prefix, ['--keep-last', '1', '--incomplete-grace', '2h']);
    expect(second.json.incompleteRemoved).toEqual([mid]);
    expect(ids(second.json.incompleteKept)).toEqual([running]);
    expect(await keysOf(mid)).toEqual([]);
    expect(await keysOf(running)).toEqual(runningKeys);
    expect((await list(prefix, true)).map((e) => [e.id, e.complete])).toEqual([
      [c2, true],
      [running, false],
    ]);
    await expectVerifies(prefix, c2!);
  });

  describe('locks', () => {
    const prefix = 'locks';
    let dest: Destination;
    let seeded: string[];
    beforeAll(async () => {
      dest = s3Destination(s3, prefix);
      seeded = await seedBackups(dest, [daysAgo(3), daysAgo(2), daysAgo(1)], { tree, recipient });
    });
    const lockKeys = () => allKeys(dest, 'locks/');

    it('a fresh lock is not broken: prune fails at once with exit 6, naming the holder, and deletes nothing', async () => {
      const key = await plantLock(dest, {
        refreshedAt: new Date().toISOString(),
        host: 'deploy-runner-3',
        pid: 31337,
        runId: '9876543210',
        operation: 'rollback',
        exclusive: true,
      });
      try {
        const keys = await allKeys(dest);
        const r = await cli(['prune', '--from', url(prefix), '--keep-last', '1']);
        expect(r.code).toBe(6);
        expect(r.stderr).toMatch(/is locked/);
        expect(r.stderr).toContain('host deploy-runner-3');
        expect(r.stderr).toContain('pid 31337');
        expect(r.stderr).toContain('rollback (exclusive)');
        expect(r.stderr).toContain('run 9876543210');
        expect(r.stderr).toMatch(/--lock-wait/);
        expect(await allKeys(dest)).toEqual(keys);
      } finally {
        await dest.delete(key);
      }
    });

    it('a lock left by a run killed 2 hours ago is stale: prune breaks it with a warning and goes on', async () => {
      const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
      const key = await plantLock(dest, {
        refreshedAt: twoHoursAgo.toISOString(),
        startedAt: new Date(Date.now() - 3 * HOUR).toISOString(),
        host: 'ci-runner-killed',
        pid: 4242,
        operation: 'backup',
        exclusive: false,
      });
      // The store's own clock must agree, as it does for an object written 2 hours ago.
      backdateS3Object(s3, prefix, key, 2 * HOUR);
      const { r, json } = await pruneJson(prefix, ['--keep-last', '3']);
      expect(r.stderr).toMatch(/warning: Removing a stale lock .*host ci-runner-killed, pid 4242.*not been refreshed for 2h/);
      expect(ids(json.kept)).toEqual([...seeded].reverse());
      expect(await lockKeys()).toEqual([]);
    });

    it('a 5-minute-old lock holds under the default stale timeout, and is broken with a shorter --lock-stale', async () => {
      const fiveMinutesAgo = new Date(Date.now() - 5 * 60_000);
      const key = await plantLock(dest, { refreshedAt: fiveMinutesAgo.toISOString(), host: 'slow-runner', pid: 777, operation: 'verify', exclusive: false });
      backdateS3Object(s3, prefix, key, 5 * 60_000);
      const blocked = await cli(['prune', '--from', url(prefix), '--keep-last', '2']);
      expect(blocked.code).toBe(6);
      expect(blocked.stderr).toContain('host slow-runner, pid 777');
      expect(await lockKeys()).toEqual([key]);
      expect(ids(await list(prefix))).toEqual(seeded);

      const { r, json } = await pruneJson(prefix, ['--keep-last', '2', '--lock-stale', '2m']);
      expect(r.stderr).toMatch(/warning: Removing a stale lock .*host slow-runner, pid 777.*stale after 2m/);
      expect(ids(json.removed)).toEqual([seeded[0]]);
      expect(await lockKeys()).toEqual([]);
      expect(ids(await list(prefix))).toEqual(seeded.slice(1));
    });
  });

  describe('policies', () => {
    const prefix = 'policy';
    let dest: Destination;
    let seeded: string[];
    beforeAll(async () => {
      dest = s3Destination(s3, prefix);
      seeded = await seedBackups(dest, [daysAgo(4), daysAgo(3), daysAgo(2), daysAgo(1)], { tree, recipient });
    });

    it('--dry-run shows what would go and deletes nothing', async () => {
      const keys = await allKeys(dest);
      const { json } = await pruneJson(prefix, ['--keep-last', '1', '--dry-run']);
      expect(json.dryRun).toBe(true);
      expect(ids(json.removed).sort()).toEqual(seeded.slice(0, 3).sort());
      expect(ids(json.kept)).toEqual([seeded[3]]);
      const text = await cli(['prune', '--from', url(prefix), '--keep-last', '1', '--dry-run']);
      expect(text.code).toBe(0);
      for (const id of seeded.slice(0, 3)) expect(text.stdout).toContain(`would remove ${id}`);
      expect(await allKeys(dest)).toEqual(keys);
    });

    it('an empty policy, or one of only zeros, is refused with exit 2 and deletes nothing', async () => {
      const keys = await allKeys(dest);
      const empty = await cli(['prune', '--from', url(prefix)]);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toMatch(/retention policy is empty/);
      expect(empty.stderr).toMatch(/--keep-daily/);
      const zero = await cli(['prune', '--from', url(prefix), '--keep-last', '0']);
      expect(zero.code).toBe(2);
      expect(zero.stderr).toMatch(/retention policy is empty/);
      const negative = await cli(['prune', '--from', url(prefix), '--keep-last', '-1']);
      expect(negative.code).toBe(2);
      expect(await allKeys(dest)).toEqual(keys);
    });

    it('a label-only policy whose label matches nothing is refused; with a rule that keeps only the newest, only it survives', async () => {
      // Labels as the only rule, matching nothing, would keep just the newest: refused before deleting (exit 2).
      const keys = await allKeys(dest);
      const refused = await cli(['prune', '--from', url(prefix), '--keep-last', '0', '--keep-label', 'no-such-label']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--keep-label no-such-label matches no backup/);
      expect(await allKeys(dest)).toEqual(keys);

      const { r, json } = await pruneJson(prefix, ['--keep-within', '1s', '--keep-label', 'no-such-label']);
      expect(r.stderr).toMatch(/warning: --keep-label no-such-label matches no backup/);
      expect(json.kept).toEqual([expect.objectContaining({ id: seeded[3], reasons: ['within'] })]);
      expect(ids(json.removed).sort()).toEqual(seeded.slice(0, 3).sort());
      expect(ids(await list(prefix))).toEqual([seeded[3]]);
      await expectNoMissingParts(dest, await list(prefix));
      await expectVerifies(prefix, seeded[3]!, true);
    });
  });

  it('delete denied (object lock, no permission): reported as retained, the run goes on and completes', async () => {
    const prefix = 'denied';
    const inner = s3Destination(s3, prefix);
    const [b1, b2, b3, b4] = await seedBackups(inner, [daysAgo(4), daysAgo(3), daysAgo(2), daysAgo(1)], { tree, recipient });
    // b3: nothing may be deleted. b2: the manifest may go, its data objects are locked.
    // Prune removes newest first (b3, b2, b1), so b1 shows the run went on after both refusals.
    const dest = new FaultDestination(inner, {
      denyDelete: (k) => k.startsWith(`${b3}/`) || (k.startsWith(`${b2}/`) && !k.endsWith('/manifest.json')),
    });
    const reporter = new RecordingReporter();
    const result = await prune({ destination: dest, policy: { keepLast: 1 }, dryRun: false, reporter });

    expect(ids(result.kept)).toEqual([b4]);
    expect(ids(result.removed)).toEqual([b1]);
    expect(ids(result.retained).sort()).toEqual([b2, b3].sort());
    for (const r of result.retained) expect(r.reason).toMatch(/Access Denied/);
    expect(reporter.lines.filter((l) => /warning: could not delete backup .* reported as retained, continuing/.test(l))).toHaveLength(2);
    expect(dest.denied.some((k) => k.startsWith(`${b3}/`))).toBe(true);
    expect(await allKeys(inner, 'locks/')).toEqual([]);

    // b3 is intact and still listed; b2 lost only its manifest, so it is unlisted garbage, never
    // a listed backup with missing parts; b1 is gone.
    const listed = await list(prefix);
    expect(ids(listed)).toEqual([b3, b4]);
    await expectNoMissingParts(inner, listed);
    await expectVerifies(prefix, b3!);
    expect((await list(prefix, true)).find((e) => e.id === b2)).toMatchObject({ complete: false });
    expect(await allKeys(inner, `${b1}/`)).toEqual([]);
  });
});

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

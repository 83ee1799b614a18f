import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { duBytes, type CaseDef, type CaseOutcome, type Context, type Runtime } from './cases.js';
import { putObjects, type BucketPlan, type IncrementalTree, type MembersTree } from './collection-data.js';
import type { RunMeasurement, RunSpec } from './measure.js';

/**
 * The collection cases (issue 8), `--only collections`:
 * - bucket: our first backup of an s3rver bucket against `rclone sync` of it into a bucket on a
 *   second s3rver; then 1 % of the objects rewritten and our second backup (with the state of the
 *   first); also rclone's second sync, and our third backup without a state (the fallback that
 *   reads every object again and deduplicates against the repository);
 * - tree: our `--incremental --state-dir` backups of the bench tree against restic's, first and
 *   second (1 % of the files rewritten in place in between, the same for both);
 * - members: peak RSS of a collection backup of N tiny files (1,000,000 in the full run), first,
 *   second (state-driven) and without a state.
 * Each family is a chain: its cases depend on each other within a round (see CaseDef.chain).
 */

const rm = (p: string) => rmSync(p, { recursive: true, force: true });

function cli(rt: Runtime, args: string[], env?: NodeJS.ProcessEnv, extra: Partial<RunSpec> = {}): RunSpec {
  return { command: rt.node, args: [...rt.cliArgs, ...args], captureStdout: true, ...(env ? { env } : {}), ...extra };
}

export interface BucketSide {
  endpoint: string;
  bucket: string;
  pid: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** s3rver's storage folder: a bucket is a folder in it (emptied and re-created between rounds). */
  directory: string;
}

export interface BucketContext {
  plan: BucketPlan;
  seed: string;
  source: BucketSide & { client: S3Client };
  /** rclone's destination: another s3rver, as "a bucket in another region" is another store. */
  target: BucketSide;
}

/** rclone remotes SRC: and DST: from the environment, no config file. */
function rcloneEnv(b: BucketContext): NodeJS.ProcessEnv {
  // AWS_CA_BUNDLE (set on this machine for HTTPS proxies) makes rclone refuse a plain-http endpoint.
  const env: NodeJS.ProcessEnv = { ...process.env, RCLONE_CONFIG: '/dev/null' };
  delete env.AWS_CA_BUNDLE;
  for (const [name, side] of [['SRC', b.source], ['DST', b.target]] as const) {
    Object.assign(env, {
      [`RCLONE_CONFIG_${name}_TYPE`]: 's3',
      [`RCLONE_CONFIG_${name}_PROVIDER`]: 'Other',
      [`RCLONE_CONFIG_${name}_ENDPOINT`]: side.endpoint,
      [`RCLONE_CONFIG_${name}_REGION`]: 'us-east-1',
      [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: side.accessKeyId,
      [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: side.secretAccessKey,
      [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`]: 'true',
    });
  }
  return env;
}

export function bucketCases(ctx: Context, rt: Runtime, b: BucketContext): CaseDef[] {
  const dir = join(ctx.work, 'collections-bucket');
  const repo = join(dir, 'repo');
  const state = join(dir, 'state');
  const { plan } = b;
  const url = `s3://${b.source.bucket}/${plan.prefix}?endpoint=${b.source.endpoint}&credentials=BENCHSRC`;
  const env = { ...process.env, BENCHSRC_ACCESS_KEY_ID: b.source.accessKeyId, BENCHSRC_SECRET_ACCESS_KEY: b.source.secretAccessKey };
  const ours = (withState: boolean) =>
    cli(rt, ['backup', '--to', repo, '--init', '--bucket', url, ...(withState ? ['--state-dir', state] : []), '--recipient', ctx.recipient, '--json'], env, { serverPids: [b.source.pid] });
  const changedObjects = plan.changed.map((i) => plan.objects[i]!);
  let mutated = false;
  let storedAfter = 0;
  const grown = (): CaseOutcome => {
    const now = duBytes(repo);
    const out = { storedBytes: now, grownBytes: now - storedAfter };
    storedAfter = now;
    return out;
  };
  const rc = rcloneEnv(b);
  const dstBucket = b.target.bucket;
  const rclone = (): RunSpec => ({ command: 'rclone', args: ['sync', `SRC:${b.source.bucket}/${plan.prefix}`, `DST:${dstBucket}/${plan.prefix}`], env: rc, serverPids: [b.source.pid, b.target.pid] });
  const common = { tool: 'strongbox' as const, node: rt.version, inputBytes: plan.bytes, inputMembers: plan.objects.length, runs: ctx.runs, chain: 'bucket' };
  return [
    {
      ...common,
      id: `bucket-first@${rt.version}`,
      kind: 'bucket-first',
      label: `strongbox backup --bucket, first (${plan.objects.length} objects)`,
      prepare: async () => {
        if (mutated) await putObjects(b.source.client, b.source.bucket, changedObjects, b.seed, 0);
        mutated = false;
        rm(repo);
        rm(state);
        mkdirSync(dir, { recursive: true });
        storedAfter = 0;
      },
      spec: () => ours(true),
      finish: () => grown(),
    },
    {
      ...common,
      id: 'rclone-sync-first',
      tool: 'rclone',
      node: undefined,
      kind: 'bucket-first',
      label: 'rclone sync bucket → empty bucket (another s3rver)',
      prepare: () => {
        rm(join(b.target.directory, dstBucket));
        mkdirSync(join(b.target.directory, dstBucket), { recursive: true });
      },
      spec: rclone,
    },
    {
      ...common,
      id: `bucket-second@${rt.version}`,
      kind: 'bucket-second',
      label: `strongbox backup --bucket, second (${plan.changed.length} objects changed, --state-dir)`,
      changedBytes: plan.changedBytes,
      prepare: async () => {
        await putObjects(b.source.client, b.source.bucket, changedObjects, b.seed, 1);
        mutated = true;
      },
      spec: () => ours(true),
      finish: () => grown(),
    },
    {
      ...common,
      id: 'rclone-sync-second',
      tool: 'rclone',
      node: undefined,
      kind: 'bucket-second',
      label: `rclone sync, second (${plan.changed.length} objects changed)`,
      changedBytes: plan.changedBytes,
      spec: rclone,
    },
    {
      ...common,
      id: `bucket-nostate@${rt.version}`,
      kind: 'bucket-second',
      variant: true,
      label: 'strongbox backup --bucket, third, no --state-dir (repository fallback)',
      spec: () => ours(false),
      finish: () => grown(),
    },
  ];
}

export function incrementalTreeCases(ctx: Context, rt: Runtime, tree: IncrementalTree): CaseDef[] {
  const dir = join(ctx.work, 'collections-tree');
  const repo = join(dir, 'repo');
  const state = join(dir, 'state');
  const resticRepo = join(dir, 'restic');
  const resticCache = join(dir, 'restic-cache');
  const renv = { ...process.env, RESTIC_PASSWORD: 'strongbox-bench', RESTIC_REPOSITORY: resticRepo, RESTIC_CACHE_DIR: resticCache };
  const ours = (withState: boolean) =>
    cli(rt, ['backup', '--to', repo, '--init', '--files', tree.path, '--incremental', ...(withState ? ['--state-dir', state] : []), '--recipient', ctx.recipient, '--json']);
  const sizes = new Map<string, number>();
  const grown = (path: string): CaseOutcome => {
    const now = duBytes(path);
    const out = { storedBytes: now, grownBytes: now - (sizes.get(path) ?? 0) };
    sizes.set(path, now);
    return out;
  };
  const common = { node: rt.version, inputBytes: tree.bytes, inputMembers: tree.files, runs: ctx.runs, chain: 'tree' };
  const restic = { ...common, tool: 'restic' as const, node: undefined };
  const changedText = `${tree.changed.length} files, ${(tree.changedBytes / 1e6).toFixed(1)} MB changed`;
  return [
    {
      ...common,
      id: `tree-first@${rt.version}`,
      tool: 'strongbox',
      kind: 'tree-first',
      label: 'strongbox backup --files --incremental, first',
      prepare: () => {
        tree.reset();
        rm(repo);
        rm(state);
        mkdirSync(dir, { recursive: true });
        sizes.delete(repo);
      },
      spec: () => ours(true),
      finish: () => grown(repo),
    },
    {
      ...restic,
      id: 'restic-tree-first',
      kind: 'tree-first',
      label: 'restic backup, first',
      prepare: () => {
        rm(resticRepo);
        rm(resticCache);
        const init = spawnSync('restic', ['init', '--quiet'], { env: renv, encoding: 'utf8' });
        if (init.status !== 0) throw new Error(`restic init failed: ${init.stderr}`);
        sizes.delete(resticRepo);
        sizes.set(resticRepo, duBytes(resticRepo));
      },
      spec: () => ({ command: 'restic', args: ['backup', '--quiet', tree.path], env: renv }),
      finish: () => grown(resticRepo),
    },
    {
      ...common,
      id: `tree-second@${rt.version}`,
      tool: 'strongbox',
      kind: 'tree-second',
      label: `strongbox backup --files --incremental, second (${changedText}, --state-dir)`,
      changedBytes: tree.changedBytes,
      prepare: () => tree.change(),
      spec: () => ours(true),
      finish: () => grown(repo),
    },
    {
      ...restic,
      id: 'restic-tree-second',
      kind: 'tree-second',
      label: `restic backup, second (${changedText})`,
      changedBytes: tree.changedBytes,
      spec: () => ({ command: 'restic', args: ['backup', '--quiet', tree.path], env: renv }),
      finish: () => grown(resticRepo),
    },
    {
      ...common,
      id: `tree-nostate@${rt.version}`,
      tool: 'strongbox',
      kind: 'tree-second',
      variant: true,
      label: 'strongbox backup --files --incremental, third, no --state-dir (repository fallback)',
      spec: () => ours(false),
      finish: () => grown(repo),
    },
  ];
}

/** Regular files under `dir` (find, so a million names never sit in one array). */
function countFiles(dir: string): number {
  const r = spawnSync('sh', ['-c', 'find "$1" -type f | wc -l', 'sh', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : -1;
}

/** Peak RSS of collection backups of many tiny files (first, second state-driven, without a state), then of their restore. */
export function membersCases(ctx: Context, rt: Runtime, tree: MembersTree): CaseDef[] {
  const dir = join(ctx.work, 'collections-members');
  const repo = join(dir, 'repo');
  const state = join(dir, 'state');
  const target = join(dir, 'restored');
  const ours = (withState: boolean) =>
    cli(rt, ['backup', '--to', repo, '--init', '--files', tree.path, '--incremental', ...(withState ? ['--state-dir', state] : []), '--recipient', ctx.recipient, '--json'], undefined, { sampleMs: 100 });
  let before = 0;
  const grown = (_r: number, m: RunMeasurement): CaseOutcome => {
    if (m.exitCode !== 0) return {};
    const now = duBytes(repo);
    const out = { storedBytes: now, grownBytes: now - before };
    before = now;
    return out;
  };
  const n = tree.members.toLocaleString('en-US');
  const common = { tool: 'strongbox' as const, kind: 'members' as const, node: rt.version, inputBytes: tree.bytes, inputMembers: tree.members, runs: 1, once: true, chain: 'members' };
  return [
    {
      ...common,
      id: `members-first@${rt.version}`,
      label: `strongbox backup --incremental, ${n} files, first`,
      prepare: () => {
        rm(repo);
        rm(state);
        mkdirSync(dir, { recursive: true });
        before = 0;
      },
      spec: () => ours(true),
      finish: grown,
    },
    { ...common, id: `members-second@${rt.version}`, label: `strongbox backup --incremental, ${n} files, second (--state-dir, nothing changed)`, spec: () => ours(true), finish: grown },
    { ...common, id: `members-nostate@${rt.version}`, label: `strongbox backup --incremental, ${n} files, third, no --state-dir (repository fallback)`, spec: () => ours(false), finish: grown },
    {
      // Issue 9: a restore's memory must not follow the file count either.
      ...common,
      id: `members-restore@${rt.version}`,
      label: `strongbox restore, ${n} files`,
      prepare: () => rm(target),
      spec: () => cli(rt, ['restore', '--from', repo, '--identity-file', ctx.keyFile, '--files-target', target], undefined, { sampleMs: 100 }),
      finish: (_r, m) => {
        const outcome = m.exitCode === 0 ? { verified: countFiles(target) === tree.members } : {};
        rm(target);
        return outcome;
      },
    },
  ];
}

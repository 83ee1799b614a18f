import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RunMeasurement, RunSpec } from './measure.js';
import { PG } from './pg.js';
import { mariadbDumpCommand } from './mysql.js';

/**
 * The measured cases. Each is one command run `runs` times; `prepare` and `finish` (untimed)
 * set up fresh outputs and check results. Cases run round-robin (round 1 of every case, then
 * round 2, …) so that a burst of load from the machine's other users spreads over all of them
 * instead of landing on one; within a round a backup precedes the verify/restore that read it.
 */

/** sdk: a bare AWS SDK upload (bench/s3-upload.ts), the floor of our S3 backup. */
export type Tool = 'strongbox' | 'pipeline' | 'restic' | 'rclone' | 'sdk';
export type Kind = 'backup' | 'restore' | 'verify' | 'pg-backup' | 'mysql-backup' | 'sqlite-backup' | 's3-backup' | 'memory' | CollectionKind;
/** The collection cases (bench/lib/collections.ts): reported in their own table. */
export type CollectionKind = 'bucket-first' | 'bucket-second' | 'tree-first' | 'tree-second' | 'members';
export const COLLECTION_KINDS: readonly Kind[] = ['bucket-first', 'bucket-second', 'tree-first', 'tree-second', 'members'];

export interface CaseOutcome {
  storedBytes?: number;
  /** Restores: the restored tree was compared with the original (diff -r) and is identical. */
  verified?: boolean;
  /** Second backups: the repository's growth over the first (its size after − before). */
  grownBytes?: number;
}

export interface CaseDef {
  id: string;
  tool: Tool;
  kind: Kind;
  label: string;
  /** e.g. "20.20.2" for our cases; undefined for the CLI tools. */
  node?: string;
  inputBytes: number;
  runs: number;
  /** Members (objects, files) the case reads: a collection case's rate is members per second. */
  inputMembers?: number;
  /** Second backups: the bytes of the members changed since the first. */
  changedBytes?: number;
  /** A diagnostic variant (other flags): shown, but not what the targets are checked on. */
  variant?: boolean;
  /**
   * Cases of one chain depend on each other within a round (a second backup needs the first):
   * an extra run of one of them re-runs the whole chain, in order.
   */
  chain?: string;
  /** Never given extra runs (one expensive run, e.g. the 1,000,000-member case). */
  once?: boolean;
  prepare?(round: number): void | Promise<void>;
  spec(round: number): RunSpec;
  finish?(round: number, m: RunMeasurement): CaseOutcome;
}

export interface Runtime {
  /** Path of the node binary and its version, e.g. "20.20.2". */
  node: string;
  version: string;
  /** Arguments to node before the strongbox arguments (the bundle, or tsx + sources). */
  cliArgs: string[];
}

export interface Context {
  work: string;
  keyFile: string;
  recipient: string;
  tree: { path: string; bytes: number };
  runs: number;
}

const rm = (p: string) => rmSync(p, { recursive: true, force: true });

export function duBytes(path: string): number {
  let total = 0;
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else total += st.size;
  };
  if (existsSync(path)) walk(path);
  return total;
}

/** A restored tree must be byte-identical to the original, or its throughput means nothing. */
export function sameTree(a: string, b: string): boolean {
  const r = spawnSync('diff', ['-r', '-q', '--no-dereference', a, b], { encoding: 'utf8' });
  return r.status === 0;
}

function strongboxJson(m: RunMeasurement): CaseOutcome {
  try {
    const out = JSON.parse(m.stdout) as { storedBytes?: number };
    return { storedBytes: out.storedBytes };
  } catch {
    return {};
  }
}

const bash = (script: string, env?: NodeJS.ProcessEnv): RunSpec => ({ command: 'bash', args: ['-c', `set -euo pipefail; ${script}`], env });
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Our backup → verify --deep → restore of the tree, on one Node runtime; with `variants`, also
 * a backup with --confirm-upload size, which shows what reading the stored object back costs.
 */
export function strongboxCases(ctx: Context, rt: Runtime, variants = false): CaseDef[] {
  const dir = join(ctx.work, `strongbox-node${rt.version}`);
  const repo = (r: number) => join(dir, `repo-${r}`);
  const target = join(dir, 'restored');
  const cli = (...args: string[]): RunSpec => ({ command: rt.node, args: [...rt.cliArgs, ...args], captureStdout: true });
  /** A restore of each round's backup into `target`, checked identical to the tree once; `env` makes it a variant. */
  const restoreCase = (suffix: string, label: string, env?: NodeJS.ProcessEnv): CaseDef => ({
    id: `strongbox-restore${suffix}@${rt.version}`,
    tool: 'strongbox',
    kind: 'restore',
    label,
    node: rt.version,
    inputBytes: ctx.tree.bytes,
    runs: ctx.runs,
    ...(env ? { variant: true } : {}),
    prepare: () => rm(target),
    spec: (r) => {
      const spec = cli('restore', '--from', repo(r), '--identity-file', ctx.keyFile, '--files-target', target);
      return env ? { ...spec, env: { ...process.env, ...env } } : spec;
    },
    finish: (r, m) => {
      const outcome = r === 1 && m.exitCode === 0 ? { verified: sameTree(ctx.tree.path, target) } : {};
      rm(target);
      return outcome;
    },
  });
  const cases: CaseDef[] = [
    {
      id: `strongbox-backup@${rt.version}`,
      tool: 'strongbox',
      kind: 'backup',
      label: 'strongbox backup → local',
      node: rt.version,
      inputBytes: ctx.tree.bytes,
      runs: ctx.runs,
      prepare: (r) => {
        rm(repo(r - 1));
        rm(repo(r));
        mkdirSync(dir, { recursive: true });
      },
      spec: (r) => cli('backup', '--to', repo(r), '--init', '--files', ctx.tree.path, '--recipient', ctx.recipient, '--json'),
      finish: (_r, m) => strongboxJson(m),
    },
    {
      id: `strongbox-verify@${rt.version}`,
      tool: 'strongbox',
      kind: 'verify',
      label: 'strongbox verify --deep',
      node: rt.version,
      inputBytes: ctx.tree.bytes,
      runs: ctx.runs,
      spec: (r) => cli('verify', '--from', repo(r), '--deep', '--identity-file', ctx.keyFile),
    },
    restoreCase('', 'strongbox restore ← local'),
  ];
  if (variants) {
    const sizeRepo = join(dir, 'repo-size-only');
    cases.splice(1, 0, {
      id: `strongbox-backup-confirm-size@${rt.version}`,
      tool: 'strongbox',
      kind: 'backup',
      label: 'strongbox backup → local, --confirm-upload size',
      node: rt.version,
      inputBytes: ctx.tree.bytes,
      runs: ctx.runs,
      variant: true,
      prepare: () => {
        rm(sizeRepo);
        mkdirSync(dir, { recursive: true });
      },
      spec: () => cli('backup', '--to', sizeRepo, '--init', '--files', ctx.tree.path, '--recipient', ctx.recipient, '--confirm-upload', 'size', '--json'),
      finish: (_r, m) => {
        rm(sizeRepo);
        return strongboxJson(m);
      },
    });
    // The restore's other engine: node-tar, where no GNU tar is on PATH (src/sources/files/gnu-tar.ts).
    cases.push(restoreCase('-node-tar', 'strongbox restore ← local, node-tar engine', { STRONGBOX_TAR_ENGINE: 'node' }));
  }
  return cases;
}

/** tar | zstd -3 -T2 | age, and back: what a careful person would script by hand. */
export function pipelineCases(ctx: Context): CaseDef[] {
  const dir = join(ctx.work, 'pipeline');
  const out = (r: number) => join(dir, `tree-${r}.tar.zst.age`);
  const target = join(dir, 'restored');
  const parent = dirname(ctx.tree.path);
  const name = basename(ctx.tree.path);
  return [
    {
      id: 'pipeline-backup',
      tool: 'pipeline',
      kind: 'backup',
      label: 'tar | zstd -3 -T2 | age -r',
      inputBytes: ctx.tree.bytes,
      runs: ctx.runs,
      prepare: (r) => {
        rm(out(r - 1));
        mkdirSync(dir, { recursive: true });
      },
      spec: (r) => bash(`tar -cf - -C ${q(parent)} ${q(name)} | zstd -3 -T2 -q | age -r ${ctx.recipient} > ${q(out(r))}`),
      finish: (r) => ({ storedBytes: duBytes(out(r)) }),
    },
    {
      id: 'pipeline-restore',
      tool: 'pipeline',
      kind: 'restore',
      label: 'age -d | zstd -d | tar -x',
      inputBytes: ctx.tree.bytes,
      runs: ctx.runs,
      prepare: () => {
        rm(target);
        mkdirSync(target, { recursive: true });
      },
      spec: (r) => bash(`age -d -i ${q(ctx.keyFile)} ${q(out(r))} | zstd -d -q | tar -xf - -C ${q(target)}`),
      finish: (r, m) => {
        const outcome = r === 1 && m.exitCode === 0 ? { verified: sameTree(ctx.tree.path, join(target, name)) } : {};
        rm(target);
        return outcome;
      },
    },
  ];
}

/** restic backup into a fresh local repository (init untimed), and restore latest. */
export function resticCases(ctx: Context): CaseDef[] {
  const dir = join(ctx.work, 'restic');
  const repo = join(dir, 'repo');
  const cache = join(dir, 'cache');
  const target = join(dir, 'restored');
  const env = { ...process.env, RESTIC_PASSWORD: 'strongbox-bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: cache };
  return [
    {
      id: 'restic-backup',
      tool: 'restic',
      kind: 'backup',
      label: 'restic backup',
      inputBytes: ctx.tree.bytes,
      runs: ctx.runs,
      prepare: () => {
        rm(repo);
        rm(cache);
        const init = spawnSync('restic', ['init', '--quiet'], { env, encoding: 'utf8' });
        if (init.status !== 0) throw new Error(`restic init failed: ${init.stderr}`);
      },
      spec: () => ({ command: 'restic', args: ['backup', '--quiet', ctx.tree.path], env }),
      finish: () => ({ storedBytes: duBytes(repo) }),
    },
    {
      id: 'restic-restore',
      tool: 'restic',
      kind: 'restore',
      label: 'restic restore',
      inputBytes: ctx.tree.bytes,
      runs: ctx.runs,
      prepare: () => rm(target),
      spec: () => ({ command: 'restic', args: ['restore', 'latest', '--quiet', '--target', target], env }),
      finish: (r, m) => {
        const outcome = r === 1 && m.exitCode === 0 ? { verified: sameTree(ctx.tree.path, join(target, ctx.tree.path)) } : {};
        rm(target);
        return outcome;
      },
    },
  ];
}

export interface PgContext {
  database: string;
  url: string;
  dumpBytes: number;
}

export function pgStrongboxCase(ctx: Context, pg: PgContext, rt: Runtime): CaseDef {
  const dir = join(ctx.work, `pg-strongbox-node${rt.version}`);
  const repo = (r: number) => join(dir, `repo-${r}`);
  return {
    id: `strongbox-pg@${rt.version}`,
    tool: 'strongbox',
    kind: 'pg-backup',
    label: 'strongbox backup --postgres',
    node: rt.version,
    inputBytes: pg.dumpBytes,
    runs: ctx.runs,
    prepare: (r) => {
      rm(repo(r - 1));
      rm(repo(r));
      mkdirSync(dir, { recursive: true });
    },
    spec: (r) => ({ command: rt.node, args: [...rt.cliArgs, 'backup', '--to', repo(r), '--init', '--postgres', pg.url, '--recipient', ctx.recipient, '--json'], captureStdout: true, servers: ['postgres'] }),
    finish: (_r, m) => strongboxJson(m),
  };
}

export function pgPipelineCase(ctx: Context, pg: PgContext): CaseDef {
  const dir = join(ctx.work, 'pg-pipeline');
  const out = join(dir, 'db.dump.zst.age');
  return {
    id: 'pipeline-pg',
    tool: 'pipeline',
    kind: 'pg-backup',
    label: 'pg_dump -Fc -Z0 | zstd -3 -T2 | age',
    inputBytes: pg.dumpBytes,
    runs: ctx.runs,
    prepare: () => {
      rm(dir);
      mkdirSync(dir, { recursive: true });
    },
    spec: () => ({ ...bash(`pg_dump -h ${PG.host} -p ${PG.port} -U ${PG.user} -Fc --compress=0 ${pg.database} | zstd -3 -T2 -q | age -r ${ctx.recipient} > ${q(out)}`), servers: ['postgres'] }),
    finish: () => ({ storedBytes: duBytes(out) }),
  };
}

export interface MysqlContext {
  database: string;
  url: string;
  dumpBytes: number;
}

/** Needs the core's `--mysql` flag (wired by the lead); until then this case fails and says so. */
export function mysqlStrongboxCase(ctx: Context, my: MysqlContext, rt: Runtime): CaseDef {
  const dir = join(ctx.work, `mysql-strongbox-node${rt.version}`);
  const repo = (r: number) => join(dir, `repo-${r}`);
  return {
    id: `strongbox-mysql@${rt.version}`,
    tool: 'strongbox',
    kind: 'mysql-backup',
    label: 'strongbox backup --mysql',
    node: rt.version,
    inputBytes: my.dumpBytes,
    runs: ctx.runs,
    prepare: (r) => {
      rm(repo(r - 1));
      rm(repo(r));
      mkdirSync(dir, { recursive: true });
    },
    spec: (r) => ({ command: rt.node, args: [...rt.cliArgs, 'backup', '--to', repo(r), '--init', '--mysql', my.url, '--recipient', ctx.recipient, '--json'], captureStdout: true, servers: ['mariadbd'] }),
    finish: (_r, m) => strongboxJson(m),
  };
}

export function mysqlPipelineCase(ctx: Context, my: MysqlContext): CaseDef {
  const dir = join(ctx.work, 'mysql-pipeline');
  const out = join(dir, 'db.sql.zst.age');
  return {
    id: 'pipeline-mysql',
    tool: 'pipeline',
    kind: 'mysql-backup',
    label: 'mariadb-dump --single-transaction | zstd -3 -T2 | age',
    inputBytes: my.dumpBytes,
    runs: ctx.runs,
    prepare: () => {
      rm(dir);
      mkdirSync(dir, { recursive: true });
    },
    spec: () => ({ ...bash(`${mariadbDumpCommand(my.database)} | zstd -3 -T2 -q | age -r ${ctx.recipient} > ${q(out)}`), servers: ['mariadbd'] }),
    finish: () => ({ storedBytes: duBytes(out) }),
  };
}

export interface SqliteContext {
  path: string;
  sizeBytes: number;
}

/** `--sqlite PATH`: the online backup into a private spool, integrity_check, row counts, then the stream. */
export function sqliteStrongboxCase(ctx: Context, db: SqliteContext, rt: Runtime): CaseDef {
  const dir = join(ctx.work, `sqlite-strongbox-node${rt.version}`);
  const repo = (r: number) => join(dir, `repo-${r}`);
  return {
    id: `strongbox-sqlite@${rt.version}`,
    tool: 'strongbox',
    kind: 'sqlite-backup',
    label: 'strongbox backup --sqlite',
    node: rt.version,
    inputBytes: db.sizeBytes,
    runs: ctx.runs,
    prepare: (r) => {
      rm(repo(r - 1));
      rm(repo(r));
      mkdirSync(dir, { recursive: true });
    },
    spec: (r) => ({ command: rt.node, args: [...rt.cliArgs, 'backup', '--to', repo(r), '--init', '--sqlite', db.path, '--recipient', ctx.recipient, '--json'], captureStdout: true }),
    finish: (_r, m) => strongboxJson(m),
  };
}

/** What a person would script: a consistent copy with the shell's .backup, then compress and encrypt it. */
export function sqlitePipelineCase(ctx: Context, db: SqliteContext): CaseDef {
  const dir = join(ctx.work, 'sqlite-pipeline');
  const copy = join(dir, 'copy.db');
  const out = join(dir, 'db.sqlite.zst.age');
  return {
    id: 'pipeline-sqlite',
    tool: 'pipeline',
    kind: 'sqlite-backup',
    label: 'sqlite3 .backup; zstd -3 -T2 | age',
    inputBytes: db.sizeBytes,
    runs: ctx.runs,
    prepare: () => {
      rm(dir);
      mkdirSync(dir, { recursive: true });
    },
    spec: () => bash(`sqlite3 -readonly ${q(db.path)} ".backup ${q(copy)}" && zstd -3 -T2 -q < ${q(copy)} | age -r ${ctx.recipient} > ${q(out)} && rm ${q(copy)}`),
    finish: () => ({ storedBytes: duBytes(out) }),
  };
}

/** Our backup of a tree of another size: peak RSS must not follow the input size. */
export function memoryCase(ctx: Context, tree: { path: string; bytes: number }, rt: Runtime): CaseDef {
  const repo = join(ctx.work, `memory-node${rt.version}-${tree.bytes}`);
  return {
    id: `strongbox-memory-${tree.bytes}@${rt.version}`,
    tool: 'strongbox',
    kind: 'memory',
    label: `strongbox backup, ${(tree.bytes / 1e6).toFixed(0)} MB tree`,
    node: rt.version,
    inputBytes: tree.bytes,
    runs: 1,
    prepare: () => rm(repo),
    spec: () => ({ command: rt.node, args: [...rt.cliArgs, 'backup', '--to', repo, '--init', '--files', tree.path, '--recipient', ctx.recipient, '--json'], captureStdout: true }),
    finish: (_r, m) => {
      const outcome = strongboxJson(m);
      rm(repo);
      return outcome;
    },
  };
}

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { RunnerKind } from './cli-build.js';

export interface BenchArgs {
  size: number;
  quick: boolean;
  runs: number;
  seed: string;
  memorySizes: number[];
  families: Set<string>;
  pg: boolean;
  pgRows: number;
  mysql: boolean;
  mysqlRows: number;
  sqlite: boolean;
  sqliteRows: number;
  runner: RunnerKind | 'auto';
  extraNodes: string[];
  keep: boolean;
  settle: number;
  budgetSeconds: number;
  /** Collections: objects in the s3rver bucket, tiny files of the memory case (0: skip it), size of the incremental tree. */
  bucketObjects: number;
  members: number;
  incrementalSize: number;
}

export const FAMILIES = ['strongbox', 'pipeline', 'restic', 'pg', 'mysql', 'sqlite', 's3', 'memory', 'collections'] as const;
/** The second runtime to measure our cases on, when this machine has it. */
export const NODE24 = '/opt/node24/node_modules/.bin/node';

export const USAGE = `npm run bench -- [options]

  --size 600M          size of the mixed tree (K/M/G = 10^3/10^6/10^9 bytes)       [600M]
  --quick              1 run per case, no 2 GB memory step, no second Node runtime (< 3 min)
  --runs N             measured runs per case; the median is reported           [3; --quick 1]
  --seed S             seed of the generated data                               [strongbox-bench-1]
  --memory 100M,2G     extra tree sizes for the memory-flatness check           [100M,2G; --quick 100M]
  --only LIST          families to run: ${FAMILIES.join(',')}           [all]
  --no-pg              skip the PostgreSQL case
  --pg-rows N          rows in the benchmark database (~430 B of dump each)     [700000]
  --no-mysql           skip the MariaDB case
  --mysql-rows N       rows in the MariaDB benchmark database                   [700000]
  --no-sqlite          skip the SQLite case
  --sqlite-rows N      rows in the benchmark SQLite file (~430 B each)          [700000]
  --runner KIND        how to run strongbox: auto (fresh dist/, else a private bundle), dist, bundle, tsx
  --extra-node PATH    also run our cases on this node binary (repeatable)      [${NODE24} if present; not with --quick]
  --no-extra-node      only the node running the benchmark
  --settle S           before each run, wait up to S seconds for other processes to use < 0.3 cores  [5; --quick 2]
  --budget S           no extra runs (for runs disturbed by other load) after S seconds  [480; --quick 150]
  --bucket-objects N   collections: objects (1–100 KB) in the s3rver bucket, 0 to skip it [10000; --quick 2000]
  --members N          collections: tiny files of the memory case, 0 to skip it     [1000000; --quick 100000]
  --incremental-size S collections: size of the incremental tree (a copy)         [--size; --quick 100M]
  --keep               keep bench/out/work (repositories, restored trees) for inspection`;

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)B?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: "${text}" (e.g. 600M, 2G)`);
  const mult = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * mult);
}

export function readArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string', default: '600M' },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      seed: { type: 'string', default: 'strongbox-bench-1' },
      memory: { type: 'string' },
      only: { type: 'string' },
      'no-pg': { type: 'boolean', default: false },
      'pg-rows': { type: 'string', default: '700000' },
      'no-mysql': { type: 'boolean', default: false },
      'mysql-rows': { type: 'string', default: '700000' },
      'no-sqlite': { type: 'boolean', default: false },
      'sqlite-rows': { type: 'string', default: '700000' },
      runner: { type: 'string', default: 'auto' },
      'extra-node': { type: 'string', multiple: true },
      'no-extra-node': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      settle: { type: 'string' },
      budget: { type: 'string' },
      'bucket-objects': { type: 'string' },
      members: { type: 'string' },
      'incremental-size': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick!;
  const runs = values.runs ? Number(values.runs) : quick ? 1 : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const families = new Set(values.only ? values.only.split(',').map((s) => s.trim()) : FAMILIES);
  for (const f of families) if (!(FAMILIES as readonly string[]).includes(f)) throw new Error(`unknown family "${f}" in --only (${FAMILIES.join(', ')})`);
  const runner = values.runner!;
  if (!['auto', 'dist', 'bundle', 'tsx'].includes(runner)) throw new Error('--runner is one of auto, dist, bundle, tsx');
  let extraNodes = values['extra-node'] ?? [];
  if (values['no-extra-node']) extraNodes = [];
  else if (!values['extra-node'] && !quick && existsSync(NODE24)) extraNodes = [NODE24];
  return {
    size: parseSize(values.size!),
    quick,
    runs,
    seed: values.seed!,
    memorySizes: (values.memory ?? (quick ? '100M' : '100M,2G')).split(',').filter(Boolean).map(parseSize),
    families,
    pg: !values['no-pg'],
    pgRows: Number(values['pg-rows']),
    mysql: !values['no-mysql'],
    mysqlRows: Number(values['mysql-rows']),
    sqlite: !values['no-sqlite'],
    sqliteRows: Number(values['sqlite-rows']),
    runner: runner as BenchArgs['runner'],
    extraNodes,
    keep: values.keep!,
    settle: values.settle !== undefined ? Number(values.settle) : quick ? 2 : 5,
    budgetSeconds: values.budget !== undefined ? Number(values.budget) : quick ? 150 : 480,
    bucketObjects: Number(values['bucket-objects'] ?? (quick ? 2000 : 10_000)),
    members: Number(values.members ?? (quick ? 100_000 : 1_000_000)),
    incrementalSize: parseSize(values['incremental-size'] ?? (quick ? '100M' : values.size!)),
  };
}

/**
 * `npm run bench -- [--size 600M] [--quick] …` — Strongbox's backup, verify and restore
 * throughput and peak memory against `tar | zstd | age` and restic, on the same data, in one
 * run. See bench/README.md. The benchmark reports; it never fails on a missed target.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { USAGE, readArgs, type BenchArgs } from './lib/args.js';
import { bundleScript, prepareRunner } from './lib/cli-build.js';
import {
  memoryCase,
  mysqlPipelineCase,
  mysqlStrongboxCase,
  pgPipelineCase,
  pgStrongboxCase,
  pipelineCases,
  sqlitePipelineCase,
  sqliteStrongboxCase,
  resticCases,
  strongboxCases,
  type CaseDef,
  type Context,
  type MysqlContext,
  type PgContext,
  type Runtime,
  type SqliteContext,
} from './lib/cases.js';
import { measure, settle } from './lib/measure.js';
import { pageReporting, probeNewFileWrite } from './lib/new-file-write.js';
import { bucketCases, incrementalTreeCases, membersCases, type BucketContext } from './lib/collections.js';
import { bucketPlan, createBucket, ensureMembersTree, incrementalTree, putObjects, s3Client, type IncrementalTree, type MembersTree } from './lib/collection-data.js';
import { startBenchS3, type BenchS3 } from './lib/s3.js';
import { s3Cases, storedObjectOf, type S3Context } from './lib/s3-cases.js';
import { createBenchDatabase, dropBenchDatabase, dumpSize, pgAvailable } from './lib/pg.js';
import { createMysqlBenchDatabase, dropMysqlBenchDatabase, mysqlAvailable, mysqlDumpSize } from './lib/mysql.js';
import { createBenchSqlite, sqliteAvailable } from './lib/sqlite.js';
import { QUIET_CORES, markdown, record, summarize, targets, type CaseResult, type Machine, type RunRecord } from './lib/report.js';
import { ensureTree, warmTree, type TreeInfo } from './lib/tree.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const outDir = join(here, 'out');
const PG_DATABASE = 'strongbox_bench';
const MYSQL_DATABASE = 'strongbox_bench';

const log = (line: string) => process.stderr.write(`${line}\n`);

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unavailable';
  }
}

function machine(runner: string, nodes: string[]): Machine {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const dirty = sh('git', ['-C', repo, 'status', '--porcelain', '--', 'src']) !== '';
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpu,
    memoryBytes: totalmem(),
    kernel: release(),
    node: nodes,
    tools: {
      restic: sh('restic', ['version']).split(' ').slice(0, 2).join(' '),
      zstd: /v[\d.]+/.exec(sh('zstd', ['--version']))?.[0] ?? 'unavailable',
      age: sh('age', ['--version']),
      tar: sh('tar', ['--version']).split('\n')[0]!,
      pg_dump: sh('pg_dump', ['--version']),
      mariadb_dump: sh('mariadb-dump', ['--version']),
      sqlite3: sh('sqlite3', ['-version']).split(' ')[0]!,
    },
    git: `git ${sh('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'])}${dirty ? ' + uncommitted changes in src/' : ''}`,
    runner,
    loadAverage: { start: loadavg() },
  };
}

function nodeVersion(node: string): string {
  return sh(node, ['-p', 'process.versions.node']);
}

/** One measured run of a case: untimed prepare, sync, a quiet moment, the run, untimed checks. */
async function runOnce(c: CaseDef, round: number, attempt: number, settleSeconds: number): Promise<RunRecord> {
  try {
    await c.prepare?.(round);
  } catch (err) {
    log(`  ${c.id} round ${round}: setup failed: ${(err as Error).message}`);
    return { round: attempt, ok: false, wallSeconds: NaN, cpuSeconds: NaN, peakRssBytes: NaN, peakRssSumBytes: NaN, samples: 0, othersCores: NaN, loadAvg1: NaN, error: `setup failed: ${(err as Error).message}` };
  }
  // Write back the previous case's output now, so it is not billed to this one.
  spawnSync('sync');
  // Other engineers share this machine: start in a quiet moment when there is one.
  await settle(settleSeconds);
  const m = await measure(c.spec(round));
  let outcome = {};
  try {
    outcome = c.finish?.(round, m) ?? {};
  } catch (err) {
    log(`  ${c.id}: result check failed: ${(err as Error).message}`);
  }
  const r = record(attempt, m, outcome);
  const rate = c.inputBytes / 1e6 / r.wallSeconds;
  const members = c.inputMembers !== undefined ? `${(c.inputMembers / r.wallSeconds).toFixed(0)} members/s, ` : '';
  log(
    `  [${attempt}/${c.runs}] ${c.label}${c.node ? ` (Node ${c.node})` : ''}: ${r.ok ? `${members}${rate.toFixed(0)} MB/s, ${r.wallSeconds.toFixed(2)} s, CPU ${r.cpuSeconds.toFixed(2)} s, peak RSS ${(r.peakRssBytes / 1e6).toFixed(0)} MB, others ${r.othersCores.toFixed(1)} cores, load avg ${r.loadAvg1.toFixed(2)}${r.grownBytes !== undefined ? `, repository +${(r.grownBytes / 1e6).toFixed(1)} MB` : ''}${r.verified === false ? ', RESTORED TREE DIFFERS' : ''}` : `FAILED ${r.error}`}`,
  );
  return r;
}

/**
 * Runs every case `runs` times, round-robin. Then, while time allows, a case with fewer than
 * `runs` quiet runs (others' load ≤ QUIET_CORES) is run again, up to `runs` extra times: on a
 * shared machine this is what keeps one case's figure from being another engineer's test run.
 * Extra attempts reuse the last round's state (the repository the last backup wrote).
 */
async function runAll(cases: CaseDef[], settleSeconds: number, deadline: number): Promise<CaseResult[]> {
  const runs = new Map<string, RunRecord[]>(cases.map((c) => [c.id, []]));
  const rounds = Math.max(...cases.map((c) => c.runs));
  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) if (round <= c.runs) runs.get(c.id)!.push(await runOnce(c, round, round, settleSeconds));
  }
  const quiet = (c: CaseDef) => runs.get(c.id)!.filter((r) => r.ok && r.othersCores <= QUIET_CORES).length;
  for (let extra = 1; extra <= rounds; extra++) {
    const short = cases.filter((c) => c.kind !== 'memory' && !c.once && quiet(c) < c.runs && runs.get(c.id)!.some((r) => r.ok));
    // A chain's cases depend on each other (a second backup on its first): re-run the whole chain.
    const chains = new Set(short.map((c) => c.chain).filter(Boolean));
    const todo = cases.filter((c) => short.includes(c) || (c.chain !== undefined && chains.has(c.chain)));
    if (!todo.length) break;
    for (const c of todo) {
      if (performance.now() > deadline) {
        log('  (time budget reached: no more extra runs)');
        return cases.map((x) => summarize(x, runs.get(x.id)!));
      }
      // A backup's extra run must come before its restore's, which reads what it wrote: keep case order.
      runs.get(c.id)!.push(await runOnce(c, c.runs, c.runs + extra, settleSeconds));
    }
  }
  return cases.map((c) => summarize(c, runs.get(c.id)!));
}

async function main(args: BenchArgs): Promise<void> {
  const started = performance.now();
  mkdirSync(outDir, { recursive: true });
  const work = join(outDir, 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  const runner = await prepareRunner(repo, outDir, args.runner);
  const runtimes: Runtime[] = [process.execPath, ...args.extraNodes].map((node) => ({ node, version: nodeVersion(node), cliArgs: runner.nodeArgs }));
  const info = machine(runner.description, runtimes.map((r) => r.version));
  log(`strongbox: ${runner.description}; Node ${runtimes.map((r) => r.version).join(', ')}; ${args.runs} run(s) per case`);

  // Data: the main tree, the memory-step trees, a key, the database.
  const cache = join(outDir, 'cache');
  mkdirSync(cache, { recursive: true });
  const treeSpec = (bytes: number) => ({ bytes, seed: args.seed, randomShare: 0.7, meanFileBytes: 300_000 });
  const tree = ensureTree(cache, treeSpec(args.size), log);
  const memTrees: TreeInfo[] = args.families.has('memory') ? args.memorySizes.filter((s) => s !== args.size).map((s) => ensureTree(cache, treeSpec(s), log)) : [];
  const keyFile = join(work, 'key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  const recipient = /public key: (age1[0-9a-z]+)/.exec(readFileSync(keyFile, 'utf8'))![1]!;
  const ctx: Context = { work, keyFile, recipient, tree: { path: tree.path, bytes: tree.bytes }, runs: args.runs };

  let pg: PgContext | undefined;
  const wantPg = args.pg && args.families.has('pg');
  if (wantPg && !pgAvailable()) log('PostgreSQL does not answer on 127.0.0.1:5432: skipping the pg_dump case');
  else if (wantPg) {
    log(`creating database ${PG_DATABASE} (${args.pgRows} rows)…`);
    const db = createBenchDatabase(PG_DATABASE, args.pgRows);
    pg = { database: db.database, url: db.url, dumpBytes: dumpSize(db.database) };
    log(`  ${(db.sizeBytes / 1e6).toFixed(0)} MB on disk, ${(pg.dumpBytes / 1e6).toFixed(0)} MB plaintext dump`);
  }

  let my: MysqlContext | undefined;
  const wantMysql = args.mysql && args.families.has('mysql');
  if (wantMysql && !mysqlAvailable()) log('MariaDB does not answer on 127.0.0.1:3306: skipping the mariadb-dump case');
  else if (wantMysql) {
    log(`creating MariaDB database ${MYSQL_DATABASE} (${args.mysqlRows} rows)…`);
    const db = createMysqlBenchDatabase(MYSQL_DATABASE, args.mysqlRows);
    my = { database: db.database, url: db.url, dumpBytes: mysqlDumpSize(db.database) };
    log(`  ${(db.sizeBytes / 1e6).toFixed(0)} MB on disk, ${(my.dumpBytes / 1e6).toFixed(0)} MB plaintext dump`);
  }

  // Collections: a bucket on s3rver (and another s3rver for rclone's copy), a private copy of a
  // tree that 1 % of changes between two backups, and a tree of many tiny files.
  const wantCollections = args.families.has('collections');
  const servers: BenchS3[] = [];
  // If the run dies before its cleanup, do not leave s3rver children behind.
  process.on('exit', () => servers.forEach((s) => { try { process.kill(s.pid); } catch { /* gone */ } }));
  let bucket: BucketContext | undefined;
  let incr: IncrementalTree | undefined;
  let members: MembersTree | undefined;
  if (wantCollections) {
    const itree = args.incrementalSize === args.size ? tree : ensureTree(cache, treeSpec(args.incrementalSize), log);
    log(`copying the ${(itree.bytes / 1e6).toFixed(0)} MB tree for the incremental case…`);
    incr = incrementalTree(itree.path, join(work, 'collections-tree-data'), args.seed);
    log(`  ${incr.files} files; ${incr.changed.length} of them (${(incr.changedBytes / 1e6).toFixed(1)} MB) change between the two backups`);
    if (args.members > 0) members = ensureMembersTree(cache, args.members, args.seed, log);
    if (args.bucketObjects > 0 && spawnSync('rclone', ['version']).status !== 0) log('rclone is not installed: the bucket case runs without its rclone comparison');
    if (args.bucketObjects > 0) try {
      const plan = bucketPlan(args.bucketObjects, args.seed);
      const src = await startBenchS3('source');
      servers.push(src);
      const dst = await startBenchS3('copy');
      servers.push(dst);
      const client = s3Client(src.endpoint, src.accessKeyId, src.secretAccessKey);
      const t0 = performance.now();
      log(`filling an s3rver bucket with ${plan.objects.length} objects (${(plan.bytes / 1e6).toFixed(0)} MB)…`);
      await putObjects(client, src.bucket, plan.objects, args.seed, 0);
      log(`  in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${plan.changed.length} objects (${(plan.bytes && plan.changedBytes / 1e6).toFixed(1)} MB) change before the second backup`);
      await createBucket(s3Client(dst.endpoint, dst.accessKeyId, dst.secretAccessKey), dst.bucket).catch(() => undefined);
      bucket = { plan, seed: args.seed, source: { ...src, client }, target: dst };
    } catch (err) {
      log(`s3rver could not be started or filled (${(err as Error).message}): skipping the bucket case`);
    }
  }

  // S3: our backup to an s3rver bucket against a bare lib-storage Upload of bytes it stored.
  let s3: S3Context | undefined;
  if (args.families.has('s3')) try {
    const server = await startBenchS3('backups');
    servers.push(server);
    await createBucket(s3Client(server.endpoint, server.accessKeyId, server.secretAccessKey), server.bucket).catch(() => undefined);
    const uploadScript = await bundleScript(join(here, 's3-upload.ts'), join(outDir, 'bundle-s3-upload', 's3-upload.js'));
    log('writing the stored object the bare S3 upload sends (one untimed backup)…');
    const stored = storedObjectOf(ctx, { node: process.execPath, version: '', cliArgs: runner.nodeArgs });
    s3 = { server, uploadScript, storedFile: stored.file, storedBytes: stored.bytes };
  } catch (err) {
    log(`the S3 case could not be set up (${(err as Error).message}): skipping it`);
  }

  let sqliteDb: SqliteContext | undefined;
  const wantSqlite = args.sqlite && args.families.has('sqlite');
  if (wantSqlite && !sqliteAvailable()) log('sqlite3 is not installed: skipping the SQLite case');
  else if (wantSqlite) {
    log(`creating the SQLite database (${args.sqliteRows} rows)…`);
    const db = createBenchSqlite(join(cache, `bench-${args.sqliteRows}.sqlite`), args.sqliteRows);
    sqliteDb = { path: db.path, sizeBytes: db.sizeBytes };
    log(`  ${(db.sizeBytes / 1e6).toFixed(0)} MB database file`);
  }

  try {
    info.newFileWrite = { MBs: [probeNewFileWrite(work)], pageReporting: pageReporting() };
    log('reading the input once, so every case starts from a warm page cache…');
    if (sqliteDb) readFileSync(sqliteDb.path);
    warmTree(tree.path);
    for (const t of memTrees) warmTree(t.path);

    const [main, ...extra] = runtimes;
    const cases: CaseDef[] = [];
    const ours = (rt: Runtime) => {
      if (args.families.has('strongbox')) cases.push(...strongboxCases(ctx, rt, !args.quick && rt === main));
      if (pg) cases.push(pgStrongboxCase(ctx, pg, rt));
      if (my) cases.push(mysqlStrongboxCase(ctx, my, rt));
      if (sqliteDb) cases.push(sqliteStrongboxCase(ctx, sqliteDb, rt));
      if (s3) cases.push(...s3Cases(ctx, rt, s3, !args.quick && rt === main));
    };
    ours(main!);
    if (args.families.has('pipeline')) cases.push(...pipelineCases(ctx));
    if (args.families.has('restic')) cases.push(...resticCases(ctx));
    // A database family brings its own pipeline: its ratio is the point of the case.
    if (pg) cases.push(pgPipelineCase(ctx, pg));
    if (my) cases.push(mysqlPipelineCase(ctx, my));
    if (sqliteDb) cases.push(sqlitePipelineCase(ctx, sqliteDb));
    for (const rt of extra) ours(rt);
    for (const rt of runtimes) for (const t of memTrees) cases.push(memoryCase(ctx, { path: t.path, bytes: t.bytes }, rt));
    // Collections on the main Node only: each chain is minutes long.
    if (bucket) cases.push(...bucketCases(ctx, main!, bucket).filter((c) => c.tool !== 'rclone' || spawnSync('rclone', ['version']).status === 0));
    if (incr) cases.push(...incrementalTreeCases(ctx, main!, incr));
    if (members) {
      log(`reading the ${args.members} tiny files once…`);
      warmTree(members.path);
      cases.push(...membersCases(ctx, main!, members));
    }

    const results = await runAll(cases, args.settle, started + args.budgetSeconds * 1000);
    info.loadAverage.end = loadavg();
    info.newFileWrite?.MBs.push(probeNewFileWrite(work));
    const tgs = targets(results);
    const treeText = `${(tree.bytes / 1e6).toFixed(0)} MB tree, ${tree.files} files in ${tree.dirs} directories, ${((tree.randomBytes / tree.bytes) * 100).toFixed(0)}% random bytes, the rest text (seed ${tree.seed})`;
    const pgText = pg ? `${args.pgRows} rows, plaintext dump ${(pg.dumpBytes / 1e6).toFixed(0)} MB` : undefined;
    const mysqlText = my ? `${args.mysqlRows} rows, plaintext dump ${(my.dumpBytes / 1e6).toFixed(0)} MB` : undefined;
    const sqliteText = sqliteDb ? `${args.sqliteRows} rows, a ${(sqliteDb.sizeBytes / 1e6).toFixed(0)} MB file` : undefined;
    const seconds = (performance.now() - started) / 1000;
    const md = markdown(results, tgs, info, { runs: args.runs, tree: treeText, pg: pgText, mysql: mysqlText, ...(sqliteText ? { sqlite: sqliteText } : {}), seconds });
    writeFileSync(join(outDir, 'results.md'), md);
    writeFileSync(
      join(outDir, 'results.json'),
      JSON.stringify({ machine: info, args: { ...args, families: [...args.families] }, tree: { ...tree, path: undefined }, pg, mysql: my, sqlite: sqliteDb, results, targets: tgs, seconds }, null, 2),
    );
    process.stdout.write(`\n${md}`);
    log(`written: ${join(outDir, 'results.md')}, ${join(outDir, 'results.json')}`);
  } finally {
    if (pg) dropBenchDatabase(pg.database);
    if (my) dropMysqlBenchDatabase(my.database);
    while (servers.length) await servers.pop()!.stop().catch(() => undefined);
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  }
}

let args: BenchArgs;
try {
  args = readArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
await main(args);

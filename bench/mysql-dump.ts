/**
 * `node --import tsx bench/mysql-dump.ts [--rows 700000] [--runs 3]` — the MySQL/MariaDB
 * adapter's dump alone against `mariadb-dump` alone, and the adapter's stream through the
 * same `zstd -3 -T2 | age` as the shell pipeline, on one database in one run (rounds
 * interleaved). What the row counting (parsing the dump as it streams) costs is the
 * difference between `--row-counts exact` and `none`. The full `strongbox backup --mysql`
 * case is in bench/run.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measure, settle, type RunSpec } from './lib/measure.js';
import { createMysqlBenchDatabase, dropMysqlBenchDatabase, mariadbDumpCommand, mysqlDumpSize } from './lib/mysql.js';

const self = fileURLToPath(import.meta.url);

/** In a child: our adapter's dump, to /dev/null or through zstd | age; prints its own dump seconds. */
async function child(mode: 'exact' | 'none', sink: 'null' | 'age', recipient: string, out: string): Promise<void> {
  const { mysqlAdapter } = await import('../src/sources/mysql/index.js');
  const { silentReporter } = await import('../src/shared/reporter.js');
  const t0 = performance.now();
  const dump = await mysqlAdapter.dump({ kind: 'mysql', location: process.env.BENCH_MYSQL_URL!, options: { rowCounts: mode } }, { reporter: silentReporter, leaveOut: [] });
  if (sink === 'null') await pipeline(dump.stream, createWriteStream('/dev/null'));
  else {
    const sh = spawn('bash', ['-c', `set -o pipefail; zstd -3 -T2 -q | age -r ${recipient} > ${out}`], { stdio: ['pipe', 'inherit', 'inherit'] });
    const done = new Promise<void>((res, rej) => sh.on('close', (c) => (c === 0 ? res() : rej(new Error(`zstd|age exited ${c}`)))));
    await pipeline(dump.stream, sh.stdin);
    await done;
  }
  await dump.completed;
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t0) / 1000, tables: Object.keys(dump.rowCounts ?? {}).length }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '700000' }, runs: { type: 'string', default: '3' }, child: { type: 'string' }, sink: { type: 'string' }, recipient: { type: 'string' }, out: { type: 'string' } } });
  if (values.child) return child(values.child as 'exact' | 'none', values.sink as 'null' | 'age', values.recipient ?? '', values.out ?? '/dev/null');
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  const work = mkdtempSync(join(tmpdir(), 'strongbox-mysql-bench-'));
  const database = 'strongbox_bench_dump';
  execFileSync('age-keygen', ['-o', join(work, 'key.txt')], { stdio: 'ignore' });
  const recipient = /public key: (age1[0-9a-z]+)/.exec(readFileSync(join(work, 'key.txt'), 'utf8'))![1]!;
  process.stderr.write(`creating ${database} (${rows} rows)…\n`);
  const db = createMysqlBenchDatabase(database, rows);
  const bytes = mysqlDumpSize(database);
  process.stderr.write(`  ${(db.sizeBytes / 1e6).toFixed(0)} MB on disk, ${(bytes / 1e6).toFixed(0)} MB plaintext dump\n`);
  const ours = (mode: string, sink: string): RunSpec => ({
    command: process.execPath,
    args: ['--import', 'tsx', self, '--child', mode, '--sink', sink, '--recipient', recipient, '--out', join(work, 'ours.age')],
    env: { ...process.env, BENCH_MYSQL_URL: db.url },
    captureStdout: true,
    servers: ['mariadbd'],
  });
  const sh = (script: string): RunSpec => ({ command: 'bash', args: ['-c', `set -euo pipefail; ${script}`], servers: ['mariadbd'] });
  const cases: { label: string; spec: RunSpec }[] = [
    { label: 'mariadb-dump > /dev/null', spec: sh(`${mariadbDumpCommand(database)} > /dev/null`) },
    { label: 'adapter dump, row counts exact > /dev/null', spec: ours('exact', 'null') },
    { label: 'adapter dump, row counts none > /dev/null', spec: ours('none', 'null') },
    { label: 'mariadb-dump | zstd -3 -T2 | age', spec: sh(`${mariadbDumpCommand(database)} | zstd -3 -T2 -q | age -r ${recipient} > ${join(work, 'pipe.age')}`) },
    { label: 'adapter dump (exact) | zstd -3 -T2 | age', spec: ours('exact', 'age') },
  ];
  const results = new Map<string, { wall: number[]; inner: number[]; cpu: number[]; rss: number[]; others: number[] }>();
  try {
    for (let r = 1; r <= runs; r++) {
      for (const c of cases) {
        await settle(5);
        const m = await measure(c.spec);
        if (m.exitCode !== 0) throw new Error(`${c.label} failed: ${m.stderrTail}`);
        const e = results.get(c.label) ?? { wall: [], inner: [], cpu: [], rss: [], others: [] };
        e.wall.push(m.wallSeconds);
        e.cpu.push(m.userSeconds + m.sysSeconds);
        e.rss.push(m.peakRssBytes);
        e.others.push(m.othersCores);
        if (m.stdout) e.inner.push((JSON.parse(m.stdout) as { seconds: number }).seconds);
        results.set(c.label, e);
        process.stderr.write(`  [${r}/${runs}] ${c.label}: ${m.wallSeconds.toFixed(2)} s, CPU ${(m.userSeconds + m.sysSeconds).toFixed(2)} s, RSS ${(m.peakRssBytes / 1e6).toFixed(0)} MB, others ${m.othersCores.toFixed(1)}\n`);
      }
    }
  } finally {
    dropMysqlBenchDatabase(database);
    rmSync(work, { recursive: true, force: true });
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const lines = [
    `MariaDB: ${rows} rows, plaintext dump ${(bytes / 1e6).toFixed(0)} MB; ${runs} run(s) per case, medians; MB/s on the plaintext; "dump s" is the adapter's own time from dump() to completed (no Node/tsx start-up).`,
    '',
    '| Case | MB/s (wall) | Wall s | dump s | CPU s | Peak RSS MB | Others\' load |',
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const [label, e] of results) {
    lines.push(`| ${label.replace(/\|/g, '\\|')} | ${(bytes / 1e6 / med(e.wall)).toFixed(0)} | ${med(e.wall).toFixed(2)} | ${e.inner.length ? med(e.inner).toFixed(2) : '–'} | ${med(e.cpu).toFixed(2)} | ${(Math.max(...e.rss) / 1e6).toFixed(0)} | ${med(e.others).toFixed(1)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();

import { COLLECTION_KINDS, type CaseDef, type CaseOutcome, type Kind, type Tool } from './cases.js';
import { collectionMarkdown, collectionTargets } from './collection-report.js';
import { median, type RunMeasurement } from './measure.js';

export interface RunRecord extends CaseOutcome {
  round: number;
  ok: boolean;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  peakRssSumBytes: number;
  biggestProcess?: { name: string; hwmBytes: number };
  samples: number;
  /** PostgreSQL server CPU during a pg case (not part of `cpuSeconds`). */
  serverCpuSeconds?: number;
  /** Cores other processes kept busy during the run: the noise on this shared machine. */
  othersCores: number;
  /** The 1-minute load average (uptime) when the run started. */
  loadAvg1: number;
  error?: string;
}

export interface CaseResult {
  id: string;
  tool: Tool;
  kind: Kind;
  label: string;
  node?: string;
  inputBytes: number;
  inputMembers?: number;
  changedBytes?: number;
  variant?: boolean;
  runs: RunRecord[];
  /** Medians over the successful runs; peak RSS is the largest of them. */
  wallSeconds: number;
  cpuSeconds: number;
  mbPerSecond: number;
  peakRssBytes: number;
  othersCores: number;
  /** Median 1-minute load average at the start of the runs used. */
  loadAvg1: number;
  /** Median of the runs' repository growth (second backups). */
  grownBytes?: number;
  /** Median of the runs' server CPU seconds (PostgreSQL, s3rver). */
  serverCpuSeconds?: number;
  /** How many runs were quiet (the medians are over those, when there are any). */
  quietRuns: number;
  storedBytes?: number;
  verified?: boolean;
  failed: boolean;
}

export interface Target {
  name: string;
  node?: string;
  measured: string;
  pass: boolean | undefined;
}

export function record(round: number, m: RunMeasurement, outcome: CaseOutcome): RunRecord {
  const ok = m.exitCode === 0;
  return {
    round,
    ok,
    wallSeconds: m.wallSeconds,
    cpuSeconds: m.userSeconds + m.sysSeconds,
    peakRssBytes: m.peakRssBytes,
    peakRssSumBytes: m.peakRssSumBytes,
    biggestProcess: m.biggestProcess,
    samples: m.samples,
    othersCores: m.othersCores,
    loadAvg1: m.loadAvg1,
    ...(m.serverCpuSeconds ? { serverCpuSeconds: m.serverCpuSeconds } : {}),
    ...outcome,
    ...(ok ? {} : { error: `exit ${m.exitCode ?? m.signal}: ${m.stderrTail.trim().split('\n').slice(-5).join(' | ')}` }),
  };
}

/** A run during which other processes kept at most this many cores busy counts as quiet. */
export const QUIET_CORES = 0.3;

/**
 * Medians over the quiet runs when there are any, else over every successful run: a run
 * that shared the cores with someone's test suite measures the test suite.
 */
export function summarize(def: CaseDef, runs: RunRecord[]): CaseResult {
  const ok = runs.filter((r) => r.ok);
  const quiet = ok.filter((r) => r.othersCores <= QUIET_CORES);
  const good = quiet.length ? quiet : ok;
  const wall = median(good.map((r) => r.wallSeconds));
  const verifiedRuns = runs.filter((r) => r.verified !== undefined);
  return {
    id: def.id,
    tool: def.tool,
    kind: def.kind,
    label: def.label,
    node: def.node,
    inputBytes: def.inputBytes,
    ...(def.inputMembers !== undefined ? { inputMembers: def.inputMembers } : {}),
    ...(def.changedBytes !== undefined ? { changedBytes: def.changedBytes } : {}),
    variant: def.variant,
    runs,
    wallSeconds: wall,
    cpuSeconds: median(good.map((r) => r.cpuSeconds)),
    mbPerSecond: def.inputBytes / 1e6 / wall,
    quietRuns: quiet.length,
    // Memory does not depend on the neighbours: the largest of every successful run.
    peakRssBytes: ok.length ? Math.max(...ok.map((r) => r.peakRssBytes)) : NaN,
    othersCores: median(good.map((r) => r.othersCores)),
    loadAvg1: median(good.map((r) => r.loadAvg1)),
    ...(good.some((r) => r.grownBytes !== undefined) ? { grownBytes: median(good.map((r) => r.grownBytes ?? NaN)) } : {}),
    ...(good.some((r) => r.serverCpuSeconds !== undefined) ? { serverCpuSeconds: median(good.map((r) => r.serverCpuSeconds ?? 0)) } : {}),
    storedBytes: ok.map((r) => r.storedBytes).find((s) => s !== undefined),
    verified: verifiedRuns.length ? verifiedRuns.every((r) => r.verified) : undefined,
    failed: ok.length === 0,
  };
}

/** Case labels hold shell pipes; a bare | would split the Markdown cell. */
export const cell = (text: string) => text.replace(/\|/g, '\\|');
export const mb = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? '–' : (bytes / 1e6).toFixed(0));
export const fixed = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const ratio = (a: CaseResult | undefined, b: CaseResult | undefined) =>
  a && b && !a.failed && !b.failed ? a.mbPerSecond / b.mbPerSecond : NaN;
/** a's CPU s over b's: lower is better. */
const cpuRatio = (a: CaseResult | undefined, b: CaseResult | undefined) =>
  a && b && !a.failed && !b.failed ? a.cpuSeconds / b.cpuSeconds : NaN;

/** The competitor a case is compared with, per column. */
function peers(c: CaseResult, all: CaseResult[]): { restic?: CaseResult; pipeline?: CaseResult } {
  if (c.tool !== 'strongbox') return {};
  const find = (id: string) => all.find((x) => x.id === id);
  switch (c.kind) {
    case 'backup':
      return { restic: find('restic-backup'), pipeline: find('pipeline-backup') };
    case 'restore':
      return { restic: find('restic-restore'), pipeline: find('pipeline-restore') };
    case 'pg-backup':
      return { pipeline: find('pipeline-pg') };
    case 'mysql-backup':
      return { pipeline: find('pipeline-mysql') };
    case 'sqlite-backup':
      return { pipeline: find('pipeline-sqlite') };
    case 's3-backup':
      // The bare upload runs on the same Node as the case it is compared with.
      return { pipeline: all.find((x) => x.tool === 'sdk' && x.node === c.node) };
    default:
      return {};
  }
}

export const RSS_LIMIT = 200e6;
/** "Flat": peak RSS at the largest input within 20% (or 16 MB, if more) of the smallest's. */
export function flatEnough(small: number, large: number): boolean {
  return large - small <= Math.max(0.2 * small, 16e6);
}

/** Issue 9's targets (plus the memory ones), each reported only when its cases were run. */
export function targets(results: CaseResult[]): Target[] {
  const out: Target[] = [];
  const nodes = [...new Set(results.filter((r) => r.node).map((r) => r.node!))];
  const push = (name: string, node: string | undefined, value: number, pass: (v: number) => boolean, fmt = (v: number) => `${v.toFixed(2)}×`) =>
    out.push({ name, node, measured: Number.isFinite(value) ? fmt(value) : 'not measured', pass: Number.isFinite(value) ? pass(value) : undefined });
  const check = (name: string, node: string | undefined, value: number, min: number) => push(name, node, value, (v) => v >= min);
  const atMost = (name: string, node: string | undefined, value: number, max: number) => push(name, node, value, (v) => v <= max);
  for (const node of nodes) {
    const get = (kind: Kind) => results.find((r) => r.tool === 'strongbox' && r.kind === kind && r.node === node && !r.variant);
    const backup = get('backup');
    const restore = get('restore');
    if (backup) {
      const p = peers(backup, results);
      check('backup to local ≥ 0.8× shell pipeline', node, ratio(backup, p.pipeline), 0.8);
      // CPU s, unlike wall time, barely moves when others share the cores: the steadier measure of our overhead.
      atMost("backup to local CPU s ≤ 1.5× shell pipeline's", node, cpuRatio(backup, p.pipeline), 1.5);
    }
    if (restore) {
      const p = peers(restore, results);
      check('restore ≥ 2× restic restore', node, ratio(restore, p.restic), 2);
      check('restore ≥ 0.7× shell pipeline', node, ratio(restore, p.pipeline), 0.7);
    }
    const pg = get('pg-backup');
    if (pg) check('backup --postgres ≥ 0.9× pg_dump pipeline', node, ratio(pg, peers(pg, results).pipeline), 0.9);
    const mysql = get('mysql-backup');
    if (mysql) check('backup --mysql ≥ 0.9× mariadb-dump pipeline', node, ratio(mysql, peers(mysql, results).pipeline), 0.9);
    const sqlite = get('sqlite-backup');
    if (sqlite) check('SQLite backup ≥ 0.9× the sqlite3 .backup pipeline', node, ratio(sqlite, peers(sqlite, results).pipeline), 0.9);
    const s3 = get('s3-backup');
    if (s3) {
      // "Within 10 %": our wall time at most 1.1× the bare upload's of the same stored bytes.
      const upload = peers(s3, results).pipeline;
      const slower = upload && !upload.failed && !s3.failed ? s3.wallSeconds / upload.wallSeconds : NaN;
      push('backup to S3 within 10% of a bare lib-storage Upload', node, slower, (v) => v <= 1.1, (v) => `${v.toFixed(2)}× its time`);
    }
    const ours = results.filter((r) => r.tool === 'strongbox' && r.node === node && !r.failed && r.kind !== 'members');
    if (ours.length) {
      const worst = ours.reduce((a, b) => (b.peakRssBytes > a.peakRssBytes ? b : a));
      out.push({ name: 'peak RSS < 200 MB (every strongbox case)', node, measured: `${mb(worst.peakRssBytes)} MB (${cell(worst.label)})`, pass: worst.peakRssBytes < RSS_LIMIT });
    }
    out.push(...collectionTargets(results, node));
    const steps = memorySteps(results, node);
    if (steps.length >= 2) {
      const small = steps[0]!;
      const large = steps[steps.length - 1]!;
      out.push({
        name: `peak RSS flat from ${mb(small.inputBytes)} MB to ${mb(large.inputBytes)} MB`,
        node,
        measured: steps.map((s) => `${mb(s.peakRssBytes)}`).join(' → ') + ' MB',
        pass: flatEnough(small.peakRssBytes, large.peakRssBytes),
      });
    }
  }
  return out;
}

/** Our backup's peak RSS by input size: the memory cases plus the main backup case. */
export function memorySteps(results: CaseResult[], node: string): CaseResult[] {
  return results
    .filter((r) => r.tool === 'strongbox' && r.node === node && (r.kind === 'memory' || r.kind === 'backup') && !r.variant && !r.failed)
    .sort((a, b) => a.inputBytes - b.inputBytes);
}

export interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memoryBytes: number;
  kernel: string;
  node: string[];
  tools: Record<string, string>;
  git: string;
  runner: string;
  loadAverage: { start: number[]; end?: number[] };
  /** How fast a new file takes data at the start and the end of the run (bench/lib/new-file-write.ts). */
  newFileWrite?: { MBs: (number | undefined)[]; pageReporting: boolean };
}

export function markdown(results: CaseResult[], tgs: Target[], machine: Machine, meta: { runs: number; tree: string; pg?: string; mysql?: string; sqlite?: string; seconds: number }): string {
  const lines: string[] = [];
  lines.push(`## Strongbox benchmark — ${machine.date}`, '');
  lines.push(
    `Machine: ${machine.nproc} × ${machine.cpu}, ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB RAM, Linux ${machine.kernel}; Node ${machine.node.join(' and ')}; strongbox = ${machine.runner}; ${machine.git}.`,
    ...(machine.newFileWrite
      ? [`Writing a new 1 GiB file in the work folder (page cache): ${machine.newFileWrite.MBs.map((m) => (m === undefined ? '?' : fixed(m, 0))).join(' MB/s at the start, ')} MB/s at the end${machine.newFileWrite.pageReporting ? '; freed memory goes back to the host (free page reporting), so this moves from minute to minute and every case that writes new files pays it' : ''} (bench/lib/new-file-write.ts).`]
      : []),
    `Load average (1 min) at start ${fixed(machine.loadAverage.start[0]!, 2)}, at end ${fixed(machine.loadAverage.end?.[0] ?? NaN, 2)} — the machine is shared, ${meta.runs} run(s) per case, each case's rounds interleaved with the others'.`,
    `Data: ${meta.tree}.${meta.pg ? ` PostgreSQL: ${meta.pg}.` : ''}${meta.mysql ? ` MariaDB: ${meta.mysql}.` : ''}${meta.sqlite ? ` SQLite: ${meta.sqlite}.` : ''}`,
    `MB = 10^6 bytes; MB/s is input (plaintext) bytes per wall-clock second; CPU s is user+sys of the whole process tree; peak RSS is the largest over the runs of the process tree's summed RSS; others' load is how many of the ${machine.nproc} cores other processes kept busy meanwhile (median of the runs used). Medians are over the quiet runs (others' load ≤ ${QUIET_CORES} cores) when there are any; a case short of quiet runs was run again while the time budget allowed. Where others' load is still well above 0, wall times are inflated and CPU s is the steadier figure.`,
    '',
  );
  const main = results.filter((r) => r.kind !== 'memory' && !COLLECTION_KINDS.includes(r.kind));
  if (main.length) {
    lines.push('| Case | Node | MB/s | Wall s | CPU s | Peak RSS MB | Stored MB | × restic | × pipeline | Checked | Others\' load | Load avg | Quiet runs |');
    lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|');
  }
  for (const c of main) {
    const p = peers(c, results);
    const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '');
    lines.push(
      `| ${cell(c.label)} | ${c.node ?? ''} | ${c.failed ? '**FAILED**' : fixed(c.mbPerSecond, 0)} | ${fixed(c.wallSeconds, 2)} | ${fixed(c.cpuSeconds, 2)} | ${mb(c.peakRssBytes)} | ${mb(c.storedBytes)} | ${x(ratio(c, p.restic))} | ${x(ratio(c, p.pipeline))} | ${c.verified === undefined ? '' : c.verified ? 'identical' : '**DIFFERS**'} | ${fixed(c.othersCores, 1)} | ${fixed(c.loadAvg1, 2)} | ${c.quietRuns}/${c.runs.length} |`,
    );
  }
  if (results.some((r) => COLLECTION_KINDS.includes(r.kind))) lines.push(...collectionMarkdown(results));
  const nodes = [...new Set(results.filter((r) => r.node).map((r) => r.node!))];
  const mem = nodes.map((n) => ({ n, steps: memorySteps(results, n) })).filter((m) => m.steps.length > 1);
  if (mem.length) {
    lines.push('', '### Memory: our backup\'s peak RSS by input size', '');
    lines.push('| Input MB | Node | Peak RSS MB | MB/s | biggest process |', '|--:|---|--:|--:|---|');
    for (const { n, steps } of mem) {
      for (const s of steps) {
        const big = s.runs.filter((r) => r.ok).map((r) => r.biggestProcess).find(Boolean);
        lines.push(`| ${mb(s.inputBytes)} | ${n} | ${mb(s.peakRssBytes)} | ${fixed(s.mbPerSecond, 0)} | ${big ? `${big.name} ${mb(big.hwmBytes)} MB` : ''} |`);
      }
    }
  }
  lines.push('', '### Targets', '', '| Target | Node | Measured | Result |', '|---|---|---|---|');
  for (const t of tgs) lines.push(`| ${t.name} | ${t.node ?? ''} | ${t.measured} | ${t.pass === undefined ? '–' : t.pass ? 'PASS' : '**MISS**'} |`);
  const failures = results.flatMap((c) => c.runs.filter((r) => !r.ok).map((r) => `- ${c.label}${c.node ? ` (Node ${c.node})` : ''}, run ${r.round}: ${r.error}`));
  if (failures.length) lines.push('', '### Failed runs', '', ...failures);
  lines.push('', `Benchmark time: ${(meta.seconds / 60).toFixed(1)} min.`, '');
  return lines.join('\n');
}

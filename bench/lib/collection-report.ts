import type { Kind } from './cases.js';
import { cell, fixed, mb, type CaseResult, type Target } from './report.js';

/** Issue 8: peak RSS of a collection backup of 1,000,000 members. */
export const MEMBERS_RSS_LIMIT = 300e6;
/** Issue 9: every restore, whatever the file count. */
export const RESTORE_RSS_LIMIT = 200e6;

const find = (results: CaseResult[], kind: Kind, tool: string, node?: string) =>
  results.find((r) => r.kind === kind && r.tool === tool && !r.variant && (tool !== 'strongbox' || r.node === node));
const ok = (r: CaseResult | undefined): r is CaseResult => !!r && !r.failed && Number.isFinite(r.wallSeconds);
const perSecond = (r: CaseResult) => (r.inputMembers ?? NaN) / r.wallSeconds;

/** What a collection case is compared with, as a cell ("1.20× rclone", "0.15× first"). */
function versus(c: CaseResult, all: CaseResult[]): string {
  if (c.tool !== 'strongbox' || c.variant || !ok(c)) return '';
  const x = (v: number, what: string) => (Number.isFinite(v) ? `${v.toFixed(2)}× ${what}` : '');
  switch (c.kind) {
    case 'bucket-first': {
      const r = find(all, 'bucket-first', 'rclone');
      return ok(r) ? x(r.wallSeconds / c.wallSeconds, 'rclone (objects/s)') : '';
    }
    case 'bucket-second': {
      const f = find(all, 'bucket-first', 'strongbox', c.node);
      return ok(f) ? x(c.wallSeconds / f.wallSeconds, "the first's time") : '';
    }
    case 'tree-first':
    case 'tree-second': {
      const r = find(all, c.kind, 'restic');
      return ok(r) ? x(c.wallSeconds / r.wallSeconds, "restic's time") : '';
    }
    default:
      return '';
  }
}

export function collectionMarkdown(results: CaseResult[]): string[] {
  const rows = results.filter((r) => ['bucket-first', 'bucket-second', 'tree-first', 'tree-second', 'members'].includes(r.kind));
  const lines = ['', '### Collections (issue 8)', ''];
  lines.push(
    'Members/s: objects or files of the collection per wall-clock second. Server CPU s: the s3rver processes (outside the measured tree). Growth: the repository after − before this backup. Load avg: the 1-minute load average (uptime) when the run started.',
    '',
    '| Case | Node | Members | Members/s | MB/s | Wall s | CPU s | Server CPU s | Peak RSS MB | Stored MB | Changed MB | Growth MB | Compared | Others\' load | Load avg | Quiet runs |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|',
  );
  for (const c of rows) {
    const failed = c.failed ? '**FAILED**' : undefined;
    lines.push(
      `| ${cell(c.label)} | ${c.node ?? ''} | ${c.inputMembers ?? ''} | ${failed ?? fixed(perSecond(c), 0)} | ${failed ?? fixed(c.mbPerSecond, 0)} | ${fixed(c.wallSeconds, 2)} | ${fixed(c.cpuSeconds, 2)} | ${c.serverCpuSeconds !== undefined ? fixed(c.serverCpuSeconds, 2) : ''} | ${mb(c.peakRssBytes)} | ${mb(c.storedBytes)} | ${c.changedBytes !== undefined ? fixed(c.changedBytes / 1e6, 1) : ''} | ${c.grownBytes !== undefined ? fixed(c.grownBytes / 1e6, 1) : ''} | ${versus(c, results)} | ${fixed(c.othersCores, 1)} | ${fixed(c.loadAvg1, 2)} | ${c.quietRuns}/${c.runs.length} |`,
    );
  }
  return lines;
}

export function collectionTargets(results: CaseResult[], node: string): Target[] {
  const out: Target[] = [];
  const add = (name: string, value: number, pass: (v: number) => boolean, measured: (v: number) => string) =>
    out.push({ name, node, measured: Number.isFinite(value) ? measured(value) : 'not measured', pass: Number.isFinite(value) ? pass(value) : undefined });

  const first = find(results, 'bucket-first', 'strongbox', node);
  const rclone = find(results, 'bucket-first', 'rclone');
  const second = find(results, 'bucket-second', 'strongbox', node);
  if (first || second) {
    const v = ok(first) && ok(rclone) ? rclone.wallSeconds / first.wallSeconds : NaN;
    add('bucket: first backup objects/s ≥ rclone sync', v, (x) => x >= 1, (x) => `${x.toFixed(2)}× (${fixed(perSecond(first!), 0)} vs ${fixed(perSecond(rclone!), 0)} objects/s)`);
    const w = ok(first) && ok(second) ? second.wallSeconds / first.wallSeconds : NaN;
    add('bucket: second backup (1 % changed) ≤ 0.2× the first', w, (x) => x <= 0.2, (x) => `${x.toFixed(2)}× (${fixed(second!.wallSeconds, 2)} s vs ${fixed(first!.wallSeconds, 2)} s)`);
  }
  const tree2 = find(results, 'tree-second', 'strongbox', node);
  const restic2 = find(results, 'tree-second', 'restic');
  if (tree2) {
    const v = ok(tree2) && ok(restic2) ? tree2.wallSeconds / restic2.wallSeconds : NaN;
    add("incremental tree: second backup ≤ restic's second backup time", v, (x) => x <= 1, (x) => `${x.toFixed(2)}× (${fixed(tree2.wallSeconds, 2)} s vs ${fixed(restic2!.wallSeconds, 2)} s)`);
    const g = ok(tree2) && tree2.grownBytes !== undefined && tree2.changedBytes ? tree2.grownBytes / tree2.changedBytes : NaN;
    add('incremental tree: stored growth ≤ 2× the changed bytes', g, (x) => x <= 2, (x) => `${x.toFixed(2)}× (${fixed(tree2.grownBytes! / 1e6, 1)} MB for ${fixed(tree2.changedBytes! / 1e6, 1)} MB changed)`);
  }
  for (const m of results.filter((r) => r.kind === 'members' && r.node === node)) {
    const n = (m.inputMembers ?? 0).toLocaleString('en-US');
    if (/restore/.test(m.label)) {
      // Issue 9's limit for every restore.
      add(`restore peak RSS < 200 MB at ${n} files`, m.failed ? NaN : m.peakRssBytes, (x) => x < RESTORE_RSS_LIMIT, (x) => `${mb(x)} MB`);
      continue;
    }
    const which = /first/.test(m.label) ? 'first' : /second/.test(m.label) ? 'second, state-driven' : 'without a state';
    add(`peak RSS < 300 MB at ${n} members (${which})`, m.failed ? NaN : m.peakRssBytes, (x) => x < MEMBERS_RSS_LIMIT, (x) => `${mb(x)} MB`);
  }
  return out;
}

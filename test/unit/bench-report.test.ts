import { describe, expect, it } from 'vitest';
import type { Kind, Tool } from '../../bench/lib/cases.js';
import { targets, type CaseResult } from '../../bench/lib/report.js';

const NODE = '20.20.2';

/** A made-up case result: only what targets() reads. */
function result(id: string, tool: Tool, kind: Kind, mbPerSecond: number, cpuSeconds: number): CaseResult {
  return {
    id, tool, kind, label: id, ...(tool === 'strongbox' || tool === 'sdk' ? { node: NODE } : {}),
    inputBytes: 600e6, runs: [], wallSeconds: 600 / mbPerSecond, cpuSeconds, mbPerSecond,
    peakRssBytes: 150e6, othersCores: 0, loadAvg1: 0, quietRuns: 3, failed: false,
  };
}

/** The issue-9 cases of one run: ours (backup, restore) and the pipeline and restic peers. */
function run(ours: { backupCpu: number; restoreMBs: number }): CaseResult[] {
  return [
    result(`strongbox-backup@${NODE}`, 'strongbox', 'backup', 250, ours.backupCpu),
    result(`strongbox-restore@${NODE}`, 'strongbox', 'restore', ours.restoreMBs, 5),
    result('pipeline-backup', 'pipeline', 'backup', 300, 4),
    result('pipeline-restore', 'pipeline', 'restore', 200, 4),
    result('restic-backup', 'restic', 'backup', 140, 6),
    result('restic-restore', 'restic', 'restore', 70, 4),
  ];
}

const row = (tgs: ReturnType<typeof targets>, name: string) => tgs.find((t) => t.name === name);
const CPU = "backup to local CPU s ≤ 1.5× shell pipeline's";
const RESTORE_PIPELINE = 'restore ≥ 0.7× shell pipeline';

describe("the benchmark's targets (issue 9)", () => {
  it('CPU s of our backup ≤ 1.5× the pipeline’s: lower is better', () => {
    expect(row(targets(run({ backupCpu: 5, restoreMBs: 150 })), CPU)).toEqual({ name: CPU, node: NODE, measured: '1.25×', pass: true });
    expect(row(targets(run({ backupCpu: 8.8, restoreMBs: 150 })), CPU)).toEqual({ name: CPU, node: NODE, measured: '2.20×', pass: false });
  });

  it('restore ≥ 0.7× the age -d | zstd -d | tar -x pipeline', () => {
    expect(row(targets(run({ backupCpu: 5, restoreMBs: 150 })), RESTORE_PIPELINE)).toMatchObject({ measured: '0.75×', pass: true });
    expect(row(targets(run({ backupCpu: 5, restoreMBs: 86 })), RESTORE_PIPELINE)).toMatchObject({ measured: '0.43×', pass: false });
  });

  it('lists exactly issue 9’s speed targets, restic only for the restore', () => {
    const names = targets(run({ backupCpu: 5, restoreMBs: 150 })).map((t) => t.name);
    expect(names).toEqual(['backup to local ≥ 0.8× shell pipeline', CPU, 'restore ≥ 2× restic restore', RESTORE_PIPELINE, 'peak RSS < 200 MB (every strongbox case)']);
  });

  it('a missing or failed peer is not measured, neither PASS nor MISS', () => {
    const failed = run({ backupCpu: 5, restoreMBs: 150 }).map((r) => (r.id === 'pipeline-backup' ? { ...r, failed: true } : r));
    expect(row(targets(failed), CPU)).toMatchObject({ measured: 'not measured', pass: undefined });
    const noPipeline = run({ backupCpu: 5, restoreMBs: 150 }).filter((r) => r.tool !== 'pipeline');
    expect(row(targets(noPipeline), RESTORE_PIPELINE)).toMatchObject({ measured: 'not measured', pass: undefined });
  });

  it('the database backups against their pipelines, PostgreSQL included', () => {
    const db = [
      result(`strongbox-pg@${NODE}`, 'strongbox', 'pg-backup', 95, 3),
      result('pipeline-pg', 'pipeline', 'pg-backup', 100, 2),
      result(`strongbox-mysql@${NODE}`, 'strongbox', 'mysql-backup', 50, 3),
      result('pipeline-mysql', 'pipeline', 'mysql-backup', 100, 2),
    ];
    const tgs = targets(db);
    expect(row(tgs, 'backup --postgres ≥ 0.9× pg_dump pipeline')).toMatchObject({ measured: '0.95×', pass: true });
    expect(row(tgs, 'backup --mysql ≥ 0.9× mariadb-dump pipeline')).toMatchObject({ measured: '0.50×', pass: false });
  });

  it('the S3 backup within 10% of the bare lib-storage Upload on the same Node', () => {
    const s3 = (oursMBs: number) => [
      result(`strongbox-s3@${NODE}`, 'strongbox', 's3-backup', oursMBs, 9),
      result(`sdk-upload-s3@${NODE}`, 'sdk', 's3-backup', 100, 2),
      // Another Node's upload must not be the one compared with.
      { ...result('sdk-upload-s3@24.0.0', 'sdk', 's3-backup', 10, 2), node: '24.0.0' },
    ];
    const name = 'backup to S3 within 10% of a bare lib-storage Upload';
    expect(row(targets(s3(95)), name)).toMatchObject({ measured: '1.05× its time', pass: true });
    expect(row(targets(s3(50)), name)).toMatchObject({ measured: '2.00× its time', pass: false });
  });
});

import { readFileSync, readdirSync } from 'node:fs';
import { startS3rver, type S3rverHandle } from '../../test/helpers/s3rver.js';

/**
 * s3rver for the bucket cases, as the integration tests run it (test/helpers/s3rver.ts: a child
 * process on a free loopback port, list pagination enabled). Its CPU is outside the measured
 * process tree; the cases report it apart (RunSpec.serverPids), so we need its process id.
 */
export interface BenchS3 extends S3rverHandle {
  pid: number;
}

function childPids(): Set<number> {
  const out = new Set<number>();
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      for (const c of readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.add(Number(c));
    } catch {
      // thread gone
    }
  }
  return out;
}

export async function startBenchS3(bucket: string): Promise<BenchS3> {
  const before = childPids();
  const handle = await startS3rver({ bucket });
  const fresh = [...childPids()].filter((p) => !before.has(p));
  if (fresh.length !== 1) throw new Error(`could not tell s3rver's process id (${fresh.length} new children)`);
  return Object.assign(handle, { pid: fresh[0]! });
}

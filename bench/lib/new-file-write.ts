import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How fast this machine takes new file data, reported with every run because it moves every
 * figure that writes new files (restores above all). On these VMs writing 600 MB into a new
 * file on the work disk (page cache only, no fsync) costs 0.3–1.9 s of system time from one
 * minute to the next (the same `dd`; 0.39 s into tmpfs), and `age -d | zstd -d | tar -x` of
 * the bench tree took 1.71, 2.92 and 3.20 s in three runs in a row, its user time steady at
 * 1.0–1.1 s. The kernel hands freed memory back to the host (virtio-balloon free page
 * reporting, /sys/module/page_reporting), which backs it again only when it is next touched:
 * touching 20 GB took 68–73 s of system time, and right after that a 600 MB write took 0.31 s.
 * So the hand-timed 0.84 s and the bench's 2.94 s were both true, at different
 * moments: every case pays this cost for each new MB it writes, in interleaved rounds, and it
 * cannot be switched off from inside the guest. The probe writes 1 GiB into a new file in the
 * work folder at the start and at the end of a run, so a reader can see the state.
 */

// 1 GiB: the first ~256 MB of a write come cheap (0.06 s), the cost shows beyond (600 MB 0.87 s, 1.2 GB 2.2 s).
const PROBE_MIB = 1024;

export function probeNewFileWrite(dir: string): number | undefined {
  const file = join(dir, `new-file-probe-${process.pid}`);
  spawnSync('sync');
  const t0 = performance.now();
  const r = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${PROBE_MIB}`, 'status=none']);
  const seconds = (performance.now() - t0) / 1000;
  rmSync(file, { force: true });
  return r.status === 0 ? (PROBE_MIB * 1.048576) / seconds : undefined;
}

/** Whether freed memory goes back to the host (free page reporting has reported any). */
export function pageReporting(): boolean {
  try {
    return Number(readFileSync('/sys/module/page_reporting/parameters/reported_kib', 'utf8')) > 0;
  } catch {
    return false; // no such module: memory stays with the guest
  }
}

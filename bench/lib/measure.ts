import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';

/**
 * Runs one command and measures it: wall time, CPU time of the whole process tree (GNU time's
 * user+sys, which include every reaped descendant), and peak resident memory of the tree.
 *
 * Memory: every ~50 ms we walk the tree (/proc/<pid>/task/<tid>/children) and sum VmRSS over
 * its live processes; the peak of that sum is the figure for pipelines of several processes.
 * Sampling can miss a short spike, so we also keep each process's own high-water mark
 * (VmHWM) and report the larger of "peak sum" and "largest single HWM".
 */

export interface RunMeasurement {
  wallSeconds: number;
  userSeconds: number;
  sysSeconds: number;
  /** max(peak of the sampled sum of VmRSS over the tree, largest single-process VmHWM) */
  peakRssBytes: number;
  /** The sampled sum alone, and the biggest process by VmHWM (name and bytes). */
  peakRssSumBytes: number;
  biggestProcess?: { name: string; hwmBytes: number };
  samples: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  stdout: string;
  /** CPU seconds of the `servers` processes meanwhile (all of their work, not only ours). */
  serverCpuSeconds: number;
  /** Average number of cores other processes kept busy while this ran (the machine is shared). */
  othersCores: number;
  /** The 1-minute load average when the run started (uptime's first figure). */
  loadAvg1: number;
}

export interface RunSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Keep stdout (e.g. --json output); otherwise it is discarded. */
  captureStdout?: boolean;
  /**
   * Servers working for this command outside its process tree (e.g. "postgres" for pg_dump):
   * their CPU is reported apart and not counted as other processes' load.
   */
  servers?: string[];
  /** The same by process id (e.g. an s3rver child, a `node` like every other). */
  serverPids?: number[];
  sampleMs?: number;
}

const PAGE_KB = 1024;

function kbField(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * PAGE_KB : 0;
}

function children(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c));
    } catch {
      // the thread or process just ended
    }
  }
  return out;
}

/** Same program as its parent: a fork that has not exec'd yet (or a shell's subshell, a few MB). */
function unexecedFork(pid: number, status: string): boolean {
  const ppid = /^PPid:\s+(\d+)$/m.exec(status)?.[1];
  try {
    return ppid !== undefined && readlinkSync(`/proc/${pid}/exe`) === readlinkSync(`/proc/${ppid}/exe`);
  } catch {
    return false;
  }
}

/** Descendants of `root` (not root itself: that is /usr/bin/time, a bystander). */
function descendants(root: number): number[] {
  const seen: number[] = [];
  const stack = children(root);
  while (stack.length) {
    const pid = stack.pop()!;
    seen.push(pid);
    stack.push(...children(pid));
  }
  return seen;
}

/**
 * CPU seconds used by every process called one of `names`, including children they have
 * reaped (so a server backend that exits meanwhile still counts, through its parent).
 */
function serverCpuSeconds(names: string[]): number {
  if (!names.length) return 0;
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!names.includes(comm)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // gone
    }
  }
  return ticks / HZ;
}

/** CPU seconds of these processes, with the children they reaped. */
function pidCpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // gone
    }
  }
  return ticks / HZ;
}

const HZ = 100; // USER_HZ: /proc/stat counts in 1/100 s on every Linux we run on

/** CPU seconds all cores have spent busy since boot. */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) / HZ;
}

/**
 * Waits (up to `maxSeconds`) for a moment when other processes use less than `threshold`
 * cores, measured over 0.5 s windows. Returns the load seen in the last window.
 */
export async function settle(maxSeconds: number, threshold = 0.3): Promise<number> {
  const deadline = performance.now() + maxSeconds * 1000;
  let load = NaN;
  do {
    const b0 = machineBusySeconds();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    const self = process.cpuUsage(self0);
    load = (machineBusySeconds() - b0 - (self.user + self.system) / 1e6) / ((performance.now() - t0) / 1000);
    if (load < threshold) break;
  } while (performance.now() < deadline);
  return load;
}

export async function measure(spec: RunSpec): Promise<RunMeasurement> {
  const timeFile = join(tmpdir(), `bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const busy0 = machineBusySeconds();
  const serverCpu = () => serverCpuSeconds(spec.servers ?? []) + pidCpuSeconds(spec.serverPids ?? []);
  const server0 = serverCpu();
  const loadAvg1 = loadavg()[0]!;
  const self0 = process.cpuUsage();
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, spec.command, ...spec.args], {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    stdio: ['ignore', spec.captureStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));

  let peakSum = 0;
  let samples = 0;
  const hwm = new Map<number, { name: string; hwmBytes: number }>();
  const sample = () => {
    if (child.pid === undefined) return;
    let sum = 0;
    for (const pid of descendants(child.pid)) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        // A child caught between fork and exec shows its parent's RSS, pages it shares copy-
        // on-write (a 115 MB node spawning sqlite3 read as +115 MB): not memory anyone uses.
        if (unexecedFork(pid, status)) continue;
        sum += kbField(status, 'VmRSS');
        const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
        const h = kbField(status, 'VmHWM');
        if (h > (hwm.get(pid)?.hwmBytes ?? 0)) hwm.set(pid, { name, hwmBytes: h });
      } catch {
        // exited between the listing and the read
      }
    }
    samples++;
    if (sum > peakSum) peakSum = sum;
  };
  const timer = setInterval(sample, spec.sampleMs ?? 50);
  setImmediate(sample);

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve({ code: c, signal: s }));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const busy = machineBusySeconds() - busy0;
  const serverSeconds = serverCpu() - server0;
  const self = process.cpuUsage(self0);

  let userSeconds = NaN;
  let sysSeconds = NaN;
  let timeMaxRss = 0;
  try {
    // GNU time writes "Command exited with non-zero status N" first when the command fails.
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!;
    const [, u, s, m] = last.split(' ').map(Number);
    userSeconds = u!;
    sysSeconds = s!;
    timeMaxRss = m! * 1024;
  } catch {
    // time itself failed; the exit code says so
  }
  rmSync(timeFile, { force: true });

  const biggest = [...hwm.values()].sort((a, b) => b.hwmBytes - a.hwmBytes)[0];
  return {
    wallSeconds,
    userSeconds,
    sysSeconds,
    peakRssBytes: Math.max(peakSum, biggest?.hwmBytes ?? 0, timeMaxRss),
    peakRssSumBytes: peakSum,
    biggestProcess: biggest,
    samples,
    exitCode: code,
    signal,
    stderrTail: stderr,
    stdout,
    // Everything busy on the machine, minus the measured tree and this sampler.
    serverCpuSeconds: serverSeconds,
    othersCores: Math.max(0, (busy - userSeconds - sysSeconds - serverSeconds - (self.user + self.system) / 1e6) / wallSeconds),
    loadAvg1,
  };
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

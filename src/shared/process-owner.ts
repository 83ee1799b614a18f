import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who owns a lock or a staging folder, precisely enough to tell from here whether that
 * process is gone. The host name alone is not enough (cloned VMs, containers started with
 * --hostname), nor is the pid namespace (the first one has the same id on every Linux host):
 * the kernel's boot id tells machines (and reboots) apart, the process start time tells a
 * reused pid from the owner.
 */
export interface ProcessOwner {
  host: string;
  pid: number;
  /** /proc/sys/kernel/random/boot_id (Linux). */
  bootId?: string;
  /** readlink /proc/self/ns/pid, e.g. pid:[4026531836] (Linux). */
  pidNamespace?: string;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot (Linux). */
  startTime?: string;
}

/** What is read from this machine; tests inject their own. */
export interface OwnerProbe {
  host(): string;
  bootId(): string | undefined;
  pidNamespace(): string | undefined;
  /** Whether a process with this pid exists (in our pid namespace). */
  isAlive(pid: number): boolean;
  /** The start time of that process, or undefined when it cannot be read. */
  startTime(pid: number): string | undefined;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
};

/** Field 22 of a /proc/<pid>/stat line; the command name (field 2) may hold spaces and ')'. */
export function statStartTime(stat: string | undefined): string | undefined {
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const t = fields[22 - 3];
  return t && /^\d+$/.test(t) ? t : undefined;
}

export const systemProbe: OwnerProbe = {
  host: () => hostname(),
  bootId: () => read('/proc/sys/kernel/random/boot_id'),
  pidNamespace: () => {
    try {
      return readlinkSync('/proc/self/ns/pid');
    } catch {
      return undefined;
    }
  },
  isAlive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // EPERM: it exists, as another user's process.
      return (err as NodeJS.ErrnoException).code !== 'ESRCH';
    }
  },
  startTime: (pid) => statStartTime(read(`/proc/${pid}/stat`)),
};

/** This process, as recorded in its lock objects and staging folder names. */
export function currentOwner(probe: OwnerProbe = systemProbe): ProcessOwner {
  const bootId = probe.bootId();
  const pidNamespace = probe.pidNamespace();
  const startTime = probe.startTime(process.pid);
  return { host: probe.host(), pid: process.pid, ...(bootId ? { bootId } : {}), ...(pidNamespace ? { pidNamespace } : {}), ...(startTime ? { startTime } : {}) };
}

/**
 * True only when the owner ran on this very machine and boot, in this pid namespace, and its
 * process is gone (or the pid now belongs to a process started at another time). Anything
 * not recorded (an older Strongbox, not Linux) counts as "cannot tell": not gone.
 */
export function ownerIsGone(owner: ProcessOwner, probe: OwnerProbe = systemProbe): boolean {
  if (!owner.bootId || !owner.pidNamespace) return false;
  if (owner.host !== probe.host() || owner.bootId !== probe.bootId() || owner.pidNamespace !== probe.pidNamespace()) return false;
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0) return false;
  // Our own pid: an earlier process that had it (a container re-running with few pids) is gone.
  if (owner.pid !== process.pid && !probe.isAlive(owner.pid)) return true;
  if (!owner.startTime) return false;
  const now = probe.startTime(owner.pid);
  return now !== undefined && now !== owner.startTime;
}

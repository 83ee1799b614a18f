import { createHash } from 'node:crypto';
import { currentOwner, ownerIsGone, systemProbe, type OwnerProbe, type ProcessOwner } from './process-owner.js';

/**
 * Names of temporary folders and files that say which process made them: pid, process start
 * time, and a hash of host name, boot id and pid namespace. The next run can then tell one
 * left by `kill -9` (its process gone, on this machine) from one still in use, also on
 * another machine sharing the host name, and remove only the former.
 */

const OWNED = /^(\d+)-(\d+)-([0-9a-f]{8})-/;

/** Which machine, boot and pid namespace: an owner is checkable only from there. */
export const machineTag = (o: Pick<ProcessOwner, 'host' | 'bootId' | 'pidNamespace'>): string =>
  createHash('sha256').update(`${o.host}\0${o.bootId ?? ''}\0${o.pidNamespace ?? ''}`).digest('hex').slice(0, 8);

/** `<pid>-<start time>-<machine>-`: what follows a fixed prefix in this process's names (mkdtemp adds the rest). */
export function ownerTag(probe: OwnerProbe = systemProbe): string {
  const me = currentOwner(probe);
  return `${me.pid}-${me.startTime ?? '0'}-${machineTag(me)}-`;
}

/**
 * What a name's owner tag (the part after the fixed prefix) says: `gone` when its process
 * ran here and has ended, `alive` when it still runs, `unknown` when it cannot be checked
 * from here (another host or boot, an older version's name).
 */
export function ownerState(tagged: string, probe: OwnerProbe = systemProbe): { state: 'gone' | 'alive' | 'unknown'; pid?: number } {
  const m = OWNED.exec(tagged);
  const me = currentOwner(probe);
  if (!m || m[3] !== machineTag(me) || !me.bootId || !me.pidNamespace) return { state: 'unknown' };
  const pid = Number(m[1]);
  const startTime = m[2] === '0' ? undefined : m[2];
  return { state: ownerIsGone({ ...me, pid, startTime }, probe) ? 'gone' : 'alive', pid };
}

import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../../shared/errors.js';
import { currentOwner, ownerIsGone, systemProbe, type OwnerProbe, type ProcessOwner } from '../../shared/process-owner.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';

/**
 * The file a restore writes beside its target: `<target>.strongbox-staging-<pid>-<start
 * time>-<machine>-<random>`, so a restore killed with SIGKILL leaves a file that is plainly
 * not the database (nor its -wal/-journal), and the next restore of the same target can tell
 * it from one still being written and remove it. As the files adapter names its staging folders.
 */
const STAGING = '.strongbox-staging-';
const OWNED = /^(\d+)-(\d+)-([0-9a-f]{8})-[0-9a-f]{12}(?:-wal|-shm|-journal)?$/;
/** The longest suffix: staging + pid + start time + machine + random + "-journal". */
export const STAGING_SUFFIX_ROOM = STAGING.length + 7 + 1 + 20 + 1 + 8 + 1 + 12 + 8;

const machineTag = (o: Pick<ProcessOwner, 'host' | 'bootId' | 'pidNamespace'>): string =>
  createHash('sha256').update(`${o.host}\0${o.bootId ?? ''}\0${o.pidNamespace ?? ''}`).digest('hex').slice(0, 8);

export function stagingPath(target: string, probe: OwnerProbe = systemProbe): string {
  const me = currentOwner(probe);
  return `${target}${STAGING}${me.pid}-${me.startTime ?? '0'}-${machineTag(me)}-${randomBytes(6).toString('hex')}`;
}

const SPOOL = 'strongbox-sqlite-';
const SPOOL_OWNED = /^(\d+)-(\d+)-([0-9a-f]{8})-[A-Za-z0-9]{6}$/;

/** The mkdtemp prefix of a backup's private spool folder in `tmp`: named after its owner, like the staging files. */
export function spoolPrefix(tmp: string, probe: OwnerProbe = systemProbe): string {
  const me = currentOwner(probe);
  return join(tmp, `${SPOOL}${me.pid}-${me.startTime ?? '0'}-${machineTag(me)}-`);
}

/**
 * Removes spool folders whose backup was killed (`kill -9`: no cleanup ran). They hold a
 * plaintext copy of a database, so they must not stay in the temp directory for long.
 */
export async function clearSpoolLeftovers(tmp: string, reporter: Reporter, probe: OwnerProbe = systemProbe): Promise<void> {
  const me = currentOwner(probe);
  const tag = machineTag(me);
  if (!me.bootId || !me.pidNamespace) return;
  for (const n of await readdir(tmp).catch(() => [] as string[])) {
    if (!n.startsWith(SPOOL)) continue;
    const owner = SPOOL_OWNED.exec(n.slice(SPOOL.length));
    if (!owner || owner[3] !== tag) continue;
    const startTime = owner[2] === '0' ? undefined : owner[2];
    if (!ownerIsGone({ ...me, pid: Number(owner[1]), startTime }, probe)) continue;
    await rm(join(tmp, n), { recursive: true, force: true }).then(
      () => reporter.debug(`removed ${printable(join(tmp, n))}, the copy of an SQLite backup that was killed (process ${owner[1]} is gone)`),
      (err: unknown) => reporter.warning(`could not remove ${printable(join(tmp, n))}, left by a killed SQLite backup: ${printable(errorMessage(err))}`),
    );
  }
}

/** Removes staging files (and their -wal/-shm/-journal) of restores of `target` whose process is gone. */
export async function clearStagingLeftovers(target: string, reporter: Reporter, probe: OwnerProbe = systemProbe): Promise<void> {
  const name = basename(target);
  const me = currentOwner(probe);
  const tag = machineTag(me);
  for (const n of await readdir(dirname(target)).catch(() => [] as string[])) {
    if (!n.startsWith(`${name}${STAGING}`)) continue;
    const owner = OWNED.exec(n.slice(name.length + STAGING.length));
    const at = join(dirname(target), n);
    if (!owner || owner[3] !== tag || !me.bootId || !me.pidNamespace) {
      reporter.warning(`${printable(at)} is a partial restore of ${printable(target)} from another host, an earlier boot or an older version; it is left alone (remove it once no restore of ${printable(target)} is running)`);
      continue;
    }
    const startTime = owner[2] === '0' ? undefined : owner[2];
    if (!ownerIsGone({ ...me, pid: Number(owner[1]), startTime }, probe)) continue;
    try {
      await rm(at, { force: true });
      reporter.info(`removed ${printable(at)}, left by an interrupted restore (process ${owner[1]} is gone)`);
    } catch (err) {
      reporter.warning(`could not remove ${printable(at)}, left by an interrupted restore: ${printable(errorMessage(err))}`);
    }
  }
}

import { RefusedError } from '../../shared/errors.js';
import { formatBytes } from '../../shared/format.js';
import { printable } from '../../shared/text.js';

/** More than this share down against the previous backup, in members or bytes, is refused. */
export const SHIELD_SHARE = 0.5;

/**
 * The delete shield: a source listing that is empty, or down more than half in members or bytes
 * against the previous complete backup of the same artifact, is far more often wrong credentials,
 * a wrong prefix or a mass deletion than intended. Refused before the manifest (nothing
 * committed; the packs written are prune's) unless --allow-shrink. Exit code 7.
 */
export function checkShield(
  artifact: string,
  now: { members: number; bytes: number },
  previous: { id: string; members: number; bytes: number } | undefined,
  allowShrink: boolean,
): void {
  if (allowShrink) return;
  const hint = 'check the source location and its credentials; if the source really shrank, rerun with --allow-shrink (input allow-shrink: true)';
  const name = printable(artifact);
  if (now.members === 0) {
    const before = previous ? ` (the previous backup ${previous.id} had ${previous.members} members, ${formatBytes(previous.bytes)})` : '';
    throw new RefusedError(`${name}: the source lists no members${before}; refusing to commit an empty backup, nothing was committed`, hint);
  }
  if (!previous) return;
  const membersDown = previous.members > 0 && now.members < previous.members * (1 - SHIELD_SHARE);
  const bytesDown = previous.bytes > 0 && now.bytes < previous.bytes * (1 - SHIELD_SHARE);
  if (!membersDown && !bytesDown) return;
  throw new RefusedError(
    `${name}: the source holds ${now.members} members (${formatBytes(now.bytes)}), down from ${previous.members} (${formatBytes(previous.bytes)}) in the previous backup ${previous.id}, more than ${SHIELD_SHARE * 100} % fewer ${membersDown ? 'members' : 'bytes'}; nothing was committed`,
    hint,
  );
}

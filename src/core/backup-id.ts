import { randomBytes } from 'node:crypto';

/**
 * Backup ids sort by time as plain strings: `20261123T113421Z-3f9c2a`. The random suffix
 * keeps two runs started in the same second apart. Ordering decisions (latest, retention)
 * still use the manifest's timestamps, never the id.
 */
export const BACKUP_ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newBackupId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function isBackupId(s: string): boolean {
  return BACKUP_ID_PATTERN.test(s);
}

import { formatBytes } from '../shared/format.js';
import type { RunEvent } from './event.js';

/** The words people read in a chat message, a mail subject or a healthcheck log. */
const OUTCOME: Record<RunEvent['status'], string> = {
  success: 'succeeded',
  failure: 'FAILED',
  partial: 'partly failed',
  alert: 'succeeded with alerts',
};

/** `backup FAILED on db-host (acme/shop)` */
export function headline(e: RunEvent): string {
  return `Strongbox ${e.operation} ${OUTCOME[e.status]} on ${e.host}${e.github?.repository ? ` (${e.github.repository})` : ''}`;
}

/** The figures, one per line, plain text; the channel escapes them for its format. */
export function detailLines(e: RunEvent): string[] {
  const lines: string[] = [];
  const figures = [
    e.backupId && `backup ${e.backupId}`,
    e.series && `series ${e.series}`,
    e.labels?.length && `labels ${e.labels.join(', ')}`,
    e.storedBytes !== undefined && `${formatBytes(e.storedBytes)} stored${e.plaintextBytes !== undefined ? ` (${formatBytes(e.plaintextBytes)} before compression)` : ''}`,
    `took ${e.durationSeconds.toFixed(1)} s`,
    `exit code ${e.exitCode}`,
  ].filter(Boolean);
  lines.push(figures.join(' · '));
  if (e.error) lines.push(`error: ${e.error.message}`, ...(e.error.hint ? [`hint: ${e.error.hint}`] : []));
  for (const d of e.destinations ?? []) lines.push(`${d.location}: ${d.status}${d.error ? ` (${d.error})` : ''}`);
  for (const a of e.alerts ?? []) lines.push(`alert: ${a.message}`);
  if (e.metadata && Object.keys(e.metadata).length) lines.push(`metadata: ${Object.entries(e.metadata).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  return lines;
}

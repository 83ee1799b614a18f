import type { SignatureStatus } from '../core/trust.js';
import { describeSignature } from '../core/trust.js';
import type { Manifest } from '../core/types.js';
import { formatBytes } from '../shared/format.js';
import { printable } from '../shared/text.js';
import { formatSeconds, shortTime } from './history-text.js';
import { collectionFigures } from '../core/collection/summary.js';
import { describeMembers, describePacks } from './collection-text.js';

/** `strongbox show`: a backup's manifest for a person reading it at a terminal. Everything from the manifest goes through printable. */

export function formatShow(m: Manifest, series: string, signature: SignatureStatus): string {
  const p = printable;
  const o = m.origin;
  const lines: string[] = [];
  const field = (name: string, value: string) => lines.push(`${name.padEnd(11)}${value}`);
  lines.push(`backup ${p(m.id)}`);
  field('time', `${shortTime(m.startedAt)} … ${shortTime(m.finishedAt)} (${formatSeconds(typeof m.durationSeconds === 'number' ? m.durationSeconds : 0)})`);
  field('series', p(series));
  field('labels', m.labels.length ? m.labels.map(p).join(', ') : '-');
  const meta = Object.entries(m.metadata ?? {});
  field('metadata', meta.length ? meta.map(([k, v]) => `${p(k)}=${p(v)}`).join(', ') : '-');
  const run = [o.repository && `repository ${p(o.repository)}`, o.workflow && `workflow ${p(o.workflow)}`, o.runId && `run ${p(o.runId)}${o.runAttempt ? ` (attempt ${p(o.runAttempt)})` : ''}`, o.actor && `by ${p(o.actor)}`, o.eventName && `on ${p(o.eventName)}`];
  field('origin', [`host ${p(o.host ?? '?')}`, ...run].filter(Boolean).join(', '));
  if (o.sha || o.ref) field('git', `${p(o.sha ?? '?')}${o.ref ? ` ${p(o.ref)}` : ''} (the run that took it)`);
  if (o.deployedSha || o.deployedRef) field('deployed', `${p(o.deployedSha ?? '?')}${o.deployedRef ? ` ${p(o.deployedRef)}` : ''} (the release running against this data)`);
  field('tool', `${p(m.tool?.name ?? 'strongbox')} ${p(m.tool?.version ?? '?')}, format ${p(m.format)}`);
  const enc = m.encryption;
  field('encryption', describeEncryption(enc, p));
  field('signature', describeSignature(signature, false));
  const stored = m.artifacts.reduce((n, a) => n + a.stored.size, 0);
  const plain = m.artifacts.reduce((n, a) => n + a.plaintext.size, 0);
  field('size', `${formatBytes(stored)} stored, ${formatBytes(plain)} plaintext`);
  const alerts = Array.isArray(m.alerts) ? m.alerts : [];
  field('alerts', alerts.length ? `${alerts.length}` : 'none');
  for (const a of alerts) lines.push(`  ! ${p(String(a.message))}`);
  lines.push(`artifacts  ${m.artifacts.length}`);
  for (const a of m.artifacts) {
    const s = a.source ?? {};
    const src = Object.entries(s)
      .filter(([, v]) => v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v)))
      .map(([k, v]) => `${p(k)} ${p(String(v))}`)
      .join(', ');
    lines.push(`  ${p(a.name)} (${p(a.kind)})`);
    if (src) lines.push(`    source     ${src}`);
    const c = collectionFigures(a);
    lines.push(`    object     ${p(a.key)}${c ? ' (the index of a collection)' : ''}`);
    if (c) {
      lines.push(`    members    ${describeMembers(c)}`);
      lines.push(`    packs      ${describePacks(c)}`);
      if (typeof a.collection?.refs?.key === 'string') lines.push(`    refs       ${p(a.collection.refs.key)}`);
    }
    lines.push(`    plaintext  ${formatBytes(a.plaintext.size)}  sha256 ${p(a.plaintext.sha256)}`);
    lines.push(`    stored     ${formatBytes(a.stored.size)}  sha256 ${p(a.stored.sha256)}`);
    lines.push(`    codecs     ${p(a.compression.algorithm)}${a.compression.level !== undefined ? ` level ${a.compression.level}` : ''}, encryption ${p(a.encryption.scheme)}`);
    const rows = Object.entries(a.rowCounts ?? {});
    if (rows.length) {
      const total = rows.reduce((n, [, c]) => n + c, 0);
      lines.push(`    rows       ${total} in ${rows.length} table(s)${a.rowCountMode === 'estimate' ? ' (estimates)' : ''}`);
      const width = Math.max(...rows.map(([t]) => p(t).length));
      for (const [t, c] of rows) lines.push(`      ${p(t).padEnd(width)}  ${c}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** `age, passphrase (scrypt)` for a passphrase backup ('scrypt' marks it among the recipients), else the recipients' fingerprints. */
function describeEncryption(enc: { scheme: string; recipients: string[] }, p: (s: string) => string): string {
  if (enc.scheme === 'none') return 'none (unencrypted)';
  if (enc.recipients.length === 1 && enc.recipients[0] === 'scrypt') return 'age, passphrase (scrypt)';
  return `age, ${enc.recipients.length} recipient(s): ${enc.recipients.map(p).join(', ')}`;
}

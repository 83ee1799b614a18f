import * as core from '@actions/core';
import { escapeHtmlText as escapeHtml } from '../report/escape.js';
import { StrongboxError, errorMessage } from '../shared/errors.js';
import { AllDestinationsFailedError, type DestinationOutcome } from '../core/destination-run.js';
import type { Reporter } from '../shared/reporter.js';
import { listBackups } from '../core/repository.js';
import type { Destination } from '../destinations/types.js';
import type { LocationOutcome } from '../core/after-backup.js';
import { printable } from '../shared/text.js';

/** What the backup action knew when it failed, filled in as it goes. */
export interface BackupRunState {
  /** When the action started: a complete backup started since then, by this run, is its own. */
  started: Date;
  runId?: string;
  stage: string;
  destinations: Destination[];
  /** Set once the backup is committed (a later verify or prune may still fail). */
  committedId?: string;
  /** How each destination ended, once the backup returned (committed or failed, and why). */
  outcomes?: DestinationOutcome[];
  /** Values that must not reach the summary (the runner masks logs, not necessarily this). */
  secrets: string[];
}

const SILENT: Reporter = { debug: () => {}, info: () => {}, warning: () => {}, error: () => {}, setSecret: () => {} };
const READ_TIMEOUT_MS = 20_000;

/**
 * The job summary of a failed backup: what failed, the hint, and what each destination
 * holds now, read back best effort (an unreachable store gets a line saying so, after at
 * most READ_TIMEOUT_MS), so whoever reads it knows whether the data is safe.
 */
export async function writeBackupFailureSummary(err: unknown, exitCode: number, state: BackupRunState, budgetMs?: number): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  // After a cancellation the reads share what is left of the grace, keeping some for the write.
  const timeoutMs = budgetMs === undefined ? READ_TIMEOUT_MS : Math.max(100, (budgetMs - 300) / Math.max(1, state.destinations.length));
  const scrub = (text: string) =>
    state.secrets
      .filter(Boolean)
      .reduce((t, s) => t.split(s).join('***'), text)
      .split(/\r?\n\s*/)
      .map((line) => escapeHtml(printable(line)))
      .join('<br>');
  const hint = err instanceof StrongboxError ? err.hint : undefined;
  // Every destination failed: each one's own reason (the message lists them too, as one block).
  const outcomes = err instanceof AllDestinationsFailedError ? err.outcomes : state.outcomes;
  if (err instanceof AllDestinationsFailedError) core.setOutput('destinations', JSON.stringify(err.outcomes));
  const reasonOf = (dest: Destination) => outcomes?.find((o) => o.location === dest.display);
  const rows: string[][] = [];
  for (const dest of state.destinations) {
    const o = reasonOf(dest);
    const row = [`<code>${scrub(dest.display)}</code>`, scrub(await holds(dest, state, timeoutMs))];
    if (outcomes) row.push(o?.status === 'failed' ? scrub(`failed: ${o.error}${o.hint ? ` (${o.hint})` : ''}`) : 'committed');
    rows.push(row);
  }

  const s = core.summary.emptyBuffer();
  s.addHeading('Strongbox backup: FAILED', 2)
    .addRaw(`<p><strong>What failed</strong> (${scrub(state.stage)}, exit code ${exitCode}): ${scrub(errorMessage(err))}</p>`, true);
  if (hint) s.addRaw(`<p><strong>Hint:</strong> ${scrub(hint)}</p>`, true);
  if (state.committedId) s.addRaw(`<p>The backup itself, <code>${state.committedId}</code>, was committed before the failure.</p>`, true);
  if (rows.length) {
    s.addTable([
      [
        { data: 'Destination', header: true },
        { data: 'What it holds now', header: true },
        ...(outcomes ? [{ data: 'This run', header: true }] : []),
      ],
      ...rows,
    ]);
  } else s.addRaw('<p>No destination was opened: the inputs were refused before anything was written.</p>', true);
  await s.write();
}

/** The job summary's table of a backup's destinations and tiers: Destination | Status | Reason | Pruned. */
export function destinationRows(outcomes: LocationOutcome[], secrets: string[]): ({ data: string; header: true } | string)[][] {
  const clean = (text: string) =>
    escapeHtml(printable(secrets.filter(Boolean).reduce((t, s) => t.split(s).join('***'), text)));
  return [
    [
      { data: 'Destination', header: true },
      { data: 'Status', header: true },
      { data: 'Reason', header: true },
      { data: 'Pruned', header: true },
    ],
    ...outcomes.map((o) => [
      `<code>${clean(o.location)}</code>${o.tier ? ' (copy-to)' : ''}`,
      o.tier && o.status === 'committed' ? 'copied' : o.status,
      o.status === 'failed' ? `${clean(o.error ?? '')}${o.hint ? `<br>${clean(o.hint)}` : ''}` : '',
      (o.pruned === undefined ? '' : o.pruned.length ? o.pruned.map((id) => `<code>${id}</code>`).join(' ') : 'none') + guardNote(o),
    ]),
  ];
}

/** A held series in the Pruned column, so "none" is not read as "nothing to remove". */
function guardNote(o: LocationOutcome): string {
  const held = (o.guarded ?? []).filter((g) => !g.forced);
  return held.length ? ` (retention guard: kept ${held.reduce((n, g) => n + g.spared.length, 0)})` : '';
}

async function holds(dest: Destination, state: BackupRunState, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const read = listBackups(dest, SILENT);
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      timer.unref();
    });
    read.catch(() => undefined); // a late rejection after the timeout is not an unhandled one
    const entries = (await Promise.race([read, late])).filter((e) => e.complete && e.manifest);
    const ours = entries.filter(
      (e) => e.id === state.committedId || (e.time >= state.started && !!state.runId && e.manifest!.origin.runId === state.runId),
    );
    const newest = entries[entries.length - 1];
    const newestText = newest ? `newest complete backup there: ${newest.id} ${newest.manifest!.startedAt}` : 'it holds no complete backup';
    if (ours.length) return `this run's backup ${ours[ours.length - 1]!.id} is committed there; ${newestText}`;
    return `nothing of this run was committed; ${newestText}`;
  } catch (e) {
    const why = `could not be read now (${errorMessage(e)})`;
    const committedHere = state.committedId && state.outcomes?.find((o) => o.location === dest.display)?.status !== 'failed';
    return committedHere ? `this run's backup ${state.committedId} was committed there; ${why}` : `${why}; check with strongbox list before relying on it`;
  } finally {
    if (timer) clearTimeout(timer);
  }
}


import { Buffer } from 'node:buffer';
import type { Destination } from '../destinations/types.js';
import { ExitCode, NotFoundError, StrongboxError, errorMessage } from '../shared/errors.js';
import { isBackupId } from './backup-id.js';
import { NoRepositoryError, readManifestWithBytes } from './repository.js';
import type { Manifest } from './types.js';
import { secondsSince } from './duration.js';
import { verify, type VerifyOptions, type VerifyResult } from './verify.js';

export interface VerifyAcrossOptions extends Omit<VerifyOptions, 'destination'> {
  /** Two or more locations; the selector is resolved at the first. */
  destinations: Destination[];
}

export interface LocationProblem {
  location: string;
  artifact?: string;
  problem: string;
}

export interface LocationVerify {
  location: string;
  /** The usual verify at this location, when it could run. */
  result?: VerifyResult;
  /** Why it could not (the backup is missing there, the location is unreachable). */
  error?: { message: string; hint?: string; exitCode: number };
}

export interface VerifyAcrossResult {
  ok: boolean;
  backupId: string;
  /** Every location holds the backup with the same manifest (same artifacts, stored sizes and SHA-256s). */
  consistent: boolean;
  locations: LocationVerify[];
  /** What differs between locations (each location's own verify problems are in its result). */
  problems: LocationProblem[];
  exitCode: number;
  /** Every location's verify and the comparison, end to end. */
  durationSeconds: number;
}

/**
 * The "SHA-256 across all locations" check: one backup (resolved to one id at the first
 * location) is verified at every location, and the manifests must agree on every artifact's
 * stored size and SHA-256 — a copy is byte-identical, so any difference is a problem.
 */
export async function verifyAcross(opts: VerifyAcrossOptions): Promise<VerifyAcrossResult> {
  const [first, ...rest] = opts.destinations;
  if (!first || !rest.length) throw new StrongboxError('verifyAcross needs two or more locations');
  const { reporter } = opts;
  const started = (opts.now ?? (() => new Date()))();
  const locations: LocationVerify[] = [];
  const problems: LocationProblem[] = [];
  // The first location names the backup; without an id nothing else can be checked.
  let backupId = isBackupId(opts.selector) ? opts.selector : undefined;
  const runAt = async (dest: Destination, selector: string) => {
    try {
      const result = await verify({ ...opts, destination: dest, selector });
      locations.push({ location: dest.display, result });
      return result;
    } catch (err) {
      if (!(err instanceof StrongboxError) || (!backupId && dest === first)) throw err;
      // The backup missing from a location is what this check finds (3); a location without any
      // repository (an unmounted NAS) could not be checked at all, and keeps its own code (4).
      const missing = err instanceof NotFoundError && !(err instanceof NoRepositoryError);
      const exitCode = missing ? ExitCode.verifyFailed : err.exitCode;
      locations.push({ location: dest.display, error: { message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode } });
      problems.push({ location: dest.display, problem: missing ? `does not hold backup ${backupId}: ${err.message}` : err.message });
      reporter.error(`FAILED at ${dest.display}: ${missing ? `backup ${backupId} is not there (${errorMessage(err)})` : errorMessage(err)}`);
      return undefined;
    }
  };
  const firstResult = await runAt(first, opts.selector);
  backupId ??= firstResult!.backupId;
  for (const dest of rest) await runAt(dest, backupId);

  // Compare what each location's manifest records with the first one that has it.
  const manifests: { dest: Destination; manifest: Manifest; bytes: Uint8Array }[] = [];
  for (const [i, dest] of opts.destinations.entries()) {
    if (!locations[i]!.result) continue;
    const { manifest, bytes } = await readManifestWithBytes(dest, backupId);
    manifests.push({ dest, manifest, bytes });
  }
  const reference = manifests[0];
  if (reference) {
    for (const other of manifests.slice(1)) {
      const found = compareManifests(reference.manifest, other.manifest, reference.dest.display);
      for (const f of found) problems.push({ location: other.dest.display, ...f });
      if (!found.length && Buffer.compare(Buffer.from(reference.bytes), Buffer.from(other.bytes)) !== 0) {
        problems.push({ location: other.dest.display, problem: `the manifest of ${backupId} differs from the one at ${reference.dest.display} (same artifacts and checksums)` });
      }
    }
  }
  for (const p of problems.filter((p) => locations.find((l) => l.location === p.location)?.result)) {
    reporter.error(`FAILED at ${p.location}${p.artifact ? `, artifact ${p.artifact}` : ''}: ${p.problem}`);
  }
  const locationCodes = locations.map((l) => l.result?.exitCode ?? l.error!.exitCode);
  const consistent = problems.length === 0 && locations.every((l) => l.result);
  const ok = consistent && locations.every((l) => l.result?.ok);
  // Could not check somewhere (unreachable, locked, wrong key) outranks "checked and found a problem".
  const other = locationCodes.find((c) => c !== ExitCode.ok && c !== ExitCode.verifyFailed);
  const exitCode = ok ? ExitCode.ok : (other ?? ExitCode.verifyFailed);
  return { ok, backupId, consistent, locations, problems, exitCode, durationSeconds: secondsSince(started, opts.now) };
}

function compareManifests(ref: Manifest, other: Manifest, refAt: string): Omit<LocationProblem, 'location'>[] {
  const out: Omit<LocationProblem, 'location'>[] = [];
  const byName = new Map(other.artifacts.map((a) => [a.name, a]));
  for (const a of ref.artifacts) {
    const b = byName.get(a.name);
    if (!b) {
      out.push({ artifact: a.name, problem: `artifact is missing here (it is at ${refAt})` });
      continue;
    }
    if (b.key !== a.key) out.push({ artifact: a.name, problem: `stored as ${b.key}, at ${refAt} as ${a.key}` });
    if (b.stored.size !== a.stored.size || b.stored.sha256 !== a.stored.sha256) {
      out.push({
        artifact: a.name,
        problem: `stored ${b.stored.size} bytes with SHA-256 ${b.stored.sha256}, at ${refAt} ${a.stored.size} bytes with SHA-256 ${a.stored.sha256}`,
      });
    }
  }
  const names = new Set(ref.artifacts.map((a) => a.name));
  for (const b of other.artifacts) if (!names.has(b.name)) out.push({ artifact: b.name, problem: `artifact is not at ${refAt}` });
  return out;
}

import { isBackupId } from './backup-id.js';
import { objectName } from '../destinations/types.js';
import { NotFoundError, RefusedError, StrongboxError, UsageError, VerificationError, errorMessage } from '../shared/errors.js';
import { ManifestError, parseManifest } from './manifest.js';
import type { Reporter } from '../shared/reporter.js';
import { FORMAT_VERSION, MANIFEST_NAME, type Manifest } from './types.js';
import type { Destination, ObjectInfo } from '../destinations/types.js';
import type { ArtifactKind } from '../sources/adapter.js';
import { printable, shellWord } from '../shared/text.js';
import { sourceIdentity } from './series.js';

/**
 * The layout of a Strongbox repository at a destination root:
 *   strongbox.json             marker: "a repository lives here" (format, creation time)
 *   <backup-id>/<artifact>     stored artifacts
 *   <backup-id>/manifest.json.sig  SSH signature of the manifest's bytes (signed backups),
 *                              written before the manifest
 *   <backup-id>/manifest.json  written last; its presence makes the backup complete
 *   locks/<lock-id>.json       run coordination
 */
export const MARKER = 'strongbox.json';

export function objectKey(backupId: string, name: string): string {
  return `${backupId}/${name}`;
}

/** What a location holds before a backup or init: a repository, nothing, or something else. */
export type LocationState = { kind: 'repository' } | { kind: 'empty' } | { kind: 'occupied'; names: string[] };

const NAMES_SHOWN = 5;

/**
 * Reads the marker, and without one what else is there. A missing bucket throws (the store's
 * NotFoundError names bucket and endpoint), so it is never taken for an empty location.
 */
export async function inspectLocation(dest: Destination): Promise<LocationState> {
  if (await dest.stat(MARKER)) return { kind: 'repository' };
  const names = dest.peek ? await dest.peek(NAMES_SHOWN) : await firstKeys(dest, NAMES_SHOWN);
  if (await dest.stat(MARKER)) return { kind: 'repository' }; // created meanwhile (a parallel init)
  return names.length ? { kind: 'occupied', names } : { kind: 'empty' };
}

async function firstKeys(dest: Destination, limit: number): Promise<string[]> {
  const names: string[] = [];
  for await (const o of dest.list('')) {
    names.push(o.key);
    if (names.length >= limit) break;
  }
  return names;
}

function occupiedError(dest: Destination, names: string[]): RefusedError {
  const shown = names.map((n) => printable(n)).join(', ');
  return new RefusedError(
    `will not create a Strongbox repository at ${dest.display}: it already holds other data (${shown}${names.length >= NAMES_SHOWN ? ', …' : ''}) but no ${MARKER}`,
    'that is usually a wrong path or prefix: check it, or choose an empty or new location',
  );
}

/** Writes the marker at a location inspectLocation and checkNewRoot found fit (a local folder, never its parents, is created). */
export async function createRepository(dest: Destination, now: Date): Promise<void> {
  await dest.createRoot?.();
  const body = Buffer.from(JSON.stringify({ format: FORMAT_VERSION, createdAt: now.toISOString() }) + '\n');
  // A parallel init may win the race; its marker is as good as ours.
  if (dest.putBytesIfAbsent) await dest.putBytesIfAbsent(MARKER, body);
  else await dest.putBytes(MARKER, body);
}

/**
 * `strongbox init`: creates repositories, or confirms they are there (changing nothing). A
 * location holding other data but no marker is refused: that is usually a wrong path. All are
 * checked before any is created. Returns, per destination, whether it was created.
 */
export async function initRepositories(dests: Destination[], now: Date, warn?: (message: string) => void): Promise<boolean[]> {
  const created = await ensureRepositories(dests, now, true, warn);
  return dests.map((d) => created.includes(d));
}

/**
 * Whether a backup may write to `dest`: it holds a repository (`create: false`), or (with
 * `init`) one may be created there by the rules of `strongbox init` (`create: true`, with the
 * warnings checkNewRoot gave). Throws what stops it: no repository, other data, an unmounted share.
 */
export async function checkRepository(dest: Destination, init: boolean): Promise<{ create: boolean; warnings: string[] }> {
  const state = await inspectLocation(dest);
  if (state.kind === 'repository') return { create: false, warnings: [] };
  if (!init) throw await noRepositoryError(dest, state, true);
  if (state.kind === 'occupied') throw occupiedError(dest, state.names);
  return { create: true, warnings: dest.checkNewRoot ? await dest.checkNewRoot() : [] };
}

/**
 * Every destination must hold a repository, or (with `init`) be creatable by the rules of
 * `strongbox init`. All are checked before any is created, so a refusal at one destination
 * leaves the others untouched.
 */
export async function ensureRepositories(dests: Destination[], now: Date, init = false, warn?: (message: string) => void): Promise<Destination[]> {
  const missing: Destination[] = [];
  const warnings: string[] = [];
  for (const dest of dests) {
    const check = await checkRepository(dest, init);
    warnings.push(...check.warnings);
    if (check.create) missing.push(dest);
  }
  for (const w of warnings) warn?.(w);
  for (const dest of missing) await createRepository(dest, now);
  return missing;
}

/** No repository at a location at all (as opposed to a backup missing from one): exit 4. */
export class NoRepositoryError extends NotFoundError {}

async function noRepositoryError(dest: Destination, state: LocationState, forBackup: boolean): Promise<NotFoundError> {
  const where = dest.localPath ? 'the folder is empty or missing' : 'nothing is stored there';
  const what = state.kind === 'empty' ? `${MARKER} is missing; ${where}` : `${MARKER} is missing`;
  // Something else lives there: most likely a wrong path, and init would refuse it anyway.
  if (state.kind === 'occupied') return new NoRepositoryError(`no Strongbox repository at ${dest.display} (${what})`, `check the path: it holds ${state.names.map((n) => printable(n)).join(', ')}, but no repository`);
  // A NAS or drive that is not mounted looks like a missing folder under an empty (or missing)
  // one: say so, and offer no --init, which would fill the disk below the mount point.
  const unmounted = await newRootProblem(dest);
  if (unmounted) return new NoRepositoryError(`no Strongbox repository at ${dest.display} (${what}): ${unmounted}`, 'mount the volume (or fix the path) and run again; only a location that really is new needs `strongbox init`');
  const check = dest.localPath ? 'for a NAS or removable volume, check that it is mounted' : 'check the bucket and prefix (and, for a non-AWS store, --endpoint or --preset)';
  // A non-AWS store needs its --endpoint (or --preset) on init too, or init looks in AWS.
  // The location URL carries its settings when it has any; else the flags must be repeated.
  const to = dest.location ?? dest.display;
  const storeFlags = dest.localPath || to.includes('?') ? '' : ' plus the same --endpoint/--preset/--region';
  const create = `to start a new repository here, run \`strongbox init --to ${shellWord(to)}\`${storeFlags}${forBackup ? ' or pass --init (action input init: true)' : ''}`;
  return new NoRepositoryError(`no Strongbox repository at ${dest.display} (${what})`, `${check}; ${create}`);
}

/** Why creating the repository here would be wrong (a missing or empty parent, an unmounted mount point); undefined when nothing says so. */
async function newRootProblem(dest: Destination): Promise<string | undefined> {
  if (!dest.checkNewRoot) return undefined;
  try {
    const warnings = await dest.checkNewRoot();
    return warnings.length ? warnings.join('; ') : undefined;
  } catch (err) {
    return err instanceof StrongboxError ? err.message.replace(/^will not create a Strongbox repository at [^:]*: /, '') : undefined;
  }
}

/**
 * Readers insist on the marker, so an unmounted NAS share (an empty folder where the
 * repository used to be), a mistyped prefix or a wrong bucket is reported as such instead of
 * as "no backups".
 */
export async function assertRepository(dest: Destination): Promise<void> {
  if (await dest.stat(MARKER)) return;
  throw await noRepositoryError(dest, await inspectLocation(dest), false);
}

export interface BackupEntry {
  id: string;
  /** True when the manifest exists and parsed. */
  complete: boolean;
  manifest?: Manifest;
  /** The manifest exactly as stored: what its signature covers. */
  manifestBytes?: Uint8Array;
  /** Why a backup with a manifest is unusable (malformed, unknown format). */
  damaged?: string;
  /** What to do about it: upgrade Strongbox (unknown format), or choose another backup. */
  damagedHint?: string;
  objects: ObjectInfo[];
  /** Manifest start time for complete backups; newest object time for incomplete ones. */
  time: Date;
}

/** Every backup folder at the destination, complete or not, oldest first by manifest time. */
export async function listBackups(dest: Destination, reporter: Reporter): Promise<BackupEntry[]> {
  await assertRepository(dest);
  const folders = new Map<string, ObjectInfo[]>();
  for await (const obj of dest.list('')) {
    const slash = obj.key.indexOf('/');
    if (slash < 0) continue;
    const id = obj.key.slice(0, slash);
    if (!isBackupId(id)) continue;
    let list = folders.get(id);
    if (!list) folders.set(id, (list = []));
    list.push(obj);
  }
  const entries: BackupEntry[] = [];
  for (const [id, objects] of folders) {
    const newest = new Date(Math.max(0, ...objects.map((o) => o.lastModified?.getTime() ?? 0)));
    const hasManifest = objects.some((o) => o.key === objectKey(id, MANIFEST_NAME));
    if (!hasManifest) {
      entries.push({ id, complete: false, objects, time: newest });
      continue;
    }
    try {
      const { manifest, bytes } = await readManifestWithBytes(dest, id);
      entries.push({ id, complete: true, manifest, manifestBytes: bytes, objects, time: new Date(manifest.startedAt) });
    } catch (err) {
      reporter.warning(errorMessage(err));
      const hint = err instanceof ManifestError && err.unknownFormat ? 'upgrade Strongbox to read it' : 'the backup is damaged; choose another backup';
      entries.push({ id, complete: false, damaged: errorMessage(err), damagedHint: hint, objects, time: newest });
    }
  }
  return entries.sort((a, b) => a.time.getTime() - b.time.getTime() || a.id.localeCompare(b.id));
}

export async function readManifestWithBytes(dest: Destination, id: string): Promise<{ manifest: Manifest; bytes: Uint8Array }> {
  const key = objectKey(id, MANIFEST_NAME);
  const bytes = await dest.getBytes(key);
  if (!bytes) throw new NotFoundError(`backup ${id} has no manifest at ${dest.display}`, 'it is incomplete (an interrupted run) and cannot be restored');
  const manifest = parseManifest(bytes, `${objectName(dest, key)}`);
  if (manifest.id !== id) throw new StrongboxError(`manifest ${objectName(dest, key)} names backup ${manifest.id}, not ${id}`);
  return { manifest, bytes };
}

export interface Selection {
  /** `latest`, `label:NAME`, or a backup id. */
  selector: string;
  /** A git sha (prefix ≥ 7) or an ISO time: choose among backups taken before it. */
  before?: string;
  /** Refuse when several backups match (rollback), instead of taking the newest (restore). */
  unique?: boolean;
  /**
   * What the caller will restore: `latest` then means the newest backup holding all of it
   * (a newer db-only snapshot must not hide the files backup); an explicit id or label keeps
   * its exact meaning and is refused if it lacks something.
   */
  needs?: { kinds?: ArtifactKind[]; names?: string[] };
}

/** What of `needs` a manifest lacks (all of it without one), in words: `files data`, `artifact "x"`. */
export function missingContent(m: Pick<Manifest, 'artifacts'> | undefined, needs: Selection['needs']): string[] {
  const has = (ok: (a: Manifest['artifacts'][number]) => boolean) => !!m?.artifacts.some(ok);
  const missing = (needs?.kinds ?? []).filter((k) => !has((a) => a.kind === k)).map((k) => `${k} data`);
  for (const n of needs?.names ?? []) if (!has((a) => a.name === n)) missing.push(`artifact "${printable(n)}"`);
  return missing;
}

export function describeBackup(e: BackupEntry): string {
  const m = e.manifest;
  if (e.damaged) return `${printable(e.id)} DAMAGED: ${e.damaged} (${e.damagedHint ?? 'choose another backup'})`;
  if (!m) return `${printable(e.id)} (incomplete)`;
  const labels = m.labels.length ? ` [${m.labels.join(', ')}]` : '';
  // The run's sha is the run that took the backup; the deployed sha the release to redeploy.
  const sha = m.origin.sha ? ` run sha ${m.origin.sha.slice(0, 12)}` : '';
  const deployed = m.origin.deployedSha ? ` deployed ${m.origin.deployedSha.slice(0, 12)}` : '';
  return printable(`${m.id} ${m.startedAt}${labels}${sha}${deployed}`);
}

/** An artifact with what it was taken from: `files-data (/srv/x/data)`, so same names are told apart. */
export function describeArtifact(a: Pick<Manifest['artifacts'][number], 'name' | 'kind' | 'source'>): string {
  const from = sourceIdentity(a);
  return `${printable(a.name)} (${printable(a.kind)}${from ? `: ${printable(from)}` : ''})`;
}

/** Damaged backups (a manifest there but unreadable) as one exit-3 error, with what to do. */
export function damagedError(
  bad: BackupEntry[],
  o: { where?: string; tail?: string; otherwise?: string } = {},
): VerificationError {
  const upgrade = (e: BackupEntry) => !!e.damagedHint?.startsWith('upgrade');
  const at = o.where ? ` at ${o.where}` : '';
  const lines = bad.slice(0, 5).map((e) => `backup ${e.id}${at} ${upgrade(e) ? 'cannot be read' : 'is damaged'}: ${e.damaged}`);
  if (bad.length > 5) lines.push(`and ${bad.length - 5} more`);
  const otherwise = o.otherwise ?? 'no older complete backup is there to use instead; check the storage and run a new backup';
  return new VerificationError(`${lines.join('\n')}${o.tail ?? ''}`, bad.some(upgrade) ? 'upgrade Strongbox to read it' : otherwise);
}

/** `latest` took an older backup because newer ones are damaged: said, so nobody restores old data unawares. */
export function warnNewerDamaged(entries: BackupEntry[], chosen: BackupEntry, selector: string, reporter: Reporter): void {
  if (selector !== 'latest') return;
  const newer = entries.filter((e) => e.damaged && e.time > chosen.time).reverse();
  if (!newer.length) return;
  reporter.warning(
    `newer backup(s) ${newer.slice(0, 5).map((e) => e.id).join(', ')}${newer.length > 5 ? ', …' : ''} ${newer.length > 1 ? 'are' : 'is'} damaged (${newer[0]!.damagedHint}); using the older complete backup ${chosen.id}`,
  );
}

/** Picks one complete backup; refuses with the candidates listed when it can't. */
export function selectBackup(entries: BackupEntry[], sel: Selection): BackupEntry & { manifest: Manifest } {
  const complete = entries.filter((e): e is BackupEntry & { manifest: Manifest } => e.complete && !!e.manifest);
  let matches = complete;
  const s = sel.selector;
  if (s === 'latest') {
    matches = complete.filter((e) => missingContent(e.manifest, sel.needs).length === 0);
  } else if (s.startsWith('label:')) {
    const label = s.slice('label:'.length);
    if (!label) throw new UsageError('--backup label: needs a label name, e.g. label:pre-release');
    matches = complete.filter((e) => e.manifest.labels.includes(label));
  } else if (isBackupId(s)) {
    const found = entries.find((e) => e.id === s);
    if (found?.damaged) throw damagedError([found], { otherwise: 'choose another backup (strongbox list shows them all)' });
    if (found && !found.complete) {
      throw new NotFoundError(
        `backup ${s} is not restorable: ${found.damaged ?? 'it has no manifest (an interrupted or still running backup)'}`,
      );
    }
    matches = complete.filter((e) => e.id === s);
  } else {
    throw new UsageError(`--backup "${s}" is not a backup id, "latest" or "label:NAME"`);
  }
  if (sel.before) matches = filterBefore(matches, complete, sel.before);
  if (matches.length === 0) {
    const damaged = entries.filter((e) => e.damaged).reverse();
    if (s === 'latest' && !sel.before && damaged.length) throw damagedError(damaged, { tail: '\nno older complete backup matches latest; nothing was written' });
    const recent = complete.slice(-10).reverse().map(describeBackup);
    const needed = s === 'latest' ? missingContent(undefined, sel.needs) : [];
    throw new NotFoundError(
      `no complete backup matches ${s}${needed.length ? ` holding ${needed.join(' and ')}` : ''}${sel.before ? ` before ${sel.before}` : ''}`,
      recent.length ? `recent backups:\n  ${recent.join('\n  ')}` : 'the repository holds no complete backup',
    );
  }
  if (sel.unique && matches.length > 1 && s !== 'latest') {
    throw new UsageError(
      `${s}${sel.before ? ` before ${sel.before}` : ''} matches ${matches.length} backups; name one by id or narrow it with --before`,
      `candidates:\n  ${matches.slice(-10).reverse().map(describeBackup).join('\n  ')}`,
    );
  }
  const chosen = matches[matches.length - 1]!;
  const lacks = missingContent(chosen.manifest, sel.needs);
  if (lacks.length) {
    throw new UsageError(
      `backup ${chosen.id} (selected by ${s}) holds no ${lacks.join(' and ')}`,
      `it has: ${chosen.manifest.artifacts.map(describeArtifact).join(', ')}; choose another backup (--backup latest picks the newest one that holds what you restore), or drop the target it cannot fill`,
    );
  }
  return chosen;
}

function filterBefore<T extends BackupEntry & { manifest: Manifest }>(matches: T[], all: T[], before: string): T[] {
  if (/^[0-9a-f]{7,40}$/i.test(before)) {
    // A snapshot taken by the deploy of SHA holds the state from before SHA's migrations; failing
    // that, take backups made before the first backup that recorded SHA.
    const sha = before.toLowerCase();
    const bySha = matches.filter((e) => e.manifest.origin.sha?.toLowerCase().startsWith(sha));
    if (bySha.length) return bySha;
    const first = all.find((e) => e.manifest.origin.sha?.toLowerCase().startsWith(sha));
    if (!first) throw new NotFoundError(`no backup in this repository records git sha ${before}`, 'give a time instead (--before 2026-11-20T10:00:00Z)');
    return matches.filter((e) => e.time < first.time);
  }
  const t = Date.parse(before);
  if (Number.isNaN(t)) throw new UsageError(`--before "${before}" is neither a git sha nor a time`, 'use a sha (≥ 7 hex digits) or an ISO time like 2026-11-20T10:00:00Z');
  return matches.filter((e) => e.time.getTime() < t);
}

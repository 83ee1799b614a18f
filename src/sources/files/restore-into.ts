import type { Stats } from 'node:fs';
import { chmod, lstat, mkdtemp, open, readdir, readlink, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { CollectionRestoreResult } from '../collection.js';
import { RefusedError, StrongboxError, errorMessage } from '../../shared/errors.js';
import type { Reporter } from '../../shared/reporter.js';
import { printable } from '../../shared/text.js';
import { restoreFiles } from './extract.js';
import { checkRestoreTarget, clearLeftovers, stagingPrefix } from './target.js';

/**
 * `restore --path`: the selected entries are written INTO the target, the rest of it kept.
 * They are first extracted (with every rule of a tree restore) into a private staging folder
 * beside the target; then each is compared with what the target holds: missing ones are
 * written, equal ones left alone, differing ones refused unless --force. Every conflict is
 * found before anything is written; then each file moves in by rename, so a file is either the
 * old one or the new one, never half of each.
 */

const LISTED = 200;
const SHOWN_CONFLICTS = 5;

export interface RestoreIntoOptions {
  force: boolean;
  dryRun: boolean;
  reporter: Reporter;
  /** Which entries (by '/'-separated path) to restore; default all. */
  select?: (rel: string) => boolean;
  /** Called once the selection is extracted, before the target is compared or written (a --path that matched nothing throws). */
  beforeWrite?: () => void;
  /** The same plaintext again, for hard links whose first name is not selected (link-fill.ts). */
  reopen?: () => Promise<Readable>;
}

type Decision = 'write' | 'replace' | 'same' | 'blocked';

interface Plan extends CollectionRestoreResult {
  conflicts: string[];
  blocked: { rel: string; why: string }[];
}

export async function restoreInto(input: Readable, targetDir: string, opts: RestoreIntoOptions): Promise<CollectionRestoreResult> {
  const target = resolve(targetDir);
  await checkRestoreTarget(target);
  await clearLeftovers(target, opts.reporter);
  const staging = await mkdtemp(stagingPrefix(target)).catch((err: unknown) => {
    throw new StrongboxError(`cannot create a staging folder beside ${printable(target)}: ${printable(errorMessage(err))}; ${printable(target)} was not changed`, { cause: err });
  });
  try {
    const tree = join(staging, 'tree');
    await restoreFiles(input, tree, { force: false, reporter: opts.reporter, select: opts.select, reopen: opts.reopen });
    opts.beforeWrite?.();
    const plan: Plan = { written: 0, same: 0, replaced: 0, listed: [], conflicts: [], blocked: [] };
    await walk(tree, target, '', plan, undefined);
    if (plan.blocked.length) {
      const shown = plan.blocked.slice(0, SHOWN_CONFLICTS).map((b) => `"${printable(b.rel)}" (${b.why})`).join(', ');
      throw new RefusedError(
        `${plan.blocked.length} selected entr${plan.blocked.length > 1 ? 'ies' : 'y'} cannot be restored into ${printable(target)}: ${shown}${plan.blocked.length > SHOWN_CONFLICTS ? ', …' : ''}; nothing was written`,
        'move those away by hand (a restore never writes through a symbolic link nor replaces a directory), or restore into another directory',
      );
    }
    if (plan.conflicts.length && !opts.force) {
      const shown = plan.conflicts.slice(0, SHOWN_CONFLICTS).map((c) => `"${printable(c)}"`).join(', ');
      throw new RefusedError(
        `${plan.conflicts.length} file(s) in ${printable(target)} differ from the backup: ${shown}${plan.conflicts.length > SHOWN_CONFLICTS ? `, and ${plan.conflicts.length - SHOWN_CONFLICTS} more` : ''}; nothing was written`,
        'rerun with --force to replace them (files that are equal are left alone; --dry-run lists what would change)',
      );
    }
    const result: CollectionRestoreResult = { written: plan.written, same: plan.same, replaced: plan.replaced, listed: plan.listed };
    if (opts.dryRun) return result;
    await walk(tree, target, '', undefined, opts.force);
    return result;
  } finally {
    await rm(staging, { recursive: true, force: true }).catch((e: unknown) => opts.reporter.warning(`could not remove the staging directory ${printable(staging)}: ${printable(errorMessage(e))}`));
  }
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * One pass over the staged tree: with `plan`, records what would happen; without it (apply),
 * decides again (the target may have changed meanwhile) and moves entries in.
 */
async function walk(stagedRoot: string, target: string, rel: string, plan: Plan | undefined, force: boolean | undefined): Promise<void> {
  const staged = rel ? join(stagedRoot, rel) : stagedRoot;
  const there = rel ? join(target, rel) : target;
  const st = await lstat(staged);
  const cur = await lstatOrUndefined(there);
  const decision = await decide(st, staged, cur, there);
  if (plan) {
    record(plan, rel, decision, st);
    if (decision.d === 'same' && st.isDirectory()) for (const n of await sortedNames(staged)) await walk(stagedRoot, target, rel ? `${rel}/${n}` : n, plan, force);
    else if (decision.d === 'write' && st.isDirectory()) await countBelow(staged, rel, plan);
    return;
  }
  switch (decision.d) {
    case 'blocked':
      throw new RefusedError(`"${printable(rel)}" in ${printable(target)} changed during the restore (${decision.why}); the entries before it were restored`, 'rerun the restore');
    case 'same':
      // Staged folders are ours: made writable so their entries can move out.
      if (st.isDirectory()) await chmod(staged, (st.mode & 0o7777) | 0o700);
      if (st.isDirectory()) for (const n of await sortedNames(staged)) await walk(stagedRoot, target, rel ? `${rel}/${n}` : n, plan, force);
      return;
    case 'replace':
    case 'write':
      if (decision.d === 'replace' && !force) throw new RefusedError(`"${printable(rel)}" in ${printable(target)} changed during the restore; the entries before it were restored`, 'rerun the restore (with --force to replace it)');
      // A missing folder moves in whole; a file or link replaces the old one atomically.
      await rename(staged, there).catch((err: unknown) => {
        throw new StrongboxError(`cannot move "${printable(rel)}" into ${printable(target)}: ${printable(errorMessage(err))}; the entries before it were restored`, { cause: err });
      });
  }
}

async function decide(st: Stats, staged: string, cur: Stats | undefined, there: string): Promise<{ d: Decision; why?: string }> {
  if (!cur) return { d: 'write' };
  if (st.isDirectory()) {
    if (cur.isDirectory()) return { d: 'same' };
    return { d: 'blocked', why: cur.isSymbolicLink() ? 'a symbolic link where the backup has a folder' : 'a file where the backup has a folder' };
  }
  if (cur.isDirectory()) return { d: 'blocked', why: 'a folder where the backup has a file' };
  if (st.isSymbolicLink()) return cur.isSymbolicLink() && (await readlink(staged)) === (await readlink(there)) ? { d: 'same' } : { d: 'replace' };
  if (cur.isFile() && cur.size === st.size && (await sameBytes(staged, there))) return { d: 'same' };
  return { d: 'replace' };
}

function record(plan: Plan, rel: string, decision: { d: Decision; why?: string }, st: Stats): void {
  const d = decision.d;
  if (d === 'blocked') {
    plan.blocked.push({ rel: rel || '.', why: decision.why ?? '' });
    return;
  }
  if (rel === '') return; // the target itself
  if (d === 'same' && st.isDirectory()) return; // folders that exist are not "left alone" files
  if (d === 'write') plan.written++;
  else if (d === 'replace') {
    plan.replaced++;
    plan.conflicts.push(rel);
  } else plan.same++;
  if (plan.listed.length < LISTED) plan.listed.push({ name: st.isDirectory() ? `${rel}/` : rel, action: d });
}

async function countBelow(dir: string, rel: string, plan: Plan): Promise<void> {
  for (const n of await sortedNames(dir)) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await lstat(join(dir, n));
    record(plan, r, { d: 'write' }, st);
    if (st.isDirectory()) await countBelow(join(dir, n), r, plan);
  }
}

async function sortedNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const ba = Buffer.alloc(1 << 16);
    const bb = Buffer.alloc(1 << 16);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length, null), fb.read(bb, 0, bb.length, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

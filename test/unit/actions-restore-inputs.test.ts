import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBackupAction } from '../../src/actions/backup.js';
import { runRestoreAction } from '../../src/actions/restore.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { resolveRestoreConfig, type RestoreSettings } from '../../src/config/read.js';
import type { RestoreOptions } from '../../src/core/restore.js';
import type { Manifest } from '../../src/core/types.js';
import { captureLog, outputs, runnerEnv } from '../helpers/actions.js';
import { RecordingReporter } from '../helpers/backup-fixtures.js';

/**
 * The restore action's `path`, `dry-run` and `before` inputs: each reaches the core restore as
 * the CLI's --path, --dry-run and --before do (the options the CLI would build from the same
 * values), with the effect a user sees; a bad value fails the step with exit code 2 naming it.
 */
const calls = vi.hoisted(() => [] as RestoreOptions[]);
vi.mock('../../src/core/restore.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/core/restore.js')>();
  return { ...real, restore: (o: RestoreOptions) => (calls.push(o), real.restore(o)) };
});

let work: string;
let tree: string;
let repo: string;
let older: Manifest;
let newer: Manifest;
const key = generateIdentity();
const saved = { ...process.env };

const manifestOf = (id: string) => JSON.parse(readFileSync(join(repo, id, 'manifest.json'), 'utf8')) as Manifest;
async function backupOf(content: string): Promise<Manifest> {
  writeFileSync(join(tree, 'a.txt'), content);
  const out = runnerEnv(work, 'action.yml', { to: repo, init: 'true', files: tree, recipient: key.recipient });
  await runBackupAction();
  const o = outputs(out);
  expect(o.status).toBe('success');
  process.env = { ...saved };
  return manifestOf(o['backup-id']!);
}

/** One restore step with these inputs (plus from and identity): its outputs, log and the options core restore got. */
async function restoreStep(given: Record<string, string>) {
  calls.length = 0;
  const log = captureLog();
  const out = runnerEnv(work, 'actions/restore/action.yml', { from: repo, identity: key.identity, ...given });
  await runRestoreAction();
  return { out: outputs(out), log: log.join(''), options: calls[0] };
}

/** What the CLI hands core restore for the same values (`strongbox restore --from … --path … --dry-run --before …`). */
const cliOptions = (flags: RestoreSettings) => resolveRestoreConfig({ from: repo, identity: key.identity, ...flags }, undefined, {}, new RecordingReporter());

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-action-restore-inputs-'));
  tree = join(work, 'app');
  repo = join(work, 'repo');
  mkdirSync(join(tree, 'docs/deep'), { recursive: true });
  writeFileSync(join(tree, 'docs/guide.md'), 'guide\n');
  writeFileSync(join(tree, 'docs/deep/notes.md'), 'notes\n');
  writeFileSync(join(tree, 'b.txt'), 'bee\n');
  captureLog();
  older = await backupOf('old a\n');
  newer = await backupOf('new a\n');
  vi.restoreAllMocks();
  expect(Date.parse(older.startedAt)).toBeLessThan(Date.parse(newer.startedAt));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('restore action: path, dry-run, before', () => {
  it('path (one glob per line) restores only the matching entries INTO the target, keeping what else it holds, as --path does', async () => {
    const target = join(work, 'into');
    mkdirSync(target);
    writeFileSync(join(target, 'mine.txt'), 'keep me\n');
    const r = await restoreStep({ 'files-target': target, path: 'docs/**\n  a.txt  \n' });
    expect(r.out.status, r.log).toBe('success');
    expect(r.out['backup-id']).toBe(newer.id);
    expect(readdirSync(target).sort()).toEqual(['a.txt', 'docs', 'mine.txt']);
    expect(readFileSync(join(target, 'docs/deep/notes.md'), 'utf8')).toBe('notes\n');
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('new a\n');
    expect(readFileSync(join(target, 'mine.txt'), 'utf8')).toBe('keep me\n');
    const cli = await cliOptions({ filesTarget: target, paths: ['docs/**', 'a.txt'] });
    expect(r.options!.paths).toEqual(cli.paths);
    expect(r.options!.paths).toEqual(['docs/**', 'a.txt']);
    expect({ dryRun: r.options!.dryRun, selection: r.options!.selection }).toEqual({ dryRun: false, selection: { selector: 'latest' } });
  });

  it('a path that matches nothing fails with exit code 2 naming the pattern, and writes nothing', async () => {
    const target = join(work, 'into-none');
    const r = await restoreStep({ 'files-target': target, path: 'docs/**\nnot-there.txt' });
    expect(r.out['exit-code']).toBe('2');
    expect(r.log).toContain('::error::--path "not-there.txt" matched nothing');
    expect(() => readdirSync(target)).toThrow();
  });

  it('dry-run: true lists what would change and writes nothing, as --dry-run does', async () => {
    const target = join(work, 'dry');
    mkdirSync(target);
    writeFileSync(join(target, 'b.txt'), 'bee\n');
    const r = await restoreStep({ 'files-target': target, 'dry-run': 'true', path: 'a.txt\nb.txt' });
    expect(r.out.status, r.log).toBe('success');
    expect(r.log).toContain(`Dry run: nothing was written (${newer.id})`);
    expect(readdirSync(target)).toEqual(['b.txt']);
    const cli = await cliOptions({ filesTarget: target, dryRun: true, paths: ['a.txt', 'b.txt'] });
    expect({ dryRun: r.options!.dryRun, paths: r.options!.paths }).toEqual({ dryRun: cli.dryRun, paths: cli.paths });
    expect(r.options!.dryRun).toBe(true);
  });

  it('dry-run that is not true or false fails with exit code 2 naming the input, and restores nothing', async () => {
    const target = join(work, 'dry-bad');
    const r = await restoreStep({ 'files-target': target, 'dry-run': 'yes please' });
    expect(r.out['exit-code']).toBe('2');
    expect(r.log).toMatch(/::error::input dry-run "yes please" is neither true nor false/);
    expect(r.options).toBeUndefined();
    expect(() => readdirSync(target)).toThrow();
  });

  it('before picks the newest backup taken before that time, as --before does', async () => {
    const target = join(work, 'before');
    const r = await restoreStep({ 'files-target': target, before: ` ${newer.startedAt} ` });
    expect(r.out.status, r.log).toBe('success');
    expect(r.out['backup-id']).toBe(older.id);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('old a\n');
    const cli = await cliOptions({ filesTarget: target, before: newer.startedAt });
    expect(r.options!.selection).toEqual(cli.selection);
    expect(r.options!.selection).toEqual({ selector: 'latest', before: newer.startedAt });
  });

  it('a before that is neither a time nor a sha fails with exit code 2 naming the input and the accepted forms; nothing is written', async () => {
    const target = join(work, 'before-bad');
    const r = await restoreStep({ 'files-target': target, before: 'last tuesday' });
    expect(r.out['exit-code']).toBe('2');
    expect(r.log).toContain('::error::--before "last tuesday" is neither a git sha nor a time');
    expect(r.log).toContain('2026-11-20T10:00:00Z');
    expect(() => readdirSync(target)).toThrow();
  });

  it('a before earlier than every backup, or a sha no backup records, fails with exit code 4 naming it; nothing is written', async () => {
    const target = join(work, 'before-none');
    const early = await restoreStep({ 'files-target': target, before: '2001-01-01T00:00:00Z' });
    expect(early.out['exit-code']).toBe('4');
    expect(early.log).toMatch(/::error::no complete backup matches latest .*before 2001-01-01T00:00:00Z/);
    const sha = await restoreStep({ 'files-target': target, before: 'deadbeef12' });
    expect(sha.out['exit-code']).toBe('4');
    expect(sha.log).toContain('no backup in this repository records git sha deadbeef12');
    expect(() => readdirSync(target)).toThrow();
  });
});

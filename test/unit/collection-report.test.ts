import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { backupOutcome } from '../../src/report/outcome.js';
import type { BackupResult } from '../../src/core/backup.js';
import { folderWriter } from '../helpers/history-fixtures.js';
import { idFor, plantCollection, plantMarker, writePack, type PlantedCollection } from '../helpers/collection-fixtures.js';

let dir: string;
let repo: string;
let out: string;
let planted: PlantedCollection;
const id = idFor('2026-11-20T00:00:00Z', 'abc123');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-coll-report-'));
  repo = join(dir, 'repo');
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const w = folderWriter(repo);
  await plantMarker(w);
  const p = await writePack(w, ['a'.repeat(2048), 'b'.repeat(1024)]);
  planted = await plantCollection(w, { id, startedAt: '2026-11-20T00:00:00Z', packs: [p], info: { members: 1661, bytes: 3 << 20, newMembers: 12, newBytes: 1 << 20, reused: 1649, skipped: 2 } });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const LINE = '1661 member(s), 3.0 MiB: 12 new (1.0 MiB), 1649 reused, 2 skipped';

describe('reports show a collection’s members and bytes', () => {
  it('show, show --json', async () => {
    expect(await main(['show', '--from', repo], {})).toBe(0);
    expect(out).toMatch(new RegExp(`members\\s+${LINE.replace(/[()]/g, '\\$&')}`));
    expect(out).toMatch(/packs\s+1 pack\(s\), .* stored, 1 written by this backup/);
    expect(out).toMatch(/refs\s+files-media\.refs\.jsonl\.gz/);
    out = '';
    expect(await main(['show', '--from', repo, '--json'], {})).toBe(0);
    expect(JSON.parse(out).artifacts[0].collection).toMatchObject({ members: 1661, newMembers: 12, reused: 1649 });
  });

  it('list and history, text and JSON', async () => {
    expect(await main(['list', '--from', repo], {})).toBe(0);
    expect(out).toContain(`files-media (files: /srv/files-media) [${LINE}]`);
    out = '';
    expect(await main(['list', '--from', repo, '--json'], {})).toBe(0);
    expect(JSON.parse(out)[0].artifacts[0].collection).toMatchObject({ members: 1661, bytes: 3 << 20, newBytes: 1 << 20, reused: 1649, skipped: 2 });
    out = '';
    expect(await main(['history', '--from', repo], {})).toBe(0);
    expect(out).toContain(`    files-media: ${LINE}`);
    out = '';
    expect(await main(['history', '--from', repo, '--json'], {})).toBe(0);
    expect(JSON.parse(out).rows[0].collections).toEqual([expect.objectContaining({ name: 'files-media', members: 1661, newMembers: 12 })]);
  });

  it('the notification event carries members and bytes per artifact', () => {
    const ev = backupOutcome({ id, manifest: planted.manifest, destinations: [], plaintextBytes: 0, storedBytes: 0, durationSeconds: 1 } as unknown as BackupResult);
    expect((ev.details as { artifacts: unknown[] }).artifacts[0]).toMatchObject({ name: 'files-media', members: 1661, memberBytes: 3 << 20, newMembers: 12, newBytes: 1 << 20, reused: 1649, skipped: 2 });
  });
});

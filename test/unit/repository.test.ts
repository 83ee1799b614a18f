import { describe, expect, it } from 'vitest';
import { NotFoundError, UsageError } from '../../src/shared/errors.js';
import { parseManifest, serializeManifest } from '../../src/core/manifest.js';
import { listBackups, selectBackup, ensureRepositories } from '../../src/core/repository.js';
import { newBackupId, isBackupId } from '../../src/core/backup-id.js';
import { silentReporter } from '../../src/shared/reporter.js';
import type { Manifest } from '../../src/core/types.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

function manifest(id: string, startedAt: string, labels: string[] = [], sha?: string): Manifest {
  return {
    format: '1.0',
    id,
    labels,
    startedAt,
    finishedAt: startedAt,
    durationSeconds: 1,
    tool: { name: 'strongbox', version: '0.0.0' },
    origin: { host: 'h', sha },
    encryption: { scheme: 'none', recipients: [] },
    artifacts: [
      {
        name: 'files-x',
        kind: 'files',
        key: 'files-x.tar',
        source: {},
        compression: { algorithm: 'none' },
        encryption: { scheme: 'none' },
        plaintext: { size: 1, sha256: 'a'.repeat(64) },
        stored: { size: 1, sha256: 'a'.repeat(64) },
      },
    ],
  };
}

async function repoWith(...ms: Manifest[]): Promise<MemoryDestination> {
  const d = new MemoryDestination();
  await ensureRepositories([d], new Date(), true);
  for (const m of ms) {
    await d.putBytes(`${m.id}/files-x.tar`, Buffer.from('x'));
    await d.putBytes(`${m.id}/manifest.json`, serializeManifest(m));
  }
  return d;
}

describe('backup ids', () => {
  it('sort by time as strings and are recognised', () => {
    const a = newBackupId(new Date('2026-01-02T03:04:05Z'));
    const b = newBackupId(new Date('2026-01-02T03:04:06Z'));
    expect(a < b).toBe(true);
    expect(a).toMatch(/^20260102T030405Z-[0-9a-f]{6}$/);
    expect(isBackupId(a)).toBe(true);
    expect(isBackupId('locks')).toBe(false);
  });
});

describe('manifest', () => {
  it('round-trips and refuses unknown major versions and malformed JSON', () => {
    const m = manifest('20260101T000000Z-000000', '2026-01-01T00:00:00.000Z');
    expect(parseManifest(serializeManifest(m), 'x')).toEqual(m);
    expect(() => parseManifest(serializeManifest({ ...m, format: '2.0' }), 'repo/x/manifest.json')).toThrow(
      /format 2\.0, which this Strongbox \(format 1\.0\) cannot read/,
    );
    expect(() => parseManifest(Buffer.from('{"format": "1.0", '), 'repo/x/manifest.json')).toThrow(/repo\/x\/manifest.json is not valid JSON/);
    expect(() => parseManifest(Buffer.from(JSON.stringify({ ...m, artifacts: [{ ...m.artifacts[0], key: '../../etc/passwd' }] })), 'x')).toThrow(
      /plain file name/,
    );
  });
});

describe('listing and selecting backups', () => {
  const older = manifest('20260301T000000Z-aaaaaa', '2026-01-01T00:00:00.000Z', ['pre-release'], 'abc1234def');
  // Its id sorts after `newer`, but its manifest time is older: time, not names, decides.
  const newer = manifest('20260101T000000Z-bbbbbb', '2026-02-01T00:00:00.000Z', ['nightly'], 'fff0000aaa');

  it('orders by manifest time and never lists a folder without a manifest', async () => {
    const d = await repoWith(older, newer);
    await d.putBytes('20270101T000000Z-cccccc/files-x.tar', Buffer.from('partial'));
    const entries = await listBackups(d, silentReporter);
    expect(entries.filter((e) => e.complete).map((e) => e.id)).toEqual([older.id, newer.id]);
    expect(selectBackup(entries, { selector: 'latest' }).id).toBe(newer.id);
    expect(selectBackup(entries, { selector: 'label:pre-release' }).id).toBe(older.id);
    expect(() => selectBackup(entries, { selector: '20270101T000000Z-cccccc' })).toThrow(/no manifest/);
    expect(() => selectBackup(entries, { selector: 'label:nope' })).toThrow(NotFoundError);
    expect(() => selectBackup(entries, { selector: 'yesterday' })).toThrow(UsageError);
  });

  it('--before takes a git sha or a time, and unique selection lists candidates', async () => {
    const d = await repoWith(older, newer, manifest('20260401T000000Z-dddddd', '2026-03-01T00:00:00.000Z', ['pre-release']));
    const entries = await listBackups(d, silentReporter);
    expect(selectBackup(entries, { selector: 'label:pre-release', before: 'abc1234' }).id).toBe(older.id);
    expect(selectBackup(entries, { selector: 'label:pre-release', before: '2026-02-15T00:00:00Z' }).id).toBe(older.id);
    expect(() => selectBackup(entries, { selector: 'label:pre-release', unique: true })).toThrow(/matches 2 backups/);
    expect(() => selectBackup(entries, { selector: 'latest', before: 'not-a-time' })).toThrow(UsageError);
  });

  it('a damaged manifest is reported, not listed as restorable', async () => {
    const d = await repoWith(older);
    await d.putBytes('20260501T000000Z-eeeeee/manifest.json', Buffer.from('{nope'));
    const warnings: string[] = [];
    const entries = await listBackups(d, { ...silentReporter, warning: (m) => warnings.push(m) });
    expect(entries.find((e) => e.id === '20260501T000000Z-eeeeee')?.complete).toBe(false);
    expect(warnings.join()).toMatch(/not valid JSON/);
  });

  it('a location without a repository marker is refused, naming it', async () => {
    await expect(listBackups(new MemoryDestination(), silentReporter)).rejects.toThrow(/no Strongbox repository at memory:\/\/test.*strongbox.json/);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { formatShow } from '../../src/report/show-text.js';
import { alert, folderWriter, idAt, plantRepository, plantedManifest } from '../helpers/history-fixtures.js';

let dir: string;
let repo: string;
let out: string;
let err: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-show-'));
  repo = join(dir, 'repo');
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  await plantRepository(folderWriter(repo), [
    { at: 1, artifacts: ['files-media', 'postgres-app'], labels: ['pre-release'], metadata: { release: 'v1.4.2', migration: '0042_orders' }, rowCounts: { 'public.orders': 3400, 'public.users': 120 }, duration: 75 },
    { at: 2, alerts: [alert('stored size 100 B is 90% below the usual 1000 B')] },
  ]);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('strongbox show', () => {
  it('prints the artifacts, sizes, checksums, row counts, origin, labels, metadata, duration and signature status', async () => {
    expect(await main(['show', '--from', repo, '--backup', 'label:pre-release'], {})).toBe(0);
    expect(out).toContain(`backup ${idAt(1)}`);
    expect(out).toMatch(/time\s+2026-11-20 00:00:01Z … 2026-11-20 00:01:16Z \(1m15s\)/);
    expect(out).toMatch(/series\s+files-media\+postgres-app/);
    expect(out).toMatch(/labels\s+pre-release/);
    expect(out).toMatch(/metadata\s+release=v1\.4\.2, migration=0042_orders/);
    expect(out).toMatch(/origin\s+host runner, repository acme\/app, workflow nightly, run 42/);
    expect(out).toMatch(/git\s+abcdef1234567 refs\/heads\/main/);
    expect(out).toMatch(/signature\s+unsigned/);
    expect(out).toContain(`stored     500 B  sha256 ${'c'.repeat(64)}`);
    expect(out).toContain(`plaintext  1.5 KiB  sha256 ${'b'.repeat(64)}`);
    expect(out).toMatch(/rows\s+3520 in 2 table\(s\)/);
    expect(out).toMatch(/public\.orders\s+3400/);
    expect(out).toMatch(/alerts\s+none/);
  });

  it('latest is the default; its alerts are listed', async () => {
    expect(await main(['show', '--from', repo], {})).toBe(0);
    expect(out).toContain(`backup ${idAt(2)}`);
    expect(out).toMatch(/alerts\s+1\n\s+! stored size 100 B is 90% below the usual 1000 B/);
  });

  it('--json has the manifest with series, totals, release and signature fields', async () => {
    expect(await main(['show', '--from', repo, '--backup', idAt(1), '--json'], {})).toBe(0);
    const j = JSON.parse(out);
    expect(j).toMatchObject({ id: idAt(1), series: 'files-media+postgres-app', storedBytes: 1000, plaintextBytes: 3000, signature: 'unsigned', signedBy: null, signatureStatus: 'unsigned', gitSha: 'abcdef1234567' });
    expect(j.metadata).toEqual({ release: 'v1.4.2', migration: '0042_orders' });
    expect(j.alerts).toEqual([]);
    expect(j.artifacts[0].rowCounts).toEqual({ 'public.orders': 3400, 'public.users': 120 });
  });

  it('a selector that matches nothing exits 4 and lists recent backups; a bad selector exits 2', async () => {
    expect(await main(['show', '--from', repo, '--backup', 'label:nope'], {})).toBe(4);
    expect(err).toContain('no complete backup matches label:nope');
    expect(err).toContain(idAt(2));
    expect(await main(['show', '--from', repo, '--backup', 'yesterday'], {})).toBe(2);
  });
});

describe('strongbox show of a damaged backup', () => {
  it('exits 3 naming it and what is wrong', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(repo, idAt(2), 'manifest.json'), '{"format":"1.0"');
    expect(await main(['show', '--from', repo, '--backup', idAt(2)], {})).toBe(3);
    expect(err).toContain(`backup ${idAt(2)} is damaged`);
    expect(err).toContain('not valid JSON');
  });
});

describe('show: encryption', () => {
  const show = (encryption: { scheme: 'age' | 'none'; recipients: string[] }) => formatShow({ ...plantedManifest({ at: 1 }), encryption } as never, 'postgres-app', { signed: false });
  it('a passphrase backup says "age, passphrase (scrypt)"; recipients are listed by fingerprint', () => {
    expect(show({ scheme: 'age', recipients: ['scrypt'] })).toMatch(/encryption\s+age, passphrase \(scrypt\)\n/);
    expect(show({ scheme: 'age', recipients: ['0123456789abcdef', 'fedcba9876543210'] })).toMatch(/encryption\s+age, 2 recipient\(s\): 0123456789abcdef, fedcba9876543210\n/);
    expect(show({ scheme: 'none', recipients: [] })).toMatch(/encryption\s+none \(unencrypted\)\n/);
  });
});

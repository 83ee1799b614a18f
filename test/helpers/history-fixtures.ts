import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serializeManifest } from '../../src/core/manifest.js';
import { MANIFEST_NAME, type ArtifactRecord, type Manifest } from '../../src/core/types.js';
import type { Alert } from '../../src/shared/alert.js';
import type { SourceDetails } from '../../src/sources/adapter.js';

/** Manifests planted directly in a repository, for history/show tests that need no real dump. */

export interface PlantSpec {
  /** Second of 2026-11-20 the backup started at (ids sort by it). */
  at: number;
  artifacts?: string[];
  stored?: number;
  plaintext?: number;
  duration?: number;
  labels?: string[];
  metadata?: Record<string, string>;
  alerts?: Alert[];
  rowCounts?: Record<string, number>;
}

export function idAt(at: number): string {
  const d = new Date(Date.UTC(2026, 10, 20, 0, 0, at));
  return `${d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${at.toString(16).padStart(6, '0')}`;
}

export function plantedManifest(s: PlantSpec): Manifest {
  const started = new Date(Date.UTC(2026, 10, 20, 0, 0, s.at));
  const names = s.artifacts ?? ['postgres-app'];
  const artifacts: ArtifactRecord[] = names.map((name) => ({
    name,
    kind: name.startsWith('files') ? 'files' : 'postgres',
    key: `${name}.zst`,
    source: (name.startsWith('files') ? { path: `/srv/${name}` } : { engine: 'postgresql', host: '127.0.0.1:5432', database: 'app', serverVersion: '16.2' }) as SourceDetails,
    ...(s.rowCounts ? { rowCounts: s.rowCounts, rowCountMode: 'exact' as const } : {}),
    compression: { algorithm: 'zstd', level: 3 },
    encryption: { scheme: 'none' },
    plaintext: { size: (s.plaintext ?? 3000) / names.length, sha256: 'b'.repeat(64) },
    stored: { size: (s.stored ?? 1000) / names.length, sha256: 'c'.repeat(64) },
  }));
  return {
    format: '1.0',
    id: idAt(s.at),
    labels: s.labels ?? [],
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + (s.duration ?? 2) * 1000).toISOString(),
    durationSeconds: s.duration ?? 2,
    tool: { name: 'strongbox', version: '0.0.0' },
    origin: { host: 'runner', repository: 'acme/app', workflow: 'nightly', runId: '42', sha: 'abcdef1234567', ref: 'refs/heads/main' },
    encryption: { scheme: 'none', recipients: [] },
    artifacts,
    ...(s.metadata ? { metadata: s.metadata } : {}),
    ...(s.alerts ? { alerts: s.alerts } : {}),
  };
}

/** Any destination-like writer: a MemoryDestination, or a local folder via plantInFolder. */
export interface BytesWriter {
  putBytes(key: string, data: Uint8Array): Promise<void>;
}

export async function plantRepository(dest: BytesWriter, specs: PlantSpec[]): Promise<Manifest[]> {
  await dest.putBytes('strongbox.json', Buffer.from('{"format":"1.0","createdAt":"2026-11-01T00:00:00Z"}\n'));
  const out: Manifest[] = [];
  for (const s of specs) {
    const m = plantedManifest(s);
    for (const a of m.artifacts) await dest.putBytes(`${m.id}/${a.key}`, Buffer.alloc(1));
    await dest.putBytes(`${m.id}/${MANIFEST_NAME}`, serializeManifest(m));
    out.push(m);
  }
  return out;
}

/** The same layout in a local folder, which the CLI opens by path. */
export function folderWriter(root: string): BytesWriter {
  return {
    async putBytes(key, data) {
      await mkdir(join(root, key, '..'), { recursive: true });
      await writeFile(join(root, key), data);
    },
  };
}

export function alert(message: string, kind: Alert['kind'] = 'stored-size'): Alert {
  return { kind, value: 100, baseline: 1000, changePercent: -90, thresholdPercent: 20, message };
}

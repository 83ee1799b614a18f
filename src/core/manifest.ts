import { printable } from '../shared/text.js';
import { sourceAdapters } from '../sources/index.js';
import { StrongboxError } from '../shared/errors.js';
import { metadataProblems } from './metadata.js';
import { FORMAT_VERSION, type Manifest } from './types.js';

/**
 * The manifest is the commit point of a backup (design §4): written last, it alone makes a
 * backup folder complete. Readers refuse an unknown major format version rather than guess.
 */
export function serializeManifest(m: Manifest): Uint8Array {
  return Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8');
}

export class ManifestError extends StrongboxError {
  /** True for a format this version cannot read (the fix is an upgrade, not a new backup). */
  unknownFormat = false;
}

export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ManifestError(`manifest ${where} is not valid JSON (${(err as Error).message})`, {
      hint: 'the backup is damaged; choose another backup',
    });
  }
  if (!isObject(data) || typeof data.format !== 'string') {
    throw new ManifestError(`manifest ${where} has no format version`, { hint: 'the backup is damaged; choose another backup' });
  }
  const major = data.format.split('.')[0];
  if (major !== FORMAT_VERSION.split('.')[0]) {
    const err = new ManifestError(
      `manifest ${where} has format ${printable(data.format)}, which this Strongbox (format ${FORMAT_VERSION}) cannot read`,
      { hint: 'upgrade Strongbox to read it' },
    );
    err.unknownFormat = true;
    throw err;
  }
  const problems = checkShape(data);
  if (problems.length) {
    throw new ManifestError(`manifest ${where} is malformed: ${problems.join('; ')}`, {
      hint: 'the backup is damaged; choose another backup',
    });
  }
  return data as unknown as Manifest;
}

const COMPRESSIONS = ['zstd', 'gzip', 'none'] as const;
const SCHEMES = ['age', 'none'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkShape(d: Record<string, unknown>): string[] {
  const p: string[] = [];
  const str = (o: Record<string, unknown>, k: string, at: string) => typeof o[k] === 'string' || p.push(`${at}${k} is not a string`);
  // A value this version does not know is refused by name: read as "none" it would let an
  // edited manifest skip decryption or decompression.
  const known = (o: Record<string, unknown>, k: string, values: readonly string[], at: string) =>
    (typeof o[k] === 'string' && values.includes(o[k])) ||
    p.push(`${at}${k} ${typeof o[k] === 'string' ? JSON.stringify(printable(o[k])) : 'is missing or'} is not one of ${values.join(', ')}`);
  const num = (o: Record<string, unknown>, k: string, at: string) =>
    (typeof o[k] === 'number' && Number.isFinite(o[k])) || p.push(`${at}${k} is not a number`);
  str(d, 'id', '');
  str(d, 'startedAt', '');
  str(d, 'finishedAt', '');
  if (typeof d.startedAt === 'string' && Number.isNaN(Date.parse(d.startedAt))) p.push('startedAt is not a date');
  if (!Array.isArray(d.labels)) p.push('labels is not a list');
  if (!isObject(d.encryption)) p.push('encryption is missing');
  else known(d.encryption, 'scheme', SCHEMES, 'encryption.');
  if (d.metadata !== undefined) p.push(...metadataProblems(d.metadata));
  // Older manifests have none; the retention guard reads each one's kind.
  if (d.alerts !== undefined && !(Array.isArray(d.alerts) && d.alerts.every((a) => isObject(a) && typeof a.kind === 'string' && typeof a.message === 'string'))) {
    p.push('alerts is not a list of alerts (each with a kind and a message)');
  }
  if (!Array.isArray(d.artifacts)) {
    p.push('artifacts is not a list');
    return p;
  }
  const checksums = (o: unknown, at: string) => {
    if (!isObject(o)) return p.push(`${at} is missing`);
    num(o, 'size', `${at}.`);
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) p.push(`${at}.sha256 is not a SHA-256`);
    return undefined;
  };
  // A collection's counts and its refs object: what prune, copy and verify without a key read.
  const checkCollection = (c: unknown, at: string) => {
    if (!isObject(c)) return p.push(`${at.slice(0, -1)} is not an object`);
    for (const k of ['members', 'bytes', 'newMembers', 'newBytes', 'reused', 'skipped', 'packs', 'packBytes', 'newPacks']) num(c, k, at);
    str(c, 'contentKey', at);
    const r = c.refs;
    if (!isObject(r)) return p.push(`${at}refs is missing`);
    str(r, 'key', `${at}refs.`);
    if (typeof r.key === 'string' && (r.key.includes('/') || r.key.includes('\\') || r.key.startsWith('.'))) p.push(`${at}refs.key must be a plain file name`);
    if (!isObject(r.compression)) p.push(`${at}refs.compression is missing`);
    else known(r.compression, 'algorithm', COMPRESSIONS, `${at}refs.compression.`);
    checksums(r.plaintext, `${at}refs.plaintext`);
    checksums(r.stored, `${at}refs.stored`);
    return undefined;
  };
  d.artifacts.forEach((a, i) => {
    const at = `artifacts[${i}].`;
    if (!isObject(a)) return p.push(`${at} is not an object`);
    str(a, 'name', at);
    known(a, 'kind', sourceAdapters.map((x) => x.kind), at);
    str(a, 'key', at);
    if (typeof a.key === 'string' && (a.key.includes('/') || a.key.includes('\\') || a.key.startsWith('.'))) {
      p.push(`${at}key must be a plain file name`);
    }
    for (const part of ['plaintext', 'stored'] as const) {
      const o = a[part];
      if (!isObject(o)) p.push(`${at}${part} is missing`);
      else {
        num(o, 'size', `${at}${part}.`);
        if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) p.push(`${at}${part}.sha256 is not a SHA-256`);
      }
    }
    if (a.rowCounts !== undefined) {
      const ok = isObject(a.rowCounts) && Object.values(a.rowCounts).every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
      if (!ok) p.push(`${at}rowCounts is not a map of table names to row counts`);
    }
    if (!isObject(a.compression)) p.push(`${at}compression is missing`);
    else known(a.compression, 'algorithm', COMPRESSIONS, `${at}compression.`);
    if (!isObject(a.encryption)) p.push(`${at}encryption is missing`);
    else known(a.encryption, 'scheme', SCHEMES, `${at}encryption.`);
    if (a.collection !== undefined) checkCollection(a.collection, `${at}collection.`);
    return undefined;
  });
  return p;
}

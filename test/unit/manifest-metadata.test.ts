import { describe, expect, it } from 'vitest';
import { parseManifest, serializeManifest, ManifestError } from '../../src/core/manifest.js';
import { FORMAT_VERSION, type Manifest } from '../../src/core/types.js';
import { validateMetadata } from '../../src/core/metadata.js';
import { UsageError } from '../../src/shared/errors.js';

const manifest = (metadata?: unknown): Manifest =>
  ({
    format: FORMAT_VERSION,
    id: '20260101T000000Z-abcdef',
    labels: [],
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    durationSeconds: 1,
    tool: { name: 'strongbox', version: 'test' },
    origin: { host: 'h' },
    encryption: { scheme: 'none', recipients: [] },
    artifacts: [],
    ...(metadata === undefined ? {} : { metadata }),
  }) as Manifest;

describe('manifest metadata', () => {
  it('is optional, and read back as written', () => {
    expect(parseManifest(serializeManifest(manifest()), 'm').metadata).toBeUndefined();
    expect(parseManifest(serializeManifest(manifest({ app: 'clinic', release: 'v1.4.2' })), 'm').metadata).toEqual({ app: 'clinic', release: 'v1.4.2' });
  });

  it.each([
    ['a list', ['a'], /metadata is not a map/],
    ['a number value', { build: 42 }, /metadata "build" is not text/],
    ['a bad key', { 'a b': 'x' }, /metadata key "a b" is not allowed/],
    ['a value over 1 KB', { note: 'x'.repeat(1025) }, /1025 bytes long; at most 1024/],
    ['51 entries', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])), /51 entries; at most 50/],
  ])('refuses %s when read (a damaged or edited manifest)', (_what, metadata, message) => {
    const err = (() => {
      try {
        parseManifest(serializeManifest(manifest(metadata)), 'm');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as Error).message).toMatch(message);
  });

  it('validateMetadata refuses the same as a usage error, and accepts the limits exactly', () => {
    expect(() => validateMetadata({ ['k'.repeat(65)]: 'v' })).toThrow(UsageError);
    expect(() => validateMetadata({ ['k'.repeat(64)]: 'é'.repeat(512), ...Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, ''])) })).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { restoreNeeds } from '../../src/core/restore.js';
import { missingContent } from '../../src/core/repository.js';

const bucketOnly = { artifacts: [{ name: 'bucket-clients', kind: 'bucket' }] } as unknown as Parameters<typeof missingContent>[0];
const treeOnly = { artifacts: [{ name: 'files-media', kind: 'files' }] } as unknown as Parameters<typeof missingContent>[0];

describe('which backup `latest` may pick for a restore', () => {
  it('--files-target alone needs a files artifact', () => {
    const needs = restoreNeeds({ targets: { files: '/tmp/out' } });
    expect(missingContent(treeOnly, needs)).toEqual([]);
    expect(missingContent(bucketOnly, needs)).toEqual(['files data']);
  });

  it('--files-target with --only NAME picks the backup holding NAME, a bucket too (its objects as files)', () => {
    const needs = restoreNeeds({ targets: { files: '/tmp/out' }, only: ['bucket-clients'] });
    expect(missingContent(bucketOnly, needs)).toEqual([]);
    expect(missingContent(treeOnly, needs)).toEqual(['artifact "bucket-clients"']);
  });

  it('other targets still need their kind', () => {
    const needs = restoreNeeds({ targets: { bucket: 's3://b/p' }, only: ['bucket-clients'] });
    expect(needs.kinds).toEqual(['bucket']);
  });
});

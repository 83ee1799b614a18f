import { RefusedError, UsageError } from '../../shared/errors.js';
import { printable } from '../../shared/text.js';
import type { SourceAdapter, SourceDetails, SourceSpec } from '../adapter.js';
import { safeName } from '../artifact-name.js';
import type { CollectionReader, CollectionSupport, IndexMemberLike } from '../collection.js';
import { BUCKET_FORM, checkBucketUrl, openBucket } from './connection.js';
import { listEntries } from './list.js';
import { compareKeys, compareVersionedNames } from './order.js';
import { openObject } from './read.js';
import { memberKey, restoreMembersToBucket } from './restore.js';
import { parseS3Url } from '../../destinations/s3-location.js';

export { resolveBucketConnection, connectionSecrets } from './connection.js';

const DEFAULT_CONCURRENCY = 8;

export function bucketArtifactName(location: string): string {
  const { bucket, prefix } = parseS3Url(location.trim());
  const last = prefix.replace(/\/+$/, '').split('/').pop() ?? '';
  return `bucket-${safeName(last ? `${bucket}-${last}` : bucket, 'bucket')}`;
}

const collection: CollectionSupport = {
  wanted: () => true,
  shield: true,
  async open(spec: SourceSpec, ctx): Promise<CollectionReader> {
    const b = openBucket(spec.location, spec.options?.bucket);
    const allVersions = !!spec.options?.allVersions;
    const checksum = spec.options?.compare === 'checksum';
    const details: SourceDetails = {
      bucket: b.bucket,
      prefix: b.prefix.replace(/\/$/, ''),
      location: b.display,
      ...(b.store.endpointHost ? { endpoint: b.store.endpointHost } : {}),
      ...(allVersions ? { allVersions: true } : {}),
    };
    ctx.reporter.debug(`bucket: listing ${b.display}${allVersions ? ' (every version)' : ''}`);
    return {
      details,
      entries: () => listEntries(b, { allVersions, checksum }),
      compare: allVersions ? compareVersionedNames : compareKeys,
      open: (entry, signal) => openObject(b, entry, signal),
      concurrency: Math.max(1, spec.options?.bucket?.concurrency ?? DEFAULT_CONCURRENCY),
    };
  },
  restoreMembers: (members, target, _artifact, ctx) => restoreMembersToBucket(members, target, ctx, { concurrency: DEFAULT_CONCURRENCY }),
  asFile(member: IndexMemberLike): IndexMemberLike {
    const key = memberKey(member);
    const { contentType: _t, metadata: _m, etag: _e, ...rest } = member;
    void _t, void _m, void _e;
    const dir = key.endsWith('/');
    const path = member.name === key ? key : member.name;
    return {
      ...rest,
      name: dir ? path.replace(/\/+$/, '') : path,
      type: dir && member.size === 0 ? 'dir' : 'file',
      mode: dir && member.size === 0 ? 0o755 : 0o644,
      ...(typeof member.lastModified === 'string' ? { mtime: member.lastModified } : {}),
    };
  },
};

/** An S3 bucket (or a prefix of one): always a collection, never one stream. */
export const bucketAdapter: SourceAdapter = {
  kind: 'bucket',
  collection,
  sourceFlag: '--bucket',
  targetFlag: '--bucket-target',
  targetNoun: 'bucket',
  replaceHint: 'rerun with --force to replace the objects that differ (objects not in the backup are left alone)',
  extension: '',
  // Credentials never ride in the URL (parseS3Url refuses them); credentials=NAME are masked where the edges read them.
  locationSecrets: () => [],
  artifactName: (spec) => bucketArtifactName(spec.location),
  checkSource: (spec) => checkBucketUrl(spec.location, '--bucket'),
  dump: async () => {
    throw new UsageError('a bucket is backed up as a collection, member by member, not as one stream', 'this is a Strongbox bug: buckets take the collection path');
  },
  sourceIdentity: (s: SourceDetails) => (typeof s.location === 'string' ? s.location : typeof s.bucket === 'string' ? `s3://${s.bucket}/${s.prefix ?? ''}` : ''),
  normalizeTarget: (target) => target.trim(),
  displayTarget: (target) => printable(target.trim().replace(/[?#].*$/s, '')),
  confirmName: (target) => parseS3Url(target.trim()).bucket,
  checkTarget: async (target) => checkBucketUrl(target, '--bucket-target'),
  // Objects already in the bucket are no reason to refuse: restoreMembers looks at every key the
  // backup holds before writing one, leaves equal objects alone and refuses differing ones without --force.
  isTargetEmpty: async () => true,
  safetySource: async (target) => {
    throw new RefusedError(`rollback does not replace buckets (${printable(target.replace(/[?#].*$/s, ''))}); nothing was changed`, 'use restore --bucket-target: it writes the backup\'s objects and leaves others alone');
  },
  verifyBeforeRestore: false,
  restore: async () => {
    throw new UsageError(`a bucket is restored member by member, not from one stream`, `restore it with --bucket-target ${BUCKET_FORM}, or as files with --files-target DIR`);
  },
};

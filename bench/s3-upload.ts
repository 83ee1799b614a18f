/**
 * The bare upload the S3 backup case is compared with (bench/lib/s3-cases.ts): one
 * `@aws-sdk/lib-storage` Upload of a file already on disk, from a Node process, with the client
 * settings, part size and queue of our S3 destination (src/destinations/s3.ts). It is what the
 * upload alone costs, with no source, compression, encryption, hashing or read-back.
 *
 *   node s3-upload.js FILE ENDPOINT BUCKET KEY   (credentials in BENCHS3_ACCESS_KEY_ID / _SECRET_ACCESS_KEY)
 */
import { createReadStream } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { resolveS3Config } from '../src/destinations/s3-presets.js';
import { DEFAULT_PART_SIZE, DEFAULT_QUEUE_SIZE } from '../src/destinations/s3.js';

const [file, endpoint, bucket, key] = process.argv.slice(2);
if (!file || !endpoint || !bucket || !key) {
  process.stderr.write('usage: s3-upload FILE ENDPOINT BUCKET KEY\n');
  process.exit(2);
}
const { client } = resolveS3Config({ bucket, endpoint }, process.env);
const s3 = new S3Client({
  ...client,
  credentials: { accessKeyId: process.env.BENCHS3_ACCESS_KEY_ID!, secretAccessKey: process.env.BENCHS3_SECRET_ACCESS_KEY! },
  requestHandler: { connectionTimeout: 30_000, socketTimeout: 300_000 },
});
const upload = new Upload({
  client: s3,
  params: { Bucket: bucket, Key: key, Body: createReadStream(file, { highWaterMark: 1 << 20 }) },
  partSize: DEFAULT_PART_SIZE,
  queueSize: DEFAULT_QUEUE_SIZE,
});
await upload.done();
s3.destroy();

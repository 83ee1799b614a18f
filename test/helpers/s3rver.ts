import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Faults the server injects, settable while it runs. Server-side faults exercise the real SDK
 * path: its retries, lib-storage's part handling, and real connection resets.
 */
export interface S3rverFaults {
  /** UploadPart for these part numbers answers HTTP 500 InternalError, every time. */
  failParts?: number[];
  /** UploadPart for these part numbers is held unanswered while listed here: a stalled store, to stop a run mid-upload. */
  stallParts?: number[];
  /** PutObject (single-request uploads) of keys matching this regular expression answers HTTP 500. */
  failPutKeys?: string;
  /** GetObject responses are cut off (socket destroyed) after this many body bytes... */
  resetGetAfterBytes?: number;
  /** ...this many times (default: every time). */
  resetGetTimes?: number;
  /** GetObject bodies of `.age` objects stop after this many bytes and hang until the client goes: a stalled download. */
  stallGetAfterBytes?: number;
  /** Honour `If-None-Match: *` on PutObject with 412, as AWS S3, R2 and MinIO do (default true). */
  conditionalWrites?: boolean;
}

export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  /** Credentials s3rver accepts; copy into process.env for the SDK's default chain. */
  env: Record<string, string>;
  /** The only key pair this instance accepts (S3RVER/S3RVER unless others were asked for). */
  accessKeyId: string;
  secretAccessKey: string;
  /** s3rver's storage folder (objects, and pending uploads under <bucket>/._S3rver_uploads). */
  directory: string;
  /** False when this Node could not enable DES for s3rver's list continuation tokens. */
  listPagination: boolean;
  setFaults(faults: S3rverFaults): Promise<void>;
  /** Requests served since start (or the last reset): GetObject calls (HEADs not counted), PutObject/UploadPart calls. */
  stats(reset?: boolean): Promise<{ getObject: number; putObject: number }>;
  stop(): Promise<void>;
}

/**
 * Runs s3rver in a child process on a free loopback port with a fresh bucket in a temp folder.
 *
 * s3rver 3.7 falls short of S3 in ways these tests care about; the child patches them:
 * - its ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 (Node ≥ 17) only
 *   offers with --openssl-legacy-provider, so the child runs with that flag (otherwise any list
 *   longer than one page fails with HTTP 500);
 * - it has no AbortMultipartUpload (DELETE ?uploadId → 405) and no ListMultipartUploads
 *   (GET ?uploads → 501): a small middleware implements both on its upload folders;
 * - it ignores `If-None-Match` on PUT: the middleware answers 412 for an existing key unless
 *   `conditionalWrites: false`, which leaves s3rver's last-writer-wins behaviour;
 * - it lists keys in directory order (unsorted, so pages past the first skip or repeat keys):
 *   listObjects is replaced by one that sorts keys by UTF-8 bytes, as S3 lists them;
 * - it ignores `If-Match` on GET/HEAD: the middleware answers 412 when the object's ETag differs.
 * `stats()` counts GetObject and PutObject/UploadPart requests, for tests of what was downloaded.
 * It accepts the SDK's CRC32 checksum headers (and ignores them), so it does not reproduce the
 * checksum rejection of B2/R2 (fault matrix #24); presets are unit-tested instead.
 *
 * With `accessKeyId`/`secretAccessKey` the instance accepts only that pair, as a real store
 * does: S3RVER's pair is revoked from s3rver's account registry (one per process, and each
 * instance runs in its own child) and theirs created. s3rver checks only the key id of SigV4
 * requests, so the child also checks each request's SigV4 signature against the secret: a
 * right key id with a wrong secret is refused (403 SignatureDoesNotMatch) as well.
 */
export async function startS3rver(opts: { bucket?: string; accessKeyId?: string; secretAccessKey?: string } = {}): Promise<S3rverHandle> {
  if (!opts.accessKeyId !== !opts.secretAccessKey) throw new Error('startS3rver: give both accessKeyId and secretAccessKey, or neither');
  const accessKeyId = opts.accessKeyId ?? 'S3RVER';
  const secretAccessKey = opts.secretAccessKey ?? 'S3RVER';
  const keys = opts.accessKeyId ? { accessKeyId, secretAccessKey } : undefined;
  const directory = await mkdtemp(path.join(tmpdir(), 'strongbox-s3rver-'));
  const bucket = opts.bucket ?? `test-${randomBytes(4).toString('hex')}`;
  const modulePath = createRequire(import.meta.url).resolve('s3rver');
  const control = randomBytes(8).toString('hex');
  let child: ChildProcess | undefined;
  let listPagination = true;
  let port: number;
  try {
    ({ child, port } = await spawnServer(['--openssl-legacy-provider'], { modulePath, directory, bucket, control, keys }));
  } catch (err) {
    // A Node built without OpenSSL 3 refuses the flag; run without it (list pagination off).
    if (!/bad option|openssl-legacy-provider/i.test(String(err))) throw err;
    listPagination = false;
    ({ child, port } = await spawnServer([], { modulePath, directory, bucket, control, keys }));
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = child;
  return {
    endpoint,
    bucket,
    directory,
    listPagination,
    accessKeyId,
    secretAccessKey,
    env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: 'us-east-1' },
    async setFaults(faults) {
      const res = await fetch(`${endpoint}/__faults_${control}`, { method: 'PUT', body: JSON.stringify(faults) });
      if (!res.ok) throw new Error(`s3rver fault control answered ${res.status}`);
    },
    async stats(reset = false) {
      const res = await fetch(`${endpoint}/__stats_${control}${reset ? '?reset' : ''}`);
      if (!res.ok) throw new Error(`s3rver stats answered ${res.status}`);
      return (await res.json()) as { getObject: number; putObject: number };
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function spawnServer(
  flags: string[],
  cfg: { modulePath: string; directory: string; bucket: string; control: string; keys?: { accessKeyId: string; secretAccessKey: string } },
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...flags, '-e', CHILD_SCRIPT], {
    env: { ...process.env, S3RVER_CONFIG: JSON.stringify(cfg), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line).port as number));
      child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${stderr.trim()}`)));
      child.once('error', reject);
    });
    child.stderr!.resume();
    return { child, port };
  } finally {
    lines.close();
  }
}

/** Runs in the child (plain CommonJS): s3rver plus the middleware described above. */
const CHILD_SCRIPT = String.raw`
const fs = require('fs');
const path = require('path');
const { Transform } = require('stream');
const cfg = JSON.parse(process.env.S3RVER_CONFIG);
const S3rver = require(cfg.modulePath);
const crypto = require('crypto');
if (cfg.keys) {
  // Per process: this child's s3rver knows only the pair it was given.
  const AWSAccount = require(path.join(path.dirname(cfg.modulePath), 'models', 'account.js'));
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(cfg.keys.accessKeyId, cfg.keys.secretAccessKey);
}
const rfc3986 = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const hmac = (key, text) => crypto.createHmac('sha256', key).update(text).digest();
const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex');
// SigV4 of the request as received; null when it matches the secret (or the request is not signed with a header).
const sigv4Problem = (req, secret) => {
  const auth = req.headers.authorization;
  if (!auth) return null;
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) return 'unparsable Authorization header';
  const [, , date, region, service, signed, signature] = m;
  const [rawPath, rawQuery = ''] = req.url.split('?');
  const query = rawQuery.split('&').filter(Boolean).map((p) => {
    const eq = p.indexOf('=');
    const dec = (x) => decodeURIComponent(x.replace(/\+/g, ' '));
    return [rfc3986(dec(eq < 0 ? p : p.slice(0, eq))), rfc3986(dec(eq < 0 ? '' : p.slice(eq + 1)))];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([k, v]) => k + '=' + v).join('&');
  const names = signed.split(';');
  const headers = names.map((n) => n + ':' + String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ') + '\n').join('');
  const canonical = [req.method, rawPath, query, headers, signed, req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = [date, region, service, 'aws4_request'].join('/');
  const toSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'], scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
  return crypto.createHmac('sha256', key).update(toSign).digest('hex') === signature ? null : 'signature mismatch';
};
{
  // S3's listing order (UTF-8 bytes), over the whole prefix, then the page.
  const lib = path.dirname(cfg.modulePath);
  const FsStore = require(path.join(lib, 'stores', 'filesystem.js'));
  const S3Object = require(path.join(lib, 'models', 'object.js'));
  const { walk } = require(path.join(lib, 'utils.js'));
  const bytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  FsStore.prototype.listObjects = async function (bucket, options) {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
    const bucketPath = this.getBucketPath(bucket);
    const suffix = '._S3rver_object';
    const all = [];
    for (const p of walk(bucketPath)) {
      if (!p.endsWith(suffix)) continue;
      const k = p.slice(bucketPath.length + 1, -suffix.length);
      if (k.startsWith(prefix) && !k.startsWith('._S3rver_uploads/')) all.push(k);
    }
    all.sort(bytes);
    const commonPrefixes = new Set();
    const keys = [];
    let isTruncated = false;
    for (const key of all) {
      if (startAfter && bytes(key, startAfter) <= 0) continue;
      if (delimiter) {
        const idx = key.slice(prefix.length).indexOf(delimiter);
        if (idx !== -1) { commonPrefixes.add(key.slice(0, prefix.length + idx + 1)); continue; }
      }
      if (keys.length < maxKeys) keys.push(key);
      else { isTruncated = true; break; }
    }
    const metas = await Promise.all(keys.map((key) => this.getMetadata(bucket, key).catch((err) => { if (err.code === 'ENOENT') return undefined; throw err; })));
    return {
      objects: keys.map((key, i) => [key, metas[i]]).filter(([, m]) => m !== undefined).map(([key, m]) => new S3Object(bucket, key, null, m)),
      commonPrefixes: [...commonPrefixes].sort(bytes),
      isTruncated,
    };
  };
}
const server = new S3rver({
  address: '127.0.0.1', port: 0, silent: true, directory: cfg.directory,
  configureBuckets: [{ name: cfg.bucket }], vhostBuckets: false,
});
let faults = {};
let stats = { getObject: 0, putObject: 0 };
let resetsLeft = Infinity;
const xml = (ctx, status, body) => {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n' + body;
};
const esc = (s) => String(s).replace(/[<>&'"]/g, (c) => '&#' + c.charCodeAt(0) + ';');
const error = (ctx, status, code, message) =>
  xml(ctx, status, '<Error><Code>' + code + '</Code><Message>' + esc(message) + '</Message></Error>');
// Read the whole request body before answering an error, as S3 does; answering early makes the
// client fail with EPIPE instead of seeing the status.
const drain = (ctx) => new Promise((resolve) => { ctx.req.on('end', resolve); ctx.req.on('error', resolve); ctx.req.resume(); });
const uploadsDir = (bucket) => path.join(cfg.directory, bucket, '._S3rver_uploads');

server.middleware.unshift(async (ctx, next) => {
  if (ctx.path === '/__faults_' + cfg.control) {
    faults = JSON.parse(await new Promise((res) => { let s = ''; ctx.req.on('data', (d) => (s += d)); ctx.req.on('end', () => res(s || '{}')); }));
    resetsLeft = faults.resetGetTimes ?? Infinity;
    ctx.status = 204;
    return;
  }
  if (cfg.keys && ctx.req.headers.authorization && ctx.req.headers.authorization.includes('Credential=' + cfg.keys.accessKeyId + '/')) {
    if (sigv4Problem(ctx.req, cfg.keys.secretAccessKey)) {
      await drain(ctx);
      return error(ctx, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
    }
  }
  if (ctx.path === '/__stats_' + cfg.control) {
    ctx.body = JSON.stringify(stats);
    ctx.type = 'application/json';
    if ('reset' in ctx.query) stats = { getObject: 0, putObject: 0 };
    return;
  }
  const [, bucket, ...rest] = ctx.path.split('/');
  const key = decodeURIComponent(rest.join('/'));
  const q = ctx.query;
  if (ctx.method === 'GET' && key && Object.keys(q).every((n) => n === 'versionId' || n === 'x-id')) stats.getObject++;
  if (ctx.method === 'PUT' && key && !('uploads' in q) && !ctx.get('x-amz-copy-source')) stats.putObject++;
  if ((ctx.method === 'GET' || ctx.method === 'HEAD') && key && ctx.get('if-match') && Object.keys(q).every((n) => n === 'versionId' || n === 'x-id')) {
    const meta = await server.store.getMetadata(bucket, key).catch(() => undefined);
    if (meta && meta.etag !== ctx.get('if-match') && ctx.get('if-match') !== '*') {
      return error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
  }
  if (ctx.method === 'DELETE' && key && 'uploadId' in q) {
    const dir = path.join(uploadsDir(bucket), path.basename(String(q.uploadId)));
    if (!fs.existsSync(dir)) return error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && !key && 'uploads' in q) {
    const prefix = String(q.prefix ?? '');
    const ups = [];
    for (const id of fs.existsSync(uploadsDir(bucket)) ? fs.readdirSync(uploadsDir(bucket)) : []) {
      const keyFile = path.join(uploadsDir(bucket), id, 'key');
      if (!fs.existsSync(keyFile)) continue;
      const k = fs.readFileSync(keyFile, 'utf8');
      if (k.startsWith(prefix)) ups.push('<Upload><Key>' + esc(k) + '</Key><UploadId>' + id + '</UploadId><Initiated>' + fs.statSync(keyFile).mtime.toISOString() + '</Initiated></Upload>');
    }
    return xml(ctx, 200, '<ListMultipartUploadsResult><Bucket>' + esc(bucket) + '</Bucket><IsTruncated>false</IsTruncated>' + ups.join('') + '</ListMultipartUploadsResult>');
  }
  if (ctx.method === 'PUT' && key && 'uploadId' in q && (faults.stallParts ?? []).includes(Number(q.partNumber))) {
    await drain(ctx);
    while ((faults.stallParts ?? []).includes(Number(q.partNumber)) && !ctx.req.socket.destroyed) await new Promise((r) => setTimeout(r, 100));
    if (ctx.req.socket.destroyed) return;
  }
  if (ctx.method === 'PUT' && key && 'uploadId' in q && (faults.failParts ?? []).includes(Number(q.partNumber))) {
    await drain(ctx);
    return error(ctx, 500, 'InternalError', 'injected failure of part ' + q.partNumber);
  }
  if (ctx.method === 'PUT' && key && !('uploadId' in q) && !ctx.get('x-amz-copy-source')) {
    if (faults.failPutKeys && new RegExp(faults.failPutKeys).test(key)) {
      await drain(ctx);
      return error(ctx, 500, 'InternalError', 'injected failure of ' + key);
    }
    if (faults.conditionalWrites !== false && ctx.get('if-none-match') === '*' && (await server.store.existsObject(bucket, key))) {
      await drain(ctx);
      return error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
  }
  await next();
  if (ctx.method === 'GET' && key && faults.resetGetAfterBytes !== undefined && resetsLeft > 0 && ctx.body && typeof ctx.body.pipe === 'function') {
    resetsLeft--;
    let sent = 0;
    const limit = faults.resetGetAfterBytes;
    const socket = ctx.req.socket;
    const source = ctx.body;
    const length = ctx.response.length;
    let cut = false;
    // Let the head reach the socket, then drop the connection like a flaky network does.
    const cutOff = () => { if (!cut) { cut = true; setTimeout(() => { source.destroy(); socket.destroy(); }, 20); } };
    ctx.body = source.pipe(new Transform({
      transform(chunk, _enc, done) {
        if (sent >= limit) { cutOff(); return done(); }
        const room = limit - sent;
        if (chunk.length < room) { sent += chunk.length; return done(null, chunk); }
        sent = limit;
        cutOff();
        done(null, chunk.subarray(0, room));
      },
    }));
    // Koa drops Content-Length when the body is replaced; keep it, as a real response has it.
    if (length !== undefined) ctx.length = length;
  }
  if (ctx.method === 'GET' && key && /\.age$/.test(key) && faults.stallGetAfterBytes !== undefined && ctx.body && typeof ctx.body.pipe === 'function') {
    let sent = 0;
    const limit = faults.stallGetAfterBytes;
    const socket = ctx.req.socket;
    const source = ctx.body;
    const length = ctx.response.length;
    ctx.body = source.pipe(new Transform({
      transform(chunk, _enc, done) {
        const room = limit - sent;
        if (chunk.length <= room) { sent += chunk.length; return done(null, chunk); }
        if (room > 0) { this.push(chunk.subarray(0, room)); sent = limit; }
        socket.once('close', () => { source.destroy(); done(); }); // held until the client goes
      },
    }));
    if (length !== undefined) ctx.length = length;
  }
});

server.run().then((addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\n'));
process.on('SIGTERM', () => { server.close().finally(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); });
`;

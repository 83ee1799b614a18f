import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseDef, Context, Runtime } from './cases.js';
import type { RunSpec } from './measure.js';
import type { BenchS3 } from './s3.js';

/**
 * The S3 family (`--only s3`, issue 9): our backup of the bench tree to an s3rver bucket
 * against a bare `@aws-sdk/lib-storage` Upload, from a Node process, of bytes our backup
 * stored (bench/s3-upload.ts: the same client settings, part size and queue). The upload is the
 * floor: everything our backup adds to it (tar, zstd, age, both SHA-256s, the read-back) must
 * overlap with it. s3rver's own CPU is outside the process tree and reported apart.
 */

export interface S3Context {
  server: BenchS3;
  /** The bundled bench/s3-upload.ts. */
  uploadScript: string;
  /** A `.tar.zst.age` our backup of the tree wrote (untimed), the bytes the bare upload sends. */
  storedFile: string;
  storedBytes: number;
}

const rm = (p: string) => rmSync(p, { recursive: true, force: true });
const CREDENTIALS = 'BENCHS3';

function credentialEnv(s: BenchS3): NodeJS.ProcessEnv {
  return { ...process.env, [`${CREDENTIALS}_ACCESS_KEY_ID`]: s.accessKeyId, [`${CREDENTIALS}_SECRET_ACCESS_KEY`]: s.secretAccessKey };
}

/** One untimed backup of the tree to a local folder: the stored object the bare upload sends. */
export function storedObjectOf(ctx: Context, rt: Runtime): { file: string; bytes: number } {
  const repo = join(ctx.work, 's3-stored');
  rm(repo);
  const r = spawnSync(rt.node, [...rt.cliArgs, 'backup', '--to', repo, '--init', '--files', ctx.tree.path, '--recipient', ctx.recipient, '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the backup that makes the stored object failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const out = JSON.parse(r.stdout) as { storedBytes: number };
  const id = readdirSync(repo).find((e) => /^\d{8}T\d{6}Z-/.test(e));
  const name = id && readdirSync(join(repo, id)).find((e) => e.endsWith('.age'));
  if (!id || !name) throw new Error(`no stored .age object in ${repo}`);
  return { file: join(repo, id, name), bytes: out.storedBytes };
}

export function s3Cases(ctx: Context, rt: Runtime, s3: S3Context, variants: boolean): CaseDef[] {
  const { server } = s3;
  const env = credentialEnv(server);
  const location = (prefix: string, settings = '') => `s3://${server.bucket}/${prefix}?endpoint=${server.endpoint}&credentials=${CREDENTIALS}${settings}`;
  // s3rver keeps a bucket as a folder of files: dropping a round's prefix there empties it.
  const drop = (prefix: string) => rm(join(server.directory, server.bucket, prefix));
  const ours = (prefix: string, extra: string[] = [], settings = ''): RunSpec => ({
    command: rt.node,
    args: [...rt.cliArgs, 'backup', '--to', location(prefix, settings), '--init', '--files', ctx.tree.path, '--recipient', ctx.recipient, ...extra, '--json'],
    env,
    captureStdout: true,
    serverPids: [server.pid],
  });
  const stored = (stdout: string) => {
    try {
      return { storedBytes: (JSON.parse(stdout) as { storedBytes?: number }).storedBytes };
    } catch {
      return {};
    }
  };
  const common = { tool: 'strongbox' as const, kind: 's3-backup' as const, node: rt.version, inputBytes: ctx.tree.bytes, runs: ctx.runs };
  const cases: CaseDef[] = [
    {
      ...common,
      id: `strongbox-s3@${rt.version}`,
      label: 'strongbox backup → S3 (s3rver)',
      prepare: (r) => {
        drop(`strongbox-${r - 1}`);
        drop(`strongbox-${r}`);
      },
      spec: (r) => ours(`strongbox-${r}`),
      finish: (_r, m) => stored(m.stdout),
    },
  ];
  if (variants) {
    cases.push({
      ...common,
      id: `strongbox-s3-confirm-size@${rt.version}`,
      label: 'strongbox backup → S3 (s3rver), --confirm-upload size',
      variant: true,
      prepare: () => drop('strongbox-size'),
      spec: () => ours('strongbox-size', ['--confirm-upload', 'size']),
      finish: (_r, m) => stored(m.stdout),
    });
    // Half the parts' memory (the uploader holds 5 of them), objects up to 78 GiB.
    cases.push({
      ...common,
      id: `strongbox-s3-part-8mib@${rt.version}`,
      label: 'strongbox backup → S3 (s3rver), part-size=8MiB',
      variant: true,
      prepare: () => drop('strongbox-part8'),
      spec: () => ours('strongbox-part8', [], '&part-size=8MiB'),
      finish: (_r, m) => stored(m.stdout),
    });
  }
  // Not ours, but run on the same Node: the comparison is the work, not the runtime.
  cases.push({
    id: `sdk-upload-s3@${rt.version}`,
    tool: 'sdk',
    kind: 's3-backup',
    label: `lib-storage Upload of the stored ${(s3.storedBytes / 1e6).toFixed(0)} MB (same client, parts, queue)`,
    node: rt.version,
    // The tree's bytes, as for our case: MB/s stays "input per second", so the ratio is the time ratio.
    inputBytes: ctx.tree.bytes,
    runs: ctx.runs,
    prepare: (r) => {
      drop(`upload-${r - 1}`);
      drop(`upload-${r}`);
    },
    spec: (r) => ({ command: rt.node, args: [s3.uploadScript, s3.storedFile, server.endpoint, server.bucket, `upload-${r}/tree.tar.zst.age`], env, serverPids: [server.pid] }),
    finish: () => ({ storedBytes: s3.storedBytes }),
  });
  return cases;
}

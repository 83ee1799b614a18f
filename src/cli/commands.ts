import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { generateIdentity } from '../codecs/age/index.js';
import { backup } from '../core/backup.js';
import { parseDuration } from '../core/duration.js';
import { ExitCode } from '../core/errors.js';
import type { ConsoleReporter } from '../core/reporter.js';
import { describeBackup, listBackups } from '../core/repository.js';
import { restore } from '../core/restore.js';
import { verify } from '../core/verify.js';
import {
  openDestinations,
  originFromEnv,
  passphraseFromEnv,
  resolveBackup,
  resolveDecryption,
  type StorageSettings,
} from '../config/settings.js';
import { formatBytes } from '../core/artifact-writer.js';

export interface CliContext {
  reporter: ConsoleReporter;
  env: NodeJS.ProcessEnv;
  exitCode: number;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function storageOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'S3 endpoint for non-AWS stores (B2, R2, MinIO, …)')
    .option('--region <region>', 'S3 region')
    .option('--path-style', 'use path-style S3 URLs (MinIO and most self-hosted stores)')
    .addOption(new Option('--preset <name>', 'S3 provider preset').choices(['aws', 'b2', 'r2', 'minio', 'generic']));
}

function storage(o: Record<string, unknown>): StorageSettings {
  return { endpoint: o.endpoint as string | undefined, region: o.region as string | undefined, pathStyle: !!o.pathStyle, preset: o.preset as string | undefined };
}

function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function registerCommands(program: Command, ctx: CliContext): void {
  const { reporter, env } = ctx;

  program
    .command('keygen')
    .description('create an age identity; prints its public recipient (age1…) on stderr')
    .option('-o, --output <file>', 'write the identity to FILE (mode 0600) instead of stdout')
    .action(async (o: { output?: string }) => {
      const { identity, recipient } = generateIdentity();
      const text = `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`;
      if (o.output) await writeFile(o.output, text, { mode: 0o600, flag: 'wx' });
      else process.stdout.write(text);
      process.stderr.write(`Public key: ${recipient}\n`);
    });

  storageOptions(
    program
      .command('backup')
      .description('back up PostgreSQL databases and file trees to one or more destinations')
      .option('--to <dest>', 'destination: a path, file://PATH or s3://bucket/prefix (repeatable)', collect, [])
      .option('--postgres <url>', 'PostgreSQL database URL to dump (repeatable)', collect, [])
      .option('--files <path>', 'file tree to archive (repeatable)', collect, [])
      .option('--exclude <glob>', 'glob of paths to leave out of --files trees (repeatable)', collect, [])
      .option('--recipient <age1…>', 'age public key to encrypt to (repeatable)', collect, [])
      .option('--passphrase-env <name>', 'encrypt with the passphrase held in this environment variable')
      .option('--unencrypted', 'write a plaintext backup (refused unless given)')
      .option('--label <label>', 'label to find the backup by, e.g. pre-release (repeatable)', collect, [])
      .addOption(new Option('--compression <alg>', 'compression').choices(['zstd', 'gzip', 'none']).default('zstd'))
      .option('--level <n>', 'compression level (zstd 1-19, default 3; gzip 1-9, default 6)')
      .addOption(new Option('--confirm-upload <mode>', 'read each stored object back and check its SHA-256 (hash) or only its size').choices(['hash', 'size']).default('hash'))
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const settings = resolveBackup(
      {
        to: o.to,
        postgres: o.postgres,
        files: o.files,
        exclude: o.exclude,
        recipients: o.recipient,
        ...passphraseFromEnv(o.passphraseEnv, env),
        unencrypted: !!o.unencrypted,
        labels: o.label,
        compression: o.compression,
        level: o.level,
        confirm: o.confirmUpload,
        ...storage(o),
      },
      reporter,
      originFromEnv(env),
    );
    const result = await backup(settings);
    if (o.json) {
      printJson({
        id: result.id,
        labels: result.manifest.labels,
        destinations: result.destinations,
        plaintextBytes: result.plaintextBytes,
        storedBytes: result.storedBytes,
        durationSeconds: result.durationSeconds,
        artifacts: result.manifest.artifacts.map((a) => ({ name: a.name, kind: a.kind, key: a.key, plaintextBytes: a.plaintext.size, storedBytes: a.stored.size, storedSha256: a.stored.sha256 })),
      });
    } else process.stdout.write(`${result.id}\n`);
  });

  storageOptions(
    program
      .command('list')
      .description('list complete backups, oldest first')
      .requiredOption('--from <dest>', 'where the backups are')
      .option('--label <label>', 'only backups with this label')
      .option('--all', 'also show incomplete (interrupted) backups')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const [dest] = openDestinations([o.from], storage(o), '--from');
    const entries = (await listBackups(dest!, reporter)).filter(
      (e) => (o.all || e.complete) && (!o.label || e.manifest?.labels.includes(o.label)),
    );
    if (o.json) {
      printJson(
        entries.map((e) => ({
          id: e.id,
          complete: e.complete,
          ...(e.damaged ? { damaged: e.damaged } : {}),
          startedAt: e.manifest?.startedAt,
          labels: e.manifest?.labels ?? [],
          storedBytes: e.manifest?.artifacts.reduce((n, a) => n + a.stored.size, 0),
          artifacts: e.manifest?.artifacts.map((a) => a.name) ?? [],
          gitSha: e.manifest?.origin.sha,
          gitRef: e.manifest?.origin.ref,
        })),
      );
      return;
    }
    if (!entries.length) reporter.info(`no backups at ${dest!.display}`);
    for (const e of entries) {
      const size = e.manifest ? `  ${formatBytes(e.manifest.artifacts.reduce((n, a) => n + a.stored.size, 0))}` : '';
      process.stdout.write(`${describeBackup(e)}${size}\n`);
    }
  });

  storageOptions(
    program
      .command('verify')
      .description('check that a backup is present and intact (and, with --deep, that it decrypts)')
      .requiredOption('--from <dest>', 'where the backups are')
      .option('--backup <selector>', 'backup id, latest, or label:NAME', 'latest')
      .option('--deep', 'also decrypt and decompress, checking the plaintext SHA-256')
      .option('--identity-file <file>', 'age identity file (for --deep)')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase (for --deep)')
      .option('--max-age <duration>', 'fail if the backup is older than this, e.g. 26h')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const maxAgeMs = o.maxAge !== undefined ? parseDuration(o.maxAge, '--max-age') : undefined;
    const decrypt = await resolveDecryption({ identityFile: o.identityFile, ...passphraseFromEnv(o.passphraseEnv, env) }, reporter);
    if (o.deep && !decrypt) {
      const { UsageError } = await import('../core/errors.js');
      throw new UsageError('--deep needs the key', 'pass --identity-file FILE or --passphrase-env NAME');
    }
    const [dest] = openDestinations([o.from], storage(o), '--from');
    const result = await verify({ destination: dest!, selector: o.backup, deep: !!o.deep, decrypt, maxAgeMs, reporter });
    if (o.json) printJson(result);
    if (result.ok) reporter.info(`OK: backup ${result.backupId} verified${result.deep ? ' (deep)' : ''}`);
    else {
      for (const p of result.problems) reporter.error(`${p.object ?? result.backupId}: ${p.problem}`);
      ctx.exitCode = ExitCode.verifyFailed;
    }
  });

  storageOptions(
    program
      .command('restore')
      .description('restore a backup into a database and/or a directory')
      .requiredOption('--from <dest>', 'where the backups are')
      .option('--backup <selector>', 'backup id, latest, or label:NAME', 'latest')
      .option('--identity-file <file>', 'age identity file')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase')
      .option('--postgres-target <url>', 'database to restore the PostgreSQL artifact into')
      .option('--files-target <dir>', 'directory to restore the file-tree artifact into')
      .option('--only <name>', 'restore only this artifact (repeatable)', collect, [])
      .option('--force', 'replace a non-empty target')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    if (o.postgresTarget) (await import('../config/settings.js')).maskUrlPassword(o.postgresTarget, reporter);
    const decrypt = await resolveDecryption({ identityFile: o.identityFile, ...passphraseFromEnv(o.passphraseEnv, env) }, reporter);
    const [dest] = openDestinations([o.from], storage(o), '--from');
    const result = await restore({
      destination: dest!,
      selection: { selector: o.backup },
      decrypt,
      postgresTarget: o.postgresTarget,
      filesTarget: o.filesTarget,
      only: o.only,
      force: !!o.force,
      reporter,
    });
    if (o.json) printJson({ backupId: result.backupId, restored: result.restored, gitSha: result.manifest.origin.sha, gitRef: result.manifest.origin.ref });
  });
}

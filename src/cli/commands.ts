import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { generateIdentity, validateRecipient } from '../codecs/age/index.js';
import { backup } from '../core/backup.js';
import { parseDuration } from '../core/duration.js';
import { ExitCode, UsageError } from '../core/errors.js';
import { prune } from '../core/prune.js';
import { rollback } from '../core/rollback.js';
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
  maskUrlPassword,
  resolveLock,
  resolvePolicy,
  resolveDbLockTimeout,
  urlsFromEnv,
  warnPasswordInArgv,
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

/** Storage and lock flags, shared by every command that opens a destination. */
function commonOptions(cmd: Command): Command {
  return storageOptions(cmd)
    .option('--lock-wait <duration>', 'wait this long for another run\'s lock on the destination (default: fail at once)')
    .option('--lock-stale <duration>', 'treat a lock not refreshed for this long as abandoned (default 30m)');
}

function storage(o: Record<string, unknown>): StorageSettings {
  return { endpoint: o.endpoint as string | undefined, region: o.region as string | undefined, pathStyle: !!o.pathStyle, preset: o.preset as string | undefined };
}

/** `--postgres-target URL` or `--postgres-target-env NAME`, masked; warns about a password in argv. */
function postgresTarget(o: { postgresTarget?: string; postgresTargetEnv?: string }, env: NodeJS.ProcessEnv, reporter: ConsoleReporter): string | undefined {
  if (o.postgresTarget !== undefined && o.postgresTargetEnv !== undefined) {
    throw new UsageError('--postgres-target and --postgres-target-env both name the target database', 'give one of them');
  }
  const url = o.postgresTargetEnv !== undefined ? urlsFromEnv([o.postgresTargetEnv], env, '--postgres-target-env')[0] : o.postgresTarget;
  if (url !== undefined) maskUrlPassword(url, reporter);
  if (o.postgresTarget !== undefined) warnPasswordInArgv(o.postgresTarget, '--postgres-target', '--postgres-target-env', reporter);
  return url;
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

  commonOptions(
    program
      .command('backup')
      .description('back up PostgreSQL databases and file trees to one or more destinations')
      .option('--to <dest>', 'destination: a path, file://PATH or s3://bucket/prefix (repeatable)', collect, [])
      .option('--postgres <url>', 'PostgreSQL database URL to dump (repeatable)', collect, [])
      .option('--postgres-env <name>', 'environment variable holding a PostgreSQL URL to dump, keeping its password out of the process list (repeatable)', collect, [])
      .option('--files <path>', 'file tree to archive (repeatable)', collect, [])
      .option('--exclude <glob>', 'glob of paths to leave out of --files trees (repeatable)', collect, [])
      .option('--recipient <age1…>', 'age public key to encrypt to (repeatable)', collect, [])
      .option('--passphrase-env <name>', 'encrypt with the passphrase held in this environment variable')
      .option('--unencrypted', 'write a plaintext backup (refused unless given)')
      .option('--init', 'allow starting a new repository in an existing local folder')
      .option('--label <label>', 'label to find the backup by, e.g. pre-release (repeatable)', collect, [])
      .addOption(new Option('--compression <alg>', 'compression').choices(['zstd', 'gzip', 'none']).default('zstd'))
      .option('--level <n>', 'compression level (zstd 1-19, default 3; gzip 1-9, default 6)')
      .option('--deployed-sha <sha>', 'git sha of the release running against this data (what a rollback to this backup redeploys)')
      .option('--deployed-ref <ref>', 'git ref of that release, e.g. refs/tags/v1.4.1')
      .option('--db-lock-timeout <duration>', 'fail when a PostgreSQL table lock held by another session blocks the dump or restore for this long', '5m')
      .addOption(new Option('--confirm-upload <mode>', 'read each stored object back and check its SHA-256 (hash) or only its size').choices(['hash', 'size']).default('hash'))
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const postgres = [...(o.postgres as string[]), ...urlsFromEnv(o.postgresEnv, env, '--postgres-env')];
    for (const url of postgres) maskUrlPassword(url, reporter);
    for (const url of o.postgres as string[]) warnPasswordInArgv(url, '--postgres', '--postgres-env', reporter);
    const settings = resolveBackup(
      {
        to: o.to,
        postgres,
        files: o.files,
        exclude: o.exclude,
        recipients: o.recipient,
        ...passphraseFromEnv(o.passphraseEnv, env),
        unencrypted: !!o.unencrypted,
        labels: o.label,
        compression: o.compression,
        level: o.level,
        confirm: o.confirmUpload,
        deployedSha: o.deployedSha,
        deployedRef: o.deployedRef,
        ...storage(o),
      },
      reporter,
      originFromEnv(env),
    );
    const result = await backup({ ...settings, lock: resolveLock(o, env), init: !!o.init, dbLockTimeoutMs: resolveDbLockTimeout(o.dbLockTimeout) });
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

  commonOptions(
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
      throw new UsageError('--deep needs the key', 'pass --identity-file FILE or --passphrase-env NAME');
    }
    const [dest] = openDestinations([o.from], storage(o), '--from');
    const result = await verify({ destination: dest!, selector: o.backup, deep: !!o.deep, decrypt, maxAgeMs, reporter, lock: resolveLock(o, env) });
    if (o.json) printJson(result);
    if (result.ok) reporter.info(`OK: backup ${result.backupId} verified${result.deep ? ' (deep)' : ''}`);
    else {
      for (const p of result.problems) reporter.error(`${p.object ?? result.backupId}: ${p.problem}`);
      ctx.exitCode = ExitCode.verifyFailed;
    }
  });

  commonOptions(
    program
      .command('restore')
      .description('restore a backup into a database and/or a directory')
      .requiredOption('--from <dest>', 'where the backups are')
      .option('--backup <selector>', 'backup id, latest, or label:NAME', 'latest')
      .option('--identity-file <file>', 'age identity file')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase')
      .option('--postgres-target <url>', 'database to restore the PostgreSQL artifact into')
      .option('--postgres-target-env <name>', 'environment variable holding that database URL (keeps its password out of the process list)')
      .option('--files-target <dir>', 'directory to restore the file-tree artifact into')
      .option('--only <name>', 'restore only this artifact (repeatable)', collect, [])
      .option('--force', 'replace a non-empty target')
      .option('--db-lock-timeout <duration>', 'fail when a PostgreSQL table lock held by another session blocks the dump or restore for this long', '5m')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    o.postgresTarget = postgresTarget(o, env, reporter);
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
      lock: resolveLock(o, env),
      dbLockTimeoutMs: resolveDbLockTimeout(o.dbLockTimeout),
    });
    if (o.json) printJson({ backupId: result.backupId, restored: result.restored, gitSha: result.manifest.origin.sha, gitRef: result.manifest.origin.ref });
  });

  commonOptions(
    program
      .command('prune')
      .description('delete backups that no retention rule keeps (the newest complete backup always stays)')
      .requiredOption('--from <dest>', 'where the backups are')
      .option('--keep-last <n>', 'keep the N newest backups')
      .option('--keep-hourly <n>', 'keep the newest backup of each of the last N hours (UTC) that have one')
      .option('--keep-daily <n>', 'keep the newest backup of each of the last N days that have one')
      .option('--keep-weekly <n>', 'keep the newest backup of each of the last N ISO weeks that have one')
      .option('--keep-monthly <n>', 'keep the newest backup of each of the last N months that have one')
      .option('--keep-yearly <n>', 'keep the newest backup of each of the last N years that have one')
      .option('--keep-within <duration>', 'keep every backup taken within DURATION of the newest one')
      .option('--keep-label <label>', 'keep every backup with this label (repeatable)', collect, [])
      .option('--incomplete-grace <duration>', 'remove incomplete (interrupted) backups only when older than this', '24h')
      .option('--dry-run', 'show what would be deleted, delete nothing')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    const policy = resolvePolicy({
      keepLast: o.keepLast,
      keepHourly: o.keepHourly,
      keepDaily: o.keepDaily,
      keepWeekly: o.keepWeekly,
      keepMonthly: o.keepMonthly,
      keepYearly: o.keepYearly,
      keepWithin: o.keepWithin,
      keepLabels: o.keepLabel,
    });
    if (!policy) {
      throw new UsageError(
        'the retention policy is empty',
        'give at least one --keep-* rule, e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12',
      );
    }
    const [dest] = openDestinations([o.from], storage(o), '--from');
    const result = await prune({
      destination: dest!,
      policy,
      dryRun: !!o.dryRun,
      incompleteGraceMs: parseDuration(o.incompleteGrace, '--incomplete-grace'),
      reporter,
      lock: resolveLock(o, env),
    });
    if (o.json) printJson(result);
    else {
      for (const k of result.kept) process.stdout.write(`keep   ${k.id} ${k.startedAt}  (${k.reasons.join(', ')})\n`);
      for (const r of result.removed) process.stdout.write(`${result.dryRun ? 'would remove' : 'remove'} ${r.id} ${r.startedAt}\n`);
      for (const r of result.incompleteRemoved) process.stdout.write(`${result.dryRun ? 'would remove' : 'remove'} ${r} (incomplete)\n`);
      for (const r of result.retained) process.stdout.write(`retain ${r.id} (delete refused: ${r.reason})\n`);
    }
  });

  commonOptions(
    program
      .command('rollback')
      .description('restore the snapshot taken before a release, after a verified safety backup of the current state')
      .requiredOption('--from <dest>', 'where the backups are')
      .requiredOption('--backup <selector>', 'backup id, latest, or label:NAME (must match one backup)')
      .option('--before <sha|time>', 'among matching backups, the one taken before this git sha or time')
      .option('--identity-file <file>', 'age identity file (its recipient also encrypts the safety backup)')
      .option('--passphrase-env <name>', 'environment variable holding the passphrase')
      .option('--recipient <age1…>', 'also encrypt the safety backup to this recipient (repeatable)', collect, [])
      .option('--postgres-target <url>', 'database to roll back')
      .option('--postgres-target-env <name>', 'environment variable holding that database URL (keeps its password out of the process list)')
      .option('--files-target <dir>', 'directory to roll back')
      .requiredOption('--confirm <name>', 'repeat the target database name (or the files target folder name)')
      .option('--check-sql <sql>', 'after the rollback, this SQL must succeed and return rows (repeatable)', collect, [])
      .option('--check-file <path>', 'after the rollback, this path (relative to --files-target) must exist')
      .option('--db-lock-timeout <duration>', 'fail when a PostgreSQL table lock held by another session blocks the dump or restore for this long', '5m')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (o) => {
    o.postgresTarget = postgresTarget(o, env, reporter);
    const decrypt = await resolveDecryption({ identityFile: o.identityFile, ...passphraseFromEnv(o.passphraseEnv, env) }, reporter);
    if (!decrypt) throw new UsageError('rollback needs the key', 'pass --identity-file FILE or --passphrase-env NAME');
    for (const r of o.recipient as string[]) validateRecipient(r);
    const [dest] = openDestinations([o.from], storage(o), '--from');
    const result = await rollback({
      destination: dest!,
      selection: { selector: o.backup, before: o.before },
      decrypt,
      recipients: o.recipient,
      postgresTarget: o.postgresTarget,
      filesTarget: o.filesTarget,
      confirm: o.confirm,
      checkSql: o.checkSql,
      checkFile: o.checkFile,
      origin: originFromEnv(env),
      reporter,
      lock: resolveLock(o, env),
      dbLockTimeoutMs: resolveDbLockTimeout(o.dbLockTimeout),
    });
    if (o.json) printJson(result);
    else process.stdout.write(`rolled back to ${result.backupId}${result.gitSha ? ` (git ${result.gitSha})` : ''}; safety backup ${result.safetyBackupId}\n`);
    if (result.checks.some((c) => !c.ok)) ctx.exitCode = ExitCode.verifyFailed;
  });
}

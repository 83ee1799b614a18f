import { Command, Option } from 'commander';
import type { StorageSettings } from '../config/settings.js';
import { loadConfigFile, type ConfigFile } from '../config/file.js';
import { releaseOf } from '../core/release.js';
import type { Origin } from '../core/types.js';
import type { RunEvent } from '../notify/event.js';
import type { ConsoleReporter } from '../shared/reporter.js';

/**
 * What every CLI command shares: the context main hands it, the storage, lock and --config
 * flags, and --json output. Kept apart from commands.ts so the command files (drill, history,
 * show) import it without a cycle through the registry.
 */

export interface CliContext {
  reporter: ConsoleReporter;
  env: NodeJS.ProcessEnv;
  exitCode: number;
  /**
   * What the command did, for notifications (--notify, --healthcheck): each unattended command
   * sets the fields it knows (backup id, sizes, destinations, alerts, details) once its work
   * is done; main builds the RunEvent from it, the exit code and any error.
   */
  outcome?: Partial<RunEvent>;
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

const STORAGE_FLAGS = ['endpoint', 'region', 'path-style', 'preset'];

/**
 * The global storage flags: defaults for every S3 location that does not set its own. Each may
 * be given once; a second --endpoint used to win silently, sending every S3 location to it.
 */
export function storageOptions(cmd: Command): Command {
  cmd
    .option('--endpoint <url>', 'S3 endpoint for every S3 location without ?endpoint= (B2, R2, MinIO, …)')
    .option('--region <region>', 'S3 region for every S3 location without ?region=')
    .option('--path-style', 'use path-style S3 URLs (MinIO and most self-hosted stores) where a location has no ?path-style=')
    .addOption(new Option('--preset <name>', 'S3 provider preset for every S3 location without ?preset=').choices(['aws', 'b2', 'r2', 'minio', 'generic']));
  refuseRepeats(cmd, STORAGE_FLAGS);
  return cmd;
}

/** Exit 2 when one of `flags` is given twice; the message never repeats a value (an endpoint may hold anything). */
function refuseRepeats(cmd: Command, flags: string[]): void {
  const seen = new Set<string>();
  for (const flag of flags) {
    cmd.on(`option:${flag}`, () => {
      if (seen.has(flag)) {
        const key = flag === 'path-style' ? 'path-style=true' : `${flag}=…`;
        cmd.error(`error: --${flag} given twice; to use different stores per destination put ?${key} in each location URL (s3://bucket/prefix?${key})`, {
          exitCode: 2,
          code: 'strongbox.repeatedOption',
        });
      }
      seen.add(flag);
    });
  }
}

/** Storage and lock flags, shared by every command that opens a destination. */
export function commonOptions(cmd: Command): Command {
  return storageOptions(cmd)
    .option('--lock-wait <duration>', 'wait this long for another run\'s lock on the destination (default: fail at once)')
    .option('--lock-stale <duration>', 'treat a lock not refreshed for this long as abandoned (default 30m)');
}

export function storage(o: Record<string, unknown>): StorageSettings {
  return { endpoint: o.endpoint as string | undefined, region: o.region as string | undefined, pathStyle: !!o.pathStyle, preset: o.preset as string | undefined };
}

/** gitSha/gitRef = the release to redeploy, backupRunSha/backupRunRef = the run that took it (release.ts). */
export function releaseJson(origin: Origin) {
  const { gitSha, gitRef, backupRunSha, backupRunRef } = releaseOf(origin);
  return { gitSha, gitRef, backupRunSha, backupRunRef };
}

export const CONFIG_HELP = 'read locations, keys and settings from this strongbox.yml; flags given override it (a list flag replaces its list)';
/** `--config FILE`, read and checked (a problem exits 2 naming the file, line and key); undefined without it. */
export function configOf(o: { config?: string }): Promise<ConfigFile | undefined> {
  return o.config !== undefined ? loadConfigFile(o.config) : Promise.resolve(undefined);
}

export const lockFlags = (o: Record<string, unknown>) => ({ lockWait: o.lockWait as string | undefined, lockStale: o.lockStale as string | undefined });

/** The flags restore, verify and rollback share, as their resolvers take them (undefined: not given). */
export function readFlags(o: Record<string, unknown>) {
  return { ...storage(o), ...lockFlags(o), backup: o.backup as string | undefined, identityFile: o.identityFile as string | undefined, passphraseEnv: o.passphraseEnv as string | undefined, trustFiles: o.trust as string[] };
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}


import type { Origin } from './types.js';

/**
 * The one meaning of the git fields every edge reports for a backup (action outputs, `--json`,
 * summaries, log lines):
 * - `gitSha`/`gitRef`: the release to redeploy with this data — the release that was running
 *   against it (`origin.deployedSha`/`deployedRef`, recorded with `--deployed-sha`), else the
 *   commit of the run that took the backup. A pre-deploy snapshot is taken by the run
 *   deploying the *next* release, so the two differ exactly there.
 * - `backupRunSha`/`backupRunRef`: the commit and ref of the run that took the backup.
 */
export interface BackupRelease {
  gitSha?: string;
  gitRef?: string;
  /** Where gitSha comes from: the recorded deployed sha, the backup run's sha, or nowhere. */
  gitShaSource: 'deployed-sha' | 'backup-run' | 'none';
  backupRunSha?: string;
  backupRunRef?: string;
}

export function releaseOf(origin: Origin | undefined): BackupRelease {
  const o = origin ?? ({} as Origin);
  const deployed = !!o.deployedSha;
  return {
    gitSha: deployed ? o.deployedSha : o.sha,
    // A recorded deployed sha comes with its own ref (or none): never pair it with the run's ref.
    gitRef: deployed ? o.deployedRef : o.ref,
    gitShaSource: deployed ? 'deployed-sha' : o.sha ? 'backup-run' : 'none',
    backupRunSha: o.sha,
    backupRunRef: o.ref,
  };
}

/** A short phrase for log lines: `git 1f4c0ffee123 (deployed sha recorded)`. */
export function describeRelease(r: BackupRelease): string {
  if (!r.gitSha) return 'no git sha recorded';
  const why = r.gitShaSource === 'deployed-sha' ? 'the recorded deployed sha' : 'no deployed sha recorded: the sha of the run that took it';
  return `release to redeploy: git ${r.gitSha.slice(0, 12)}${r.gitRef ? ` ${r.gitRef}` : ''} (${why})`;
}

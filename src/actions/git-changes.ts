import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { childEnvironment } from '../shared/sensitive-env.js';

const run = promisify(execFile);

export interface GitChanges {
  commits: string[];
  migrations: string[];
}

/**
 * What a rollback undoes, when the repository is checked out: the commits between the
 * snapshot's sha and the current one, and the migration files they changed. Best effort:
 * a shallow clone or a missing sha yields undefined rather than a failure.
 */
export async function changesBetween(workspace: string | undefined, from: string | undefined, to: string | undefined): Promise<GitChanges | undefined> {
  if (!workspace || !from || !to || from === to || !existsSync(join(workspace, '.git'))) return undefined;
  const git = async (args: string[]) => (await run('git', args, { cwd: workspace, env: childEnvironment(), maxBuffer: 8 << 20 })).stdout;
  try {
    const commits = (await git(['log', '--oneline', '--no-decorate', '-n', '200', `${from}..${to}`])).split('\n').filter(Boolean);
    const migrations = (await git(['diff', '--name-only', from, to]))
      .split('\n')
      .filter((f) => /migrat|schema|\.sql$/i.test(f));
    return { commits, migrations };
  } catch {
    return undefined;
  }
}

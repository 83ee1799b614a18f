import { readFileSync } from 'node:fs';

/**
 * Repository secrets are not passed to workflows triggered by pull requests from forks, so a
 * backup step there sees empty keys. That is not a failure of the backup nor a success: the
 * actions report it as skipped, with this reason.
 */
export function forkPullRequestReason(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.GITHUB_EVENT_NAME?.startsWith('pull_request') || !env.GITHUB_EVENT_PATH) return undefined;
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as {
      pull_request?: { head?: { repo?: { full_name?: string; fork?: boolean } | null }; base?: { repo?: { full_name?: string } } };
    };
    const pr = event.pull_request;
    const head = pr?.head?.repo;
    if (!pr) return undefined;
    if (!head || head.fork || head.full_name !== pr.base?.repo?.full_name) {
      return 'this is a pull request from a fork, and GitHub does not give repository secrets (the encryption key) to such runs';
    }
  } catch {
    return undefined;
  }
  return undefined;
}

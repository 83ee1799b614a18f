import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);

// src/core/release.ts
function releaseOf(origin) {
  const o = origin ?? {};
  const deployed = !!o.deployedSha;
  return {
    gitSha: deployed ? o.deployedSha : o.sha,
    // A recorded deployed sha comes with its own ref (or none): never pair it with the run's ref.
    gitRef: deployed ? o.deployedRef : o.ref,
    gitShaSource: deployed ? "deployed-sha" : o.sha ? "backup-run" : "none",
    backupRunSha: o.sha,
    backupRunRef: o.ref
  };
}
function describeRelease(r) {
  if (!r.gitSha) return "no git sha recorded";
  const why = r.gitShaSource === "deployed-sha" ? "the recorded deployed sha" : "no deployed sha recorded: the sha of the run that took it";
  return `release to redeploy: git ${r.gitSha.slice(0, 12)}${r.gitRef ? ` ${r.gitRef}` : ""} (${why})`;
}

export {
  releaseOf,
  describeRelease
};

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

/**
 * Workflows users copy must run as written: GitHub only warns about an input an action does
 * not declare (and the action then silently ignores it, e.g. a misspelt `keep-daily`), and an
 * undeclared `needs.X.outputs.Y` or `steps.S.outputs.O` quietly evaluates to "". This test
 * parses every workflow and action.yml in the repository and reports such mistakes.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WORKFLOWS = join(ROOT, '.github/workflows');
const OUR_REPO = /^strongbox-backup\/strongbox(\/[^@]*)?@.+$/i;

type Map_ = Record<string, unknown>;
const isMap = (v: unknown): v is Map_ => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ActionMeta {
  /** Path of the action.yml, relative to the repository root. */
  file: string;
  inputs: Map<string, { required: boolean; hasDefault: boolean }>;
  outputs: Set<string>;
}

/** Parses YAML as GitHub does for our purposes: any error (including a duplicate key) fails. */
function parseYaml(text: string, where: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw new Error(`${where}: YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS();
}

/** Loads the action in folder `key` ('.' is the repository root); undefined when there is none. */
function actionLoader(root: string): (key: string) => ActionMeta | undefined {
  const cache = new Map<string, ActionMeta | undefined>();
  return (key) => {
    if (!cache.has(key)) {
      const file = ['action.yml', 'action.yaml'].map((f) => join(root, key, f)).find((f) => existsSync(f));
      let meta: ActionMeta | undefined;
      if (file) {
        const rel = relative(root, file);
        const a = parseYaml(readFileSync(file, 'utf8'), rel);
        if (!isMap(a)) throw new Error(`${rel}: not a mapping`);
        const inputs = new Map<string, { required: boolean; hasDefault: boolean }>();
        for (const [name, spec] of Object.entries(isMap(a.inputs) ? a.inputs : {})) {
          const s = isMap(spec) ? spec : {};
          inputs.set(name, { required: s.required === true || s.required === 'true', hasDefault: 'default' in s });
        }
        meta = { file: rel, inputs, outputs: new Set(Object.keys(isMap(a.outputs) ? a.outputs : {})) };
      }
      cache.set(key, meta);
    }
    return cache.get(key);
  };
}

/** The action folder a `uses:` names in this repository, or undefined for anyone else's action. */
function ourActionKey(uses: string): string | undefined {
  const u = uses.trim();
  if (u === '.' || u.startsWith('./')) return posix.normalize(u).replace(/\/+$/, '') || '.';
  const m = OUR_REPO.exec(u);
  if (!m) return undefined;
  const path = (m[1] ?? '').replace(/^\/+|\/+$/g, '');
  return path === '' ? '.' : posix.normalize(path);
}

/** `${{ … }}` bodies in a node, plus bare `if:` conditions (which are expressions too). */
function expressions(node: unknown, key?: string): string[] {
  if (typeof node === 'string') {
    if (key === 'if' && !node.includes('${{')) return [node];
    return [...node.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1]!);
  }
  if (Array.isArray(node)) return node.flatMap((v) => expressions(v));
  if (isMap(node)) return Object.entries(node).flatMap(([k, v]) => expressions(v, k));
  return [];
}

interface Checked {
  problems: string[];
  /** Action folders our steps used, e.g. '.', 'actions/verify'. */
  used: string[];
}

function checkWorkflow(file: string, text: string, loadAction: (key: string) => ActionMeta | undefined): Checked {
  const problems: string[] = [];
  const used: string[] = [];
  let wf: unknown;
  try {
    wf = parseYaml(text, file);
  } catch (err) {
    return { problems: [(err as Error).message], used };
  }
  if (!isMap(wf)) return { problems: [`${file}: not a mapping`], used };
  if (wf.on === undefined) problems.push(`${file}: no "on:" trigger`);
  if (!isMap(wf.jobs) || Object.keys(wf.jobs).length === 0) return { problems: [...problems, `${file}: no jobs`], used };
  const jobs = wf.jobs;

  const declaredInputs = new Set<string>();
  if (isMap(wf.on)) {
    for (const trigger of ['workflow_dispatch', 'workflow_call']) {
      const t = wf.on[trigger];
      if (isMap(t) && isMap(t.inputs)) for (const k of Object.keys(t.inputs)) declaredInputs.add(k);
    }
  }

  /** Checks the references in one expression; `steps` lists the steps it may read (undefined: none). */
  const checkRefs = (where: string, expr: string, needs: string[], steps: Map<string, ActionMeta | undefined> | undefined) => {
    for (const m of expr.matchAll(/(?<![\w.-])needs\.([\w-]+)(?:\.outputs\.([\w-]+))?/g)) {
      const [ref, job, output] = m;
      if (!needs.includes(job!)) {
        problems.push(`${where}: ${ref} — "${job}" is not in this job's needs (${needs.join(', ') || 'none'})`);
      } else if (output !== undefined && isMap(jobs[job!])) {
        const outs = isMap((jobs[job!] as Map_).outputs) ? Object.keys((jobs[job!] as Map_).outputs as Map_) : [];
        if (!outs.includes(output)) problems.push(`${where}: ${ref} — job ${job} declares no output "${output}" (it declares: ${outs.join(', ') || 'none'})`);
      }
    }
    for (const m of expr.matchAll(/(?<![\w.-])steps\.([\w-]+)(?:\.outputs\.([\w-]+))?/g)) {
      const [ref, id, output] = m;
      if (!steps) {
        problems.push(`${where}: ${ref} — the steps context is not available here`);
      } else if (!steps.has(id!)) {
        problems.push(`${where}: ${ref} — step "${id}" is not an earlier step of this job`);
      } else {
        const meta = steps.get(id!);
        if (meta && output !== undefined && !meta.outputs.has(output)) {
          problems.push(`${where}: ${ref} — "${output}" is not an output of ${meta.file} (outputs: ${[...meta.outputs].join(', ')})`);
        }
      }
    }
    for (const m of expr.matchAll(/(?<![\w.-])(?:github\.event\.)?inputs\.([\w-]+)/g)) {
      if (!declaredInputs.has(m[1]!)) {
        problems.push(`${where}: ${m[0]} — the workflow declares no input "${m[1]}" (declared: ${[...declaredInputs].join(', ') || 'none'})`);
      }
    }
  };

  for (const [jobId, job] of Object.entries(jobs)) {
    const where = `${file}: jobs.${jobId}`;
    if (!isMap(job)) {
      problems.push(`${where}: not a mapping`);
      continue;
    }
    const needs = job.needs === undefined ? [] : typeof job.needs === 'string' ? [job.needs] : Array.isArray(job.needs) ? job.needs.map(String) : [];
    for (const n of needs) if (!(n in jobs) || n === jobId) problems.push(`${where}: needs "${n}", which is not another job of this workflow`);

    const steps = Array.isArray(job.steps) ? job.steps : [];
    const allSteps = new Map<string, ActionMeta | undefined>();
    const earlier = new Map<string, ActionMeta | undefined>();
    const stepMeta: (ActionMeta | undefined)[] = [];
    steps.forEach((step: unknown, i: number) => {
      const s = isMap(step) ? step : {};
      const label = typeof s.name === 'string' ? s.name : typeof s.id === 'string' ? s.id : typeof s.uses === 'string' ? s.uses : 'run';
      const at = `${where}.steps[${i}] (${label})`;
      let meta: ActionMeta | undefined;
      if (typeof s.uses === 'string') {
        const key = ourActionKey(s.uses);
        if (key !== undefined) {
          meta = loadAction(key);
          if (!meta) {
            problems.push(`${at}: uses ${s.uses}, but ${key === '.' ? '' : `${key}/`}action.yml does not exist in this repository`);
          } else {
            used.push(key);
            const given = s.with === undefined || s.with === null ? {} : s.with;
            if (!isMap(given)) {
              problems.push(`${at}: with: is not a mapping`);
            } else {
              for (const k of Object.keys(given)) {
                if (!meta.inputs.has(k)) problems.push(`${at}: input "${k}" is not declared by ${meta.file} (declared: ${[...meta.inputs.keys()].join(', ')})`);
              }
              for (const [name, spec] of meta.inputs) {
                if (spec.required && !spec.hasDefault && !(name in given)) problems.push(`${at}: required input "${name}" of ${meta.file} is missing`);
              }
            }
          }
        }
      }
      stepMeta.push(meta);
      if (typeof s.id === 'string') {
        if (allSteps.has(s.id)) problems.push(`${at}: step id "${s.id}" is used twice in this job`);
        allSteps.set(s.id, meta);
      }
      for (const e of expressions(s)) checkRefs(at, e, needs, earlier);
      // A user-controlled value pasted into a shell script is a script injection; pass it via env:.
      if (typeof s.run === 'string') {
        for (const e of expressions(s.run)) {
          if (/(?<![\w.-])(?:inputs\.|github\.event\.|github\.head_ref)/.test(e)) problems.push(`${at}: run: interpolates \${{${e}}} into the script; pass it through env: instead`);
        }
      }
      if (typeof s.id === 'string') earlier.set(s.id, meta);
    });

    for (const e of expressions(job.outputs)) checkRefs(`${where}.outputs`, e, needs, allSteps);
    const { steps: _steps, outputs: _outputs, ...rest } = job;
    for (const e of expressions(rest)) checkRefs(where, e, needs, undefined);
  }

  const { jobs: _jobs, ...top } = wf;
  for (const e of expressions(top)) checkRefs(file, e, [], undefined);
  return { problems, used };
}

const loadAction = actionLoader(ROOT);
const workflowFiles = readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const actionKeys = ['.', ...readdirSync(join(ROOT, 'actions')).map((d) => `actions/${d}`)].filter((k) => loadAction(k) !== undefined);

describe('action.yml files', () => {
  it('exist for the root and every actions/<name> folder, and parse', () => {
    expect(actionKeys).toEqual(expect.arrayContaining(['.', 'actions/backup', 'actions/verify', 'actions/restore', 'actions/rollback']));
    for (const d of readdirSync(join(ROOT, 'actions'))) expect(loadAction(`actions/${d}`), `actions/${d}/action.yml`).toBeDefined();
  });
});

describe('workflows in .github/workflows', () => {
  it('are found', () => {
    expect(workflowFiles).toEqual(
      expect.arrayContaining([
        'ci.yml',
        'check-dist.yml',
        'example-nightly.yml',
        'example-pre-deploy.yml',
        'example-rollback.yml',
        'example-restore.yml',
        'example-three-locations.yml',
        'example-tiers.yml',
        'example-matrix.yml',
        'example-drill.yml',
      ]),
    );
  });

  it.each(workflowFiles)('%s: parses, passes only declared inputs to our actions, and refers only to jobs, steps and outputs that exist', (f) => {
    const { problems } = checkWorkflow(`.github/workflows/${f}`, readFileSync(join(WORKFLOWS, f), 'utf8'), loadAction);
    expect(problems).toEqual([]);
  });

  it('the examples use the actions they document', () => {
    const uses = (f: string) => new Set(checkWorkflow(f, readFileSync(join(WORKFLOWS, f), 'utf8'), loadAction).used);
    expect([...uses('example-nightly.yml')].sort()).toEqual(['.', 'actions/verify']);
    expect([...uses('example-pre-deploy.yml')]).toEqual(['.']);
    expect([...uses('example-rollback.yml')]).toEqual(['actions/rollback']);
    expect([...uses('example-restore.yml')]).toEqual(['actions/restore']);
    expect([...uses('example-drill.yml')]).toEqual(['actions/verify']);
    // Storage tiers (issue 7): the backup action, the CLI for verify/copy/prune across locations.
    expect([...uses('example-three-locations.yml')]).toEqual(['.']);
    expect([...uses('example-tiers.yml')]).toEqual(['.']);
    expect([...uses('example-matrix.yml')]).toEqual(['.']);
  });

  it('the examples notify through the actions\' notify/healthcheck inputs (from secrets), not from curl steps', () => {
    const load = (f: string) => parseYaml(readFileSync(join(WORKFLOWS, f), 'utf8'), f) as { jobs: Record<string, { steps?: { uses?: string; run?: string; with?: Record<string, unknown> }[] }> };
    const steps = (f: string) => Object.values(load(f).jobs).flatMap((j) => j.steps ?? []);
    const inputs = (f: string, name: string) => steps(f).filter((s) => s.uses && ourActionKey(s.uses) !== undefined && s.with?.[name] !== undefined).map((s) => String(s.with![name]));
    for (const f of ['example-nightly.yml', 'example-three-locations.yml', 'example-tiers.yml']) {
      expect(steps(f).filter((s) => /\bcurl\b/.test(s.run ?? '')).map((s) => s.run), `${f}: a curl step`).toEqual([]);
      // A notification or ping URL is a credential: only ever from a secret.
      for (const v of [...inputs(f, 'notify'), ...inputs(f, 'healthcheck')]) expect(v, f).toMatch(/^(slack\+)?\$\{\{ secrets\.\w+ \}\}$/);
    }
    expect(inputs('example-nightly.yml', 'notify').length).toBeGreaterThanOrEqual(2);
    expect(inputs('example-nightly.yml', 'healthcheck').length).toBeGreaterThanOrEqual(1);
    expect(inputs('example-three-locations.yml', 'notify')).toHaveLength(1);
    expect(inputs('example-tiers.yml', 'healthcheck')).toEqual(['${{ secrets.HEALTHCHECK_URL }}']);
    // The CLI steps name the variable holding the URL (--notify-env), never the URL in argv.
    const runs = steps('example-three-locations.yml').map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('--notify-env ALERT_NOTIFY_URL');
    expect(runs).not.toMatch(/--notify\s/);
  });

  it('every job of the examples is guarded, so they do nothing in this repository unless enabled', () => {
    for (const f of workflowFiles.filter((n) => n.startsWith('example-'))) {
      const wf = parseYaml(readFileSync(join(WORKFLOWS, f), 'utf8'), f) as { jobs: Record<string, { if?: unknown }> };
      for (const [id, job] of Object.entries(wf.jobs)) {
        expect(String(job.if ?? ''), `${f}: jobs.${id}.if`).toContain("vars.STRONGBOX_EXAMPLES == 'true'");
      }
    }
  });
});

describe('the workflow checker', () => {
  // A small valid workflow using all four of our action forms; each case below breaks it once.
  const good = `
name: t
on:
  workflow_dispatch:
    inputs:
      confirm: { type: string, required: true }
jobs:
  snapshot:
    runs-on: ubuntu-24.04
    outputs:
      backup-id: \${{ steps.backup.outputs.backup-id }}
    steps:
      - id: backup
        uses: strongbox-backup/strongbox@v1
        with:
          to: s3://b/p
          recipient: age1example
          keep-daily: 7
      - uses: ./actions/verify
        with:
          from: s3://b/p
          backup: \${{ steps.backup.outputs.backup-id }}
  rollback:
    needs: snapshot
    runs-on: ubuntu-24.04
    outputs:
      git-sha: \${{ steps.rollback.outputs.git-sha }}
    steps:
      - id: rollback
        uses: strongbox-backup/strongbox/actions/rollback@v1
        with:
          from: s3://b/p
          backup: \${{ needs.snapshot.outputs.backup-id }}
          confirm: \${{ inputs.confirm }}
  redeploy:
    needs: [rollback]
    if: needs.rollback.outputs.git-sha != ''
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v5
        with:
          ref: \${{ needs.rollback.outputs.git-sha }}
`;
  const check = (text: string) => checkWorkflow('t.yml', text, loadAction);

  it('accepts the valid workflow and sees every use of our actions', () => {
    expect(check(good)).toEqual({ problems: [], used: ['.', 'actions/verify', 'actions/rollback'] });
  });

  const cases: [string, string, string, RegExp[]][] = [
    ['a misspelt input', 'keep-daily: 7', 'keep-dialy: 7', [/steps\[0\] \(backup\): input "keep-dialy" is not declared by action\.yml/]],
    // `to` of the backup action and `from` of the reading actions are optional (a config file may name the locations).
    ['a missing required input', '          backup: ${{ needs.snapshot.outputs.backup-id }}\n', '', [/required input "backup" of actions\/rollback\/action\.yml is missing/]],
    ['a rollback without confirm', '          confirm: ${{ inputs.confirm }}\n', '', [/required input "confirm" of actions\/rollback\/action\.yml is missing/]],
    ['a local action with a misspelt input', '          from: s3://b/p\n          backup: ${{ steps.backup', '          form: s3://b/p\n          backup: ${{ steps.backup', [/input "form" is not declared by actions\/verify\/action\.yml/]],
    ['an action that does not exist', 'actions/rollback@v1', 'actions/rolback@v1', [/uses strongbox-backup\/strongbox\/actions\/rolback@v1, but actions\/rolback\/action\.yml does not exist/]],
    ['needs naming no job', 'needs: [rollback]', 'needs: [rollbak]', [/jobs\.redeploy: needs "rollbak"/, /jobs\.redeploy: needs\.rollback\.outputs\.git-sha — "rollback" is not in this job's needs/, /jobs\.redeploy\.steps\[0\].*"rollback" is not in this job's needs/]],
    ['an undeclared job output', 'backup: ${{ needs.snapshot.outputs.backup-id }}', 'backup: ${{ needs.snapshot.outputs.backupid }}', [/needs\.snapshot\.outputs\.backupid — job snapshot declares no output "backupid" \(it declares: backup-id\)/]],
    ['an output our action does not set', 'steps.rollback.outputs.git-sha', 'steps.rollback.outputs.git_sha', [/jobs\.rollback\.outputs: steps\.rollback\.outputs\.git_sha — "git_sha" is not an output of actions\/rollback\/action\.yml/]],
    ['a step id that does not exist', 'backup: ${{ steps.backup.outputs.backup-id }}', 'backup: ${{ steps.backups.outputs.backup-id }}', [/step "backups" is not an earlier step of this job/]],
    ['a misspelt workflow input', 'confirm: ${{ inputs.confirm }}', 'confirm: ${{ inputs.confrim }}', [/inputs\.confrim — the workflow declares no input "confrim"/]],
    ['a duplicate key', 'keep-daily: 7', 'keep-daily: 7\n          keep-daily: 8', [/YAML does not parse/]],
    ['a YAML syntax error', '    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions', '    runs-on: [ubuntu-24.04\n    steps:\n      - uses: actions', [/YAML does not parse/]],
    ['an input pasted into a script', "      - uses: actions/checkout@v5\n", '      - run: echo "${{ inputs.confirm }}"\n      - uses: actions/checkout@v5\n', [/run: interpolates \$\{\{ inputs\.confirm \}\} into the script/]],
  ];

  it.each(cases)('reports %s', (_what, from, to, expected) => {
    expect(good).toContain(from);
    const { problems } = check(good.replace(from, to));
    expect(problems).toHaveLength(expected.length);
    for (const re of expected) expect(problems.some((p) => re.test(p)), `${re} in\n${problems.join('\n')}`).toBe(true);
  });
});

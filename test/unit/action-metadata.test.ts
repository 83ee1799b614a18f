import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The action.yml files and the code behind them must agree: an input declared but never read
 * silently does nothing (a user's `keep-daily: 7` would keep everything), one read but not
 * declared is never set by the runner, and an output set but not declared (or declared but
 * never set) leaves a workflow's `steps.x.outputs.y` empty.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');

interface ActionYml {
  inputs?: Record<string, { description?: string; required?: boolean; default?: unknown } | null>;
  outputs?: Record<string, { description?: string } | null>;
  runs?: { using?: string; main?: string };
}

interface Action {
  /** The operation, which names src/actions/<name>.ts and dist/<name>.js. */
  name: string;
  /** The action.yml, relative to the repository root. */
  file: string;
  yml: ActionYml;
}

const loadYml = (rel: string) => parse(read(rel)) as ActionYml;
const actions: Action[] = [
  { name: 'backup', file: 'action.yml', yml: loadYml('action.yml') },
  ...readdirSync(join(ROOT, 'actions'))
    .sort()
    .map((name) => ({ name, file: `actions/${name}/action.yml`, yml: loadYml(`actions/${name}/action.yml`) })),
];
const declaredInputs = (a: Action) => new Set(Object.keys(a.yml.inputs ?? {}));
const declaredOutputs = (a: Action) => new Set(Object.keys(a.yml.outputs ?? {}));

/** The body of `function name(…) … { … }` in a source text, by brace matching. */
function functionBody(src: string, name: string): string {
  const start = src.search(new RegExp(`function ${name}\\b`));
  if (start < 0) throw new Error(`no function ${name}`);
  const open = src.indexOf('{', src.indexOf(')', start));
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return src.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces in function ${name}`);
}

interface Reads {
  names: Set<string>;
  /** Inputs read as booleans (getBooleanInput throws on anything but true/false spellings). */
  booleans: Set<string>;
  /** Reader calls whose argument is not a string literal: this test cannot follow them. */
  dynamic: string[];
}

const CORE_READERS = ['getInput', 'getMultilineInput', 'getBooleanInput'];
// src/actions/inputs.ts and the other src/actions/*inputs.ts export two kinds of helpers:
// readers taking the input's name (`list('x')`, `flag('x')`, …), and bundles reading fixed
// inputs (`storageInputs()`, `getRestoreInputs()`), which may call other bundles.
const INPUT_FILES = readdirSync(join(ROOT, 'src/actions')).filter((f) => f.endsWith('inputs.ts')).map((f) => `src/actions/${f}`);
const inputSources = INPUT_FILES.map((f) => read(f));
const exported = inputSources.flatMap((src) => [...src.matchAll(/export (?:async )?function (\w+)\(([^)]*)\)/g)].map((m) => ({ fn: m[1]!, params: m[2]!, src })));
// A plain call, also after a spread (`...storageInputs()`), but not a method (`dest.list(`).
const CALL = String.raw`(?<!\w)(?<![^.]\.)`;
const HELPER_READERS = exported.filter((e) => /\bname\s*:\s*string/.test(e.params)).map((e) => e.fn);

function inputReads(src: string): Reads {
  const reads: Reads = { names: new Set(), booleans: new Set(), dynamic: [] };
  const calls = [
    ...[...src.matchAll(new RegExp(`${CALL}(${HELPER_READERS.join('|')})\\(\\s*([^,)]*)`, 'g'))].map((m) => ({ fn: m[1]!, arg: m[2]! })),
    ...[...src.matchAll(new RegExp(`\\bcore\\.(${CORE_READERS.join('|')})\\(\\s*([^,)]*)`, 'g'))].map((m) => ({ fn: m[1]!, arg: m[2]! })),
  ];
  for (const { fn, arg } of calls) {
    const lit = /^(['"`])([^'"`$]+)\1$/.exec(arg.trim());
    if (!lit) {
      reads.dynamic.push(`${fn}(${arg.trim()})`);
      continue;
    }
    reads.names.add(lit[2]!);
    if (fn === 'flag' || fn === 'getBooleanInput') reads.booleans.add(lit[2]!);
  }
  return reads;
}

const bundleFns = exported.filter((e) => !HELPER_READERS.includes(e.fn));
const BUNDLES = new Map(bundleFns.map((e) => [e.fn, inputReads(functionBody(e.src, e.fn))] as const));
/** Adds what the bundles `src` calls read, following bundles that call bundles. */
function addBundleReads(src: string, reads: Reads, seen = new Set<string>()): void {
  for (const [fn, bundle] of BUNDLES) {
    if (seen.has(fn) || !new RegExp(`${CALL}${fn}\\(`).test(src)) continue;
    seen.add(fn);
    for (const n of bundle.names) reads.names.add(n);
    for (const n of bundle.booleans) reads.booleans.add(n);
    addBundleReads(functionBody(bundleFns.find((e) => e.fn === fn)!.src, fn), reads, seen);
  }
}

/** Every input name src/actions/<name>.ts reads, directly or through a bundle helper. */
function actionReads(name: string): Reads {
  // An action's typed inputs may be read by its own `<name>-inputs.ts` (getBackupInputs()).
  const own = `src/actions/${name}-inputs.ts`;
  const src = read(`src/actions/${name}.ts`) + (existsSync(join(ROOT, own)) ? read(own) : '');
  const reads = inputReads(src);
  addBundleReads(src, reads);
  return reads;
}

/** Every output name set by src/actions/<name>.ts, including `exit-code` set by runAction on failure. */
function actionOutputs(name: string): { names: Set<string>; dynamic: string[] } {
  const setOutputs = (src: string) => [...src.matchAll(/\bcore\.setOutput\(\s*([^,)]*)/g)].map((m) => m[1]!.trim());
  const src = read(`src/actions/${name}.ts`);
  const args = setOutputs(src);
  if (new RegExp(`${CALL}runAction\\(`).test(src)) args.push(...setOutputs(read('src/actions/run.ts')));
  const names = new Set<string>();
  const dynamic: string[] = [];
  for (const arg of args) {
    const lit = /^(['"`])([^'"`$]+)\1$/.exec(arg);
    if (lit) names.add(lit[2]!);
    else dynamic.push(arg);
  }
  return { names, dynamic };
}

describe('action metadata', () => {
  it('knows the actions and the helpers that read inputs', () => {
    expect(actions.map((a) => a.file)).toEqual(
      expect.arrayContaining(['action.yml', 'actions/backup/action.yml', 'actions/restore/action.yml', 'actions/rollback/action.yml', 'actions/verify/action.yml']),
    );
    expect(HELPER_READERS).toEqual(expect.arrayContaining(['list', 'commaList', 'optional', 'flag', 'secret']));
    expect([...(BUNDLES.get('storageInputs')?.names ?? [])].sort()).toEqual(['endpoint', 'path-style', 'preset', 'region']);
  });

  it('the root action.yml is actions/backup/action.yml except for runs.main', () => {
    const strip = (y: ActionYml) => {
      const copy = structuredClone(y);
      delete copy.runs?.main;
      return copy;
    };
    const root = actions.find((a) => a.file === 'action.yml')!;
    const backup = actions.find((a) => a.file === 'actions/backup/action.yml')!;
    expect(strip(root.yml)).toEqual(strip(backup.yml));
  });

  describe.each(actions.map((a) => [a.file, a] as const))('%s', (_file, a) => {
    it(`runs on node24 from dist/${a.name}.js, built from src/entries/${a.name}.ts`, () => {
      expect(a.yml.runs?.using).toBe('node24');
      expect(typeof a.yml.runs?.main).toBe('string');
      const main = resolve(ROOT, dirname(a.file), a.yml.runs!.main!);
      expect(relative(ROOT, main)).toBe(`dist/${a.name}.js`);
      const entry = `src/entries/${a.name}.ts`;
      expect(existsSync(join(ROOT, entry)), entry).toBe(true);
      expect(read(entry)).toContain(`'../actions/${a.name}.js'`);
    });

    it('describes every input and output', () => {
      for (const [k, v] of [...Object.entries(a.yml.inputs ?? {}), ...Object.entries(a.yml.outputs ?? {})]) {
        expect(typeof v?.description === 'string' && v.description.trim() !== '', `${a.file}: ${k} has no description`).toBe(true);
      }
      for (const [k, v] of Object.entries(a.yml.inputs ?? {})) {
        if (v && 'required' in v) expect(typeof v.required, `${a.file}: inputs.${k}.required must be true or false`).toBe('boolean');
      }
    });

    it(`declares exactly the inputs src/actions/${a.name}.ts reads`, () => {
      const reads = actionReads(a.name);
      expect(reads.dynamic, 'input reads with a computed name cannot be checked').toEqual([]);
      const declared = declaredInputs(a);
      const neverRead = [...declared].filter((n) => !reads.names.has(n));
      const undeclared = [...reads.names].filter((n) => !declared.has(n));
      expect({ neverRead, undeclared }).toEqual({ neverRead: [], undeclared: [] });
    });

    it('gives boolean inputs a default getBooleanInput accepts', () => {
      for (const n of actionReads(a.name).booleans) {
        const d = a.yml.inputs?.[n]?.default;
        if (d !== undefined) expect(['true', 'false'], `${a.file}: inputs.${n}.default`).toContain(String(d));
      }
    });

    it(`declares exactly the outputs src/actions/${a.name}.ts sets`, () => {
      const set = actionOutputs(a.name);
      expect(set.dynamic, 'outputs set with a computed name cannot be checked').toEqual([]);
      const declared = declaredOutputs(a);
      const undeclared = [...set.names].filter((n) => !declared.has(n));
      const neverSet = [...declared].filter((n) => !set.names.has(n));
      expect({ undeclared, neverSet }).toEqual({ undeclared: [], neverSet: [] });
    });
  });

  it('only the action edges read inputs or set outputs (operations take typed settings)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(rel);
        else if (rel.endsWith('.ts') && !rel.startsWith('src/actions/') && /\b(getInput|getMultilineInput|getBooleanInput|setOutput)\(|INPUT_/.test(read(rel))) offenders.push(rel);
      }
    };
    walk('src');
    expect(offenders).toEqual([]);
  });
});

describe('the source scanner', () => {
  // The checks above are only as good as the scanner; show it finds what it must.
  it('finds literal reads, bundle reads and computed names', () => {
    const r = inputReads(`const a = list('to'); flag("force"); core.getInput('from', { required: true });
      core.getBooleanInput('deep'); optional(name); s.addList(['x']); dest.list('prefix'); f({ ...commaList('label') });`);
    expect([...r.names].sort()).toEqual(['deep', 'force', 'from', 'label', 'to']);
    expect([...r.booleans].sort()).toEqual(['deep', 'force']);
    expect(r.dynamic).toEqual(['optional(name)']);
  });
});

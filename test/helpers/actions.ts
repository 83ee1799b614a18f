import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { parse } from 'yaml';

/**
 * Sets process.env as a GitHub runner would for one step of the action described by
 * `actionYml`: every declared input (given, else its default, else ""), a fresh GITHUB_OUTPUT
 * file in `work`, a sha and a run id. Returns the output file's path.
 */
export function runnerEnv(work: string, actionYml: string, given: Record<string, string>, extra: Record<string, string> = {}): string {
  const inputs = parse(readFileSync(actionYml, 'utf8')).inputs as Record<string, { default?: string }>;
  for (const [name, spec] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = given[name] ?? spec.default ?? '';
  const out = join(work, `out-${Math.random().toString(16).slice(2)}`);
  writeFileSync(out, '');
  Object.assign(process.env, { GITHUB_OUTPUT: out, GITHUB_SHA: 'a'.repeat(40), GITHUB_RUN_ID: '42' }, extra);
  return out;
}

/** The outputs an action wrote to its GITHUB_OUTPUT file. */
export function outputs(file: string): Record<string, string> {
  const text = readFileSync(file, 'utf8');
  const result: Record<string, string> = {};
  const re = /^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm;
  for (let m; (m = re.exec(text)); ) result[m[1]!] = m[3]!;
  return result;
}

/** Captures what the action writes to stdout (its log) instead of printing it. */
export function captureLog(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
  return lines;
}

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * How to start an entry point (`cli`, `backup`, …) as a child: the bundle the integration
 * globalSetup built from src/ this run (test/helpers/cli-bundle.ts), else the sources via tsx.
 */
export function entryArgs(name = 'cli'): string[] {
  let bundle: string | undefined;
  try {
    bundle = inject('strongboxCliBundle');
  } catch {
    bundle = undefined; // outside a vitest worker
  }
  return bundle ? [join(bundle, `${name}.js`)] : ['--import', 'tsx', fileURLToPath(new URL(`../../src/entries/${name}.ts`, import.meta.url))];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the strongbox CLI built from source as a real child process, the way a user's shell would. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entryArgs(), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * stderr without the UTC timestamp the CLI puts before each line when stderr is no terminal
 * (always so here), for assertions anchored at the start of a line.
 */
export function untimed(stderr: string): string {
  return stderr.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /gm, '');
}

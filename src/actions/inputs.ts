import * as core from '@actions/core';
import type { SshPrivateKey } from '../codecs/ssh-signature/index.js';
import { resolveSigningKey, type StorageSettings } from '../config/settings.js';
import { UsageError } from '../shared/errors.js';
import { sensitiveEnv } from '../shared/sensitive-env.js';
import { actionsReporter } from './reporter.js';

// The runner passes every input as INPUT_<NAME>; any may hold a secret, so no child inherits them.
sensitiveEnv.addPrefix('INPUT_');

/**
 * Action inputs carry the CLI flags' names (`postgres-target` ↔ `--postgres-target`). Lists
 * are one value per line (commas also separate recipients and labels, which never hold them).
 */
export function list(name: string): string[] {
  return core
    .getMultilineInput(name)
    .flatMap((l) => l.split(/\n/))
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

export function commaList(name: string): string[] {
  return list(name).flatMap((l) => l.split(',')).map((l) => l.trim()).filter(Boolean);
}

export function optional(name: string): string | undefined {
  const v = core.getInput(name).trim();
  return v === '' ? undefined : v;
}

/** A boolean input: "" is its default (false); anything but the YAML true/false spellings is a usage error (exit 2) naming it. */
export function flag(name: string): boolean {
  const v = core.getInput(name).trim();
  if (v === '') return false;
  if (['true', 'True', 'TRUE'].includes(v)) return true;
  if (['false', 'False', 'FALSE'].includes(v)) return false;
  throw new UsageError(`input ${name} "${v}" is neither true nor false`, `write ${name}: true or ${name}: false (or leave it out)`);
}

/** A secret input: masked before anything else happens. Returns undefined when unset. */
export function secret(name: string): string | undefined {
  const v = core.getInput(name, { trimWhitespace: false });
  if (v) actionsReporter.setSecret(v);
  return v === '' ? undefined : v;
}

export function storageInputs(): StorageSettings {
  return { endpoint: optional('endpoint'), region: optional('region'), pathStyle: flag('path-style'), preset: optional('preset') };
}

/** The signing-key input (an OpenSSH private key from a secret), masked line by line first. */
export async function signingKeyInput(): Promise<SshPrivateKey | undefined> {
  const text = secret('signing-key');
  return resolveSigningKey({ signingKey: text, source: 'input signing-key' }, actionsReporter);
}

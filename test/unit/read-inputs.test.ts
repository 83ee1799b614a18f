import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { getRestoreInputs, getRollbackInputs, getVerifyInputs } from '../../src/actions/read-inputs.js';
import { captureLog, runnerEnv } from '../helpers/actions.js';

/**
 * Each reading action's inputs, as a runner sets them (every declared input, "" when not
 * given), read into the settings its resolver takes: "" is "not given" (so the config file or
 * the default applies), lists are one per line, secrets are masked as they are read.
 */
const work = mkdtempSync(join(tmpdir(), 'strongbox-read-inputs-'));
const saved = { ...process.env };
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

const read = <T>(yml: string, given: Record<string, string>, get: () => T) => {
  runnerEnv(work, yml, given);
  const log = captureLog();
  return { settings: get(), masks: [...log.join('').matchAll(/::add-mask::(.*)/g)].map((m) => m[1]) };
};

const NOTHING = { endpoint: undefined, region: undefined, pathStyle: false, preset: undefined, identity: undefined, passphrase: undefined, passphraseSource: undefined, trustedKeys: [] };

describe('getRestoreInputs', () => {
  it.each([
    ['nothing given: every setting "not given", the default backup latest from action.yml', {}, { ...NOTHING, config: undefined, from: undefined, backup: 'latest', only: [], force: false, lockWait: undefined, dbLockTimeout: undefined, pgBin: undefined }],
    ['config and a location name', { config: 'strongbox.yml', from: 'nas' }, { config: 'strongbox.yml', from: 'nas' }],
    ['db-lock-timeout has no default in action.yml (the file\'s db-lock-timeout can apply)', {}, { dbLockTimeout: undefined }],
    ['targets, one input each (never argv: no password warning)', { 'postgres-target': 'postgres://app@db/app', 'files-target': '/srv/media' }, { postgresTarget: 'postgres://app@db/app', filesTarget: '/srv/media', mysqlTarget: undefined, sqliteTarget: undefined }],
    ['only: by line or comma', { only: 'db\nmedia, extra' }, { only: ['db', 'media', 'extra'] }],
    ['trusted-keys: one per line, blank lines dropped', { 'trusted-keys': 'ssh-ed25519 AAAA1\n\nssh-ed25519 AAAA2\n' }, { trustedKeys: ['ssh-ed25519 AAAA1', 'ssh-ed25519 AAAA2'] }],
    ['storage inputs', { endpoint: 'http://127.0.0.1:9000', 'path-style': 'true', preset: 'minio' }, { endpoint: 'http://127.0.0.1:9000', pathStyle: true, preset: 'minio' }],
    ['the passphrase, named for messages', { passphrase: 'correct horse battery staple' }, { passphrase: 'correct horse battery staple', passphraseSource: 'input passphrase' }],
  ])('%s', (_rule, given, expected) => {
    expect(read('actions/restore/action.yml', given, getRestoreInputs).settings).toMatchObject(expected);
  });

  it('masks the identity and passphrase as it reads them, whitespace and all', () => {
    const { masks, settings } = read('actions/restore/action.yml', { identity: 'AGE-SECRET-KEY-1XYZ', passphrase: ' spaced passphrase ' }, getRestoreInputs);
    expect(masks).toEqual(expect.arrayContaining(['AGE-SECRET-KEY-1XYZ', ' spaced passphrase ']));
    expect(settings.passphrase).toBe(' spaced passphrase ');
  });
});

describe('getVerifyInputs', () => {
  it.each([
    ['nothing given: no location (the file\'s destinations), not deep', {}, { ...NOTHING, config: undefined, from: [], backup: 'latest', deep: false, maxAge: undefined, lockWait: undefined }],
    ['one from line', { from: '/srv/backups' }, { from: ['/srv/backups'] }],
    ['several from lines: verify across them', { from: 'local\ns3://b/db?endpoint=http://127.0.0.1:9000&credentials=R2\n\n' }, { from: ['local', 's3://b/db?endpoint=http://127.0.0.1:9000&credentials=R2'] }],
    ['deep and max-age', { deep: 'true', 'max-age': '26h' }, { deep: true, maxAge: '26h' }],
    ['a blank max-age is not given', { 'max-age': '  ' }, { maxAge: undefined }],
  ])('%s', (_rule, given, expected) => {
    expect(read('actions/verify/action.yml', given, getVerifyInputs).settings).toMatchObject(expected);
  });
});

describe('getRollbackInputs', () => {
  it.each([
    [
      'nothing but the required inputs',
      { backup: 'label:pre-release', confirm: 'app' },
      { ...NOTHING, config: undefined, from: undefined, backup: 'label:pre-release', confirm: 'app', before: undefined, recipients: [], signingKey: undefined, signingKeySource: undefined, checkSql: [], checkFile: undefined, lockWait: undefined, dbLockTimeout: undefined, pgBin: undefined },
    ],
    ['recipients by line or comma (they replace the file\'s encryption.recipients)', { recipient: 'age1a, age1b\nage1c' }, { recipients: ['age1a', 'age1b', 'age1c'] }],
    ['check-sql: one statement per line', { 'check-sql': 'select 1\nselect count(*) from patients' }, { checkSql: ['select 1', 'select count(*) from patients'] }],
    ['signing-key, named for messages', { 'signing-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----' }, { signingKeySource: 'input signing-key' }],
    ['config, before and targets', { config: 'ops/strongbox.yml', before: 'abc1234', 'sqlite-target': '/srv/app.db' }, { config: 'ops/strongbox.yml', before: 'abc1234', sqliteTarget: '/srv/app.db' }],
  ])('%s', (_rule, given, expected) => {
    expect(read('actions/rollback/action.yml', given, getRollbackInputs).settings).toMatchObject(expected);
  });

  it('masks the signing key before anything else is logged', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const { masks } = read('actions/rollback/action.yml', { 'signing-key': key, backup: 'x', confirm: 'y' }, getRollbackInputs);
    // One mask command for the whole text (the runner escapes its newlines); the resolver masks it line by line too.
    expect(masks[0]).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----.*b3BlbnNzaC1rZXktdjEAAAA/);
  });
});

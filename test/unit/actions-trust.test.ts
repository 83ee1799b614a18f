import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runnerEnv as runnerEnvIn, outputs, captureLog } from '../helpers/actions.js';
import { runBackupAction } from '../../src/actions/backup.js';
import { runRestoreAction } from '../../src/actions/restore.js';
import { runVerifyAction } from '../../src/actions/verify.js';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { formatPrivateKey, formatPublicKey, generateSigningKey } from '../../src/codecs/ssh-signature/index.js';

/**
 * The signing-key and trusted-keys inputs as a runner sets them (INPUT_<NAME>, "" when not
 * given), and the verify action's exit codes for keys.
 */
let work: string;
let tree: string;
const saved = { ...process.env };
const id = generateIdentity();
const signer = generateSigningKey('ci');
const other = generateSigningKey('attacker');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-actions-trust-'));
  tree = join(work, 'uploads');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'hello\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  process.env = { ...saved };
  process.exitCode = undefined;
  vi.restoreAllMocks();
});




const runnerEnv = (yml: string, given: Record<string, string>) => runnerEnvIn(work, yml, given);
const capture = captureLog;

/** What a person reads in the log: every line but the runner's own ::add-mask:: commands. */
const visible = (lines: string[]) => lines.join('').split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');

describe('signing-key and trusted-keys inputs', () => {
  it('backup signs with the signing-key secret (masked, never logged); verify and restore accept it with trusted-keys', async () => {
    const repo = join(work, 'repo-signed');
    const keyText = formatPrivateKey(signer);
    const log = capture();
    let out = runnerEnv('action.yml', { to: repo, files: tree, recipient: id.recipient, 'signing-key': keyText, init: 'true' });
    await runBackupAction();
    const backupId = outputs(out)['backup-id']!;
    expect(outputs(out).status, visible(log)).toBe('success');
    const sigText = readFileSync(join(repo, backupId, 'manifest.json.sig'), 'utf8');
    expect(sigText).toMatch(/^-----BEGIN SSH SIGNATURE-----/);
    const masks = [...log.join('').matchAll(/::add-mask::(.*)/g)].map((m) => m[1]);
    const keyLines = keyText.split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(masks).toEqual(expect.arrayContaining(keyLines));

    process.exitCode = undefined;
    out = runnerEnv('actions/verify/action.yml', { from: repo, 'trusted-keys': `${formatPublicKey(other.publicKey)}\n${formatPublicKey(signer.publicKey)}` });
    await runVerifyAction();
    expect(outputs(out).ok, visible(log)).toBe('true');

    const target = join(work, 'target-signed');
    out = runnerEnv('actions/restore/action.yml', { from: repo, identity: id.identity, 'trusted-keys': formatPublicKey(signer.publicKey), 'files-target': target });
    await runRestoreAction();
    expect(outputs(out)['exit-code'], visible(log)).toBe('0');
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('hello\n');

    const text = visible(log);
    for (const l of [...keyLines, ...sigText.split('\n').filter((x) => x && !x.startsWith('-----'))]) expect(text).not.toContain(l);
  });

  it('restore with trusted-keys refuses a backup signed by another key (exit-code 3) and writes nothing', async () => {
    const repo = join(work, 'repo-other');
    const log = capture();
    runnerEnv('action.yml', { to: repo, files: tree, recipient: id.recipient, 'signing-key': formatPrivateKey(other), init: 'true' });
    await runBackupAction();
    process.exitCode = undefined;
    const target = join(work, 'target-other');
    const out = runnerEnv('actions/restore/action.yml', { from: repo, identity: id.identity, 'trusted-keys': formatPublicKey(signer.publicKey), 'files-target': target });
    await runRestoreAction();
    expect(outputs(out)['exit-code']).toBe('3');
    expect(visible(log)).toMatch(/::error::backup \S+ at .* is signed by SHA256:\S+, which is not a trusted key/);
    expect(() => readFileSync(join(target, 'a.txt'))).toThrow();
  });

  it('trusted-keys and --trust files: comment and blank lines are ignored; an input or file with no key is a usage error (2)', async () => {
    const repo = join(work, 'repo-comments');
    const log = capture();
    runnerEnv('action.yml', { to: repo, files: tree, recipient: id.recipient, 'signing-key': formatPrivateKey(signer), init: 'true' });
    await runBackupAction();
    process.exitCode = undefined;
    let out = runnerEnv('actions/verify/action.yml', { from: repo, 'trusted-keys': `# ops key (rotated 2026-11)\n\n${formatPublicKey(signer.publicKey)}\n# old key, removed\n` });
    await runVerifyAction();
    expect(outputs(out).ok, visible(log)).toBe('true');
    expect(outputs(out)['exit-code']).toBe('0');

    process.exitCode = undefined;
    out = runnerEnv('actions/verify/action.yml', { from: repo, 'trusted-keys': '# ops key\n# nothing else' });
    await runVerifyAction();
    expect(outputs(out)['exit-code']).toBe('2');
    expect(visible(log)).toMatch(/::error::trusted-keys holds no public key/);

    const { resolveTrust } = await import('../../src/config/settings.js');
    const pub = join(work, 'commented.pub');
    writeFileSync(pub, `# CI signing key\n\n${formatPublicKey(signer.publicKey)}\n\n`);
    expect((await resolveTrust({ trustFiles: [pub] }))?.map((k) => k.comment)).toEqual(['ci']);
    const empty = join(work, 'comments-only.pub');
    writeFileSync(empty, '# no key yet\n\n');
    await expect(resolveTrust({ trustFiles: [empty] })).rejects.toThrow(/comments-only\.pub holds no public key/);
  });

  it('verify with a wrong identity (deep not asked) sets exit-code 5 and fails, naming the object once', async () => {
    const repo = join(work, 'repo-wrongkey');
    const log = capture();
    runnerEnv('action.yml', { to: repo, files: tree, recipient: id.recipient, init: 'true' });
    await runBackupAction();
    process.exitCode = undefined;
    const out = runnerEnv('actions/verify/action.yml', { from: repo, identity: generateIdentity().identity });
    await runVerifyAction();
    expect(outputs(out)['exit-code']).toBe('5');
    expect(outputs(out).ok).toBe('false');
    expect(process.exitCode).toBe(1);
    const errors = visible(log).split('\n').filter((l) => l.startsWith('::error::') && l.includes('files-uploads.tar.zst.age'));
    expect(errors).toHaveLength(1);
  });

  it('a signing-key that is not a private key is a usage error (exit-code 2) and nothing is backed up', async () => {
    const repo = join(work, 'repo-badkey');
    capture();
    const out = runnerEnv('action.yml', { to: repo, files: tree, recipient: id.recipient, 'signing-key': formatPublicKey(signer.publicKey), init: 'true' });
    await runBackupAction();
    expect(outputs(out)['exit-code']).toBe('2');
    expect(() => readFileSync(join(repo, 'strongbox.json'))).toThrow();
  });
});

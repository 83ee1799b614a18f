/**
 * Trust, through the real CLI: a backup planted or edited by someone who can write to the
 * storage (and holds the public recipient, which is no secret) must not reach a target.
 * Signed manifests (SSH signatures that OpenSSH's ssh-keygen checks), and the rule that an
 * encrypted backup is encrypted throughout.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { runCli, untimed } from '../helpers/cli.js';

const run = promisify(execFile);
let work: string;
let tree: string;
let idFile: string;
let recipient: string;
let signKey: string;
let otherKey: string;
const PASS = 'correct horse battery staple 42';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sb-trust-'));
  tree = join(work, 'app-data');
  await mkdir(join(tree, 'sub'), { recursive: true });
  await writeFile(join(tree, 'real.txt'), 'the real data\n');
  await writeFile(join(tree, 'sub', 'b.txt'), 'more real data\n');
  const id = generateIdentity();
  recipient = id.recipient;
  idFile = join(work, 'key.txt');
  await writeFile(idFile, `${id.identity}\n`, { mode: 0o600 });
  signKey = join(work, 'signing');
  otherKey = join(work, 'attacker');
  for (const k of [signKey, otherKey]) {
    const r = await runCli(['keygen', '--signing', '--output', k]);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function backupTo(repo: string, extra: string[] = []): Promise<string> {
  const r = await runCli(['backup', '--to', repo, '--init', '--files', tree, '--recipient', recipient, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** The attacker's own backup (another tree, same public recipient) into the victim's repository. */
async function plantBackup(repo: string, extra: string[]): Promise<string> {
  const evil = join(work, 'evil-tree', 'app-data');
  await mkdir(evil, { recursive: true });
  await writeFile(join(evil, 'planted.txt'), 'attacker was here\n');
  const r = await runCli(['backup', '--to', repo, '--init', '--files', evil, '--recipient', recipient, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function fingerprintOf(pubFile: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-f', pubFile]);
  return stdout.split(' ')[1]!;
}

function sshVerify(allowed: string, sig: string, data: Buffer): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'backups@example.com', '-n', 'strongbox', '-s', sig]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    child.stdin.end(data);
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const exists = (p: string) => stat(p).then(() => true, () => false);

describe('#33 an edited manifest that switches off encryption of one artifact', () => {
  let repo: string;
  let id: string;

  beforeAll(async () => {
    repo = join(work, 'repo-plain-plant');
    id = await backupTo(repo);
    // The attack: a plain tar of the attacker's files replaces the artifact, and the manifest
    // is edited to say "not encrypted, not compressed" with the planted tar's size and hash.
    const evil = join(work, 'evil');
    await mkdir(evil, { recursive: true });
    await writeFile(join(evil, 'planted.txt'), 'attacker was here\n');
    const tarFile = join(work, 'planted.tar');
    await run('tar', ['-cf', tarFile, '-C', evil, 'planted.txt']);
    const tar = await readFile(tarFile);
    const manifestPath = join(repo, id, 'manifest.json');
    const m = JSON.parse(await readFile(manifestPath, 'utf8'));
    const a = m.artifacts[0];
    await writeFile(join(repo, id, a.key), tar);
    a.encryption = { scheme: 'none' };
    a.compression = { algorithm: 'none' };
    a.stored = a.plaintext = { size: tar.length, sha256: sha256(tar) };
    await writeFile(manifestPath, JSON.stringify(m, null, 2) + '\n');
  });

  it('verify --deep exits 3 naming the backup and the artifact', async () => {
    const r = await runCli(['verify', '--from', repo, '--deep', '--identity-file', idFile]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`artifact files-app-data of backup ${id} .* is marked unencrypted`));
    expect(untimed(r.stderr)).not.toMatch(/^OK/m);
  });

  it('restore exits 3 and the target stays empty, with or without a key', async () => {
    const target = join(work, 'target-plain-plant');
    for (const key of [['--identity-file', idFile], []]) {
      const r = await runCli(['restore', '--from', repo, ...key, '--files-target', target]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`files-app-data of backup ${id}.*marked unencrypted`));
      expect(await exists(target)).toBe(false);
    }
  });

  it('a backup whose manifest says "not encrypted" at all is refused when a key is given, with a hint', async () => {
    const manifestPath = join(repo, id, 'manifest.json');
    const m = JSON.parse(await readFile(manifestPath, 'utf8'));
    const repo2 = join(work, 'repo-plain-plant-2');
    await mkdir(join(repo2, id), { recursive: true });
    await writeFile(join(repo2, 'strongbox.json'), await readFile(join(repo, 'strongbox.json')));
    await writeFile(join(repo2, id, m.artifacts[0].key), await readFile(join(repo, id, m.artifacts[0].key)));
    m.encryption = { scheme: 'none', recipients: [] };
    await writeFile(join(repo2, id, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
    const target = join(work, 'target-plain-plant-2');
    const r = await runCli(['restore', '--from', repo2, '--identity-file', idFile, '--files-target', target]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`backup ${id} at ${repo2} is not encrypted, but a key was given`);
    expect(r.stderr).toMatch(/hint: .*--unencrypted/);
    expect(await exists(target)).toBe(false);
  });

  it('an unknown compression algorithm is refused by name, not read as "none"', async () => {
    const repo3 = join(work, 'repo-lz4');
    const id3 = await backupTo(repo3);
    const manifestPath = join(repo3, id3, 'manifest.json');
    const m = JSON.parse(await readFile(manifestPath, 'utf8'));
    m.artifacts[0].compression = { algorithm: 'lz4' };
    await writeFile(manifestPath, JSON.stringify(m, null, 2) + '\n');
    const target = join(work, 'target-lz4');
    const r = await runCli(['restore', '--from', repo3, '--backup', id3, '--identity-file', idFile, '--files-target', target]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('artifacts[0].compression.algorithm "lz4" is not one of zstd, gzip, none');
    expect(await exists(target)).toBe(false);
  });
});

describe('#34 signed manifests', () => {
  let repo: string;
  let signedId: string;
  let backupLog: string;

  beforeAll(async () => {
    repo = join(work, 'repo-signed');
    const r = await runCli(['backup', '--to', repo, '--init', '--files', tree, '--recipient', recipient, '--sign-key', signKey]);
    expect(r.code, r.stderr).toBe(0);
    signedId = r.stdout.trim();
    backupLog = r.stdout + r.stderr;
  });

  it('keygen --signing writes an OpenSSH key (0600) and FILE.pub that ssh-keygen reads, and refuses to overwrite them', async () => {
    const key = await readFile(signKey, 'utf8');
    expect(key).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect((await stat(signKey)).mode & 0o777).toBe(0o600);
    const pub = (await readFile(`${signKey}.pub`, 'utf8')).trim();
    expect(pub).toMatch(/^ssh-ed25519 AAAA\S+ strongbox-signing$/);
    const { stdout } = await run('ssh-keygen', ['-y', '-f', signKey]);
    expect(stdout.trim()).toBe(pub);
    const again = await runCli(['keygen', '--signing', '--output', signKey]);
    expect(again.code).toBe(7);
    expect(again.stderr).toContain(`${signKey} already exists`);
    expect(again.stderr).not.toMatch(/EEXIST|unexpected failure/);
    expect(await readFile(signKey, 'utf8')).toBe(key);
  });

  it('the stored signature verifies with ssh-keygen -Y verify over the stored manifest (the README command)', async () => {
    const allowed = join(work, 'allowed_signers');
    await writeFile(allowed, `backups@example.com ${await readFile(`${signKey}.pub`, 'utf8')}`);
    const manifest = await readFile(join(repo, signedId, 'manifest.json'));
    const ok = await sshVerify(allowed, join(repo, signedId, 'manifest.json.sig'), manifest);
    expect(ok.out).toContain('Good "strongbox" signature for backups@example.com');
    expect(ok.code).toBe(0);
  });

  it('neither the signing key nor the signature appears in the backup output', async () => {
    const keyLines = (await readFile(signKey, 'utf8')).split('\n').filter((l) => l && !l.startsWith('-----'));
    const sigLines = (await readFile(join(repo, signedId, 'manifest.json.sig'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const l of [...keyLines, ...sigLines]) expect(backupLog).not.toContain(l);
    expect(backupLog).toContain(await fingerprintOf(`${signKey}.pub`));
  });

  it('without --trust, list and verify say whose signature a backup carries, not checked', async () => {
    const fp = await fingerprintOf(`${signKey}.pub`);
    const l = await runCli(['list', '--from', repo]);
    expect(l.stdout).toContain(`${signedId}`);
    expect(l.stdout).toContain(`signed by ${fp}, not checked`);
    const v = await runCli(['verify', '--from', repo]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain(`signed by ${fp}, not checked`);
    const t = await runCli(['verify', '--from', repo, '--trust', `${signKey}.pub`]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toContain(`signed by trusted key ${fp}`);
  });

  it('restore and verify --trust skip a newer backup planted with only the public recipient (unsigned), naming it; an explicit id of it is refused (3)', async () => {
    const repoP = join(work, 'repo-planted-unsigned');
    const good = await backupTo(repoP, ['--sign-key', signKey]);
    const planted = await plantBackup(repoP, []); // the attacker: recipient and write access, no signing key
    const target = join(work, 'target-unsigned');
    const r = await runCli(['restore', '--from', repoP, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Skipped 1 newer backup(s) not signed by a trusted key: ${planted} (is not signed)`);
    expect(r.stderr).toContain(`Restoring ${good}`);
    expect(await readFile(join(target, 'real.txt'), 'utf8')).toBe('the real data\n');
    expect(await exists(join(target, 'planted.txt'))).toBe(false);
    const v = await runCli(['verify', '--from', repoP, '--trust', `${signKey}.pub`]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain(`Skipped 1 newer backup(s) not signed by a trusted key: ${planted}`);
    expect(v.stderr).toContain(`OK: backup ${good} verified`);

    // Without trusted keys nothing changes: latest is the newest backup.
    const untrusting = join(work, 'target-unsigned-untrusting');
    const u = await runCli(['restore', '--from', repoP, '--identity-file', idFile, '--files-target', untrusting]);
    expect(u.code, u.stderr).toBe(0);
    expect(await readFile(join(untrusting, 'planted.txt'), 'utf8')).toBe('attacker was here\n');

    const live = join(work, 'live-unsigned');
    await mkdir(live);
    await writeFile(join(live, 'current.txt'), 'production now\n');
    const before = (await readdir(repoP)).sort();
    const rb = await runCli(['rollback', '--from', repoP, '--backup', planted, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', live, '--confirm', 'live-unsigned']);
    expect(rb.code, rb.stderr).toBe(3);
    expect(rb.stderr).toContain(`backup ${planted} at ${repoP} is not signed`);
    expect(await readdir(live)).toEqual(['current.txt']);
    expect((await readdir(repoP)).sort()).toEqual(before);
  });

  it('restore --trust skips a newer backup signed by another key; an explicit id of it is refused naming its fingerprint; nothing is written', async () => {
    const repoP = join(work, 'repo-planted-other');
    const good = await backupTo(repoP, ['--sign-key', signKey]);
    const planted = await plantBackup(repoP, ['--sign-key', otherKey]);
    const attacker = await fingerprintOf(`${otherKey}.pub`);
    const target = join(work, 'target-other');
    const r = await runCli(['restore', '--from', repoP, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Skipped 1 newer backup(s) not signed by a trusted key: ${planted} (is signed by ${attacker}, which is not a trusted key)`);
    expect(r.stderr).toContain(`Restoring ${good}`);
    expect(await exists(join(target, 'planted.txt'))).toBe(false);

    const refused = join(work, 'target-other-explicit');
    const x = await runCli(['restore', '--from', repoP, '--backup', planted, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', refused]);
    expect(x.code, x.stderr).toBe(3);
    expect(x.stderr).toContain(`backup ${planted} at ${repoP} is signed by ${attacker}, which is not a trusted key`);
    expect(await exists(refused)).toBe(false);

    // Rollback into a live directory: refused before the safety backup, contents unchanged.
    const live = join(work, 'live-other');
    await mkdir(live);
    await writeFile(join(live, 'current.txt'), 'production now\n');
    const before = await readdir(repoP);
    const rb = await runCli(['rollback', '--from', repoP, '--backup', planted, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', live, '--confirm', 'live-other']);
    expect(rb.code, rb.stderr).toBe(3);
    expect(rb.stderr).toContain(`signed by ${attacker}, which is not a trusted key`);
    // verify names the untrusted signer (not "unsigned"), after the header naming the backup.
    const v = await runCli(['verify', '--from', repoP, '--backup', planted, '--trust', `${signKey}.pub`, '--json']);
    expect(v.code, v.stderr).toBe(3);
    expect(JSON.parse(v.stdout).signature).toMatchObject({ signed: true, signer: attacker, trusted: false });
    const header = v.stderr.indexOf(`Verifying ${planted} at ${repoP}; signed by ${attacker}, which is not a trusted key`);
    expect(header, v.stderr).toBeGreaterThanOrEqual(0);
    expect(v.stderr.indexOf(`is signed by ${attacker}, which is not a trusted key (trusted:`)).toBeGreaterThan(header);
    expect(await readdir(live)).toEqual(['current.txt']);
    expect(await readFile(join(live, 'current.txt'), 'utf8')).toBe('production now\n');
    expect((await readdir(repoP)).sort()).toEqual(before.sort());
  });

  it('rollback --trust label:X: a planted backup with the same label neither makes it ambiguous nor is chosen', async () => {
    const repoL = join(work, 'repo-planted-label');
    const good = await backupTo(repoL, ['--sign-key', signKey, '--label', 'pre-release']);
    const planted = await plantBackup(repoL, ['--label', 'pre-release']);
    const live = join(work, 'live-label');
    await mkdir(live);
    await writeFile(join(live, 'current.txt'), 'production now\n');
    const rb = await runCli(['rollback', '--from', repoL, '--backup', 'label:pre-release', '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', live, '--confirm', 'live-label', '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toContain(`Skipped 1 newer backup(s) not signed by a trusted key: ${planted}`);
    expect(JSON.parse(rb.stdout).backupId).toBe(good);
    expect(await readFile(join(live, 'real.txt'), 'utf8')).toBe('the real data\n');
    expect(await exists(join(live, 'planted.txt'))).toBe(false);
    // Without --trust the label matches both: refused as ambiguous, as before.
    const amb = await runCli(['rollback', '--from', repoL, '--backup', 'label:pre-release', '--identity-file', idFile, '--files-target', live, '--confirm', 'live-label']);
    expect(amb.code).toBe(2);
  });

  it('when only untrusted backups match, restore and verify --trust exit 3 naming them and why; the target is not created', async () => {
    const repoU = join(work, 'repo-only-untrusted');
    const planted = await plantBackup(repoU, ['--sign-key', otherKey]);
    const target = join(work, 'target-only-untrusted');
    const r = await runCli(['restore', '--from', repoU, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', target]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`backup ${planted} at ${repoU} is signed by SHA256:\\S+, which is not a trusted key .*; no backup signed by a trusted key matches latest; nothing was written`));
    expect(await exists(target)).toBe(false);
    const v = await runCli(['verify', '--from', repoU, '--trust', `${signKey}.pub`]);
    expect(v.code).toBe(3);
    expect(v.stderr).toContain(`backup ${planted} at ${repoU} is signed by`);
  });

  it('list --json names a signer only when the signature verifies over the manifest (valid | invalid | unsigned)', async () => {
    const repoJ = join(work, 'repo-list-json');
    const signed = await backupTo(repoJ, ['--sign-key', signKey]);
    const edited = await backupTo(repoJ, ['--sign-key', signKey]);
    const unsigned = await backupTo(repoJ);
    const manifestPath = join(repoJ, edited, 'manifest.json');
    await writeFile(manifestPath, (await readFile(manifestPath, 'utf8')).replace('"labels": []', '"labels": ["pre-release"]'));
    const fp = await fingerprintOf(`${signKey}.pub`);
    const l = await runCli(['list', '--from', repoJ, '--json']);
    expect(l.code, l.stderr).toBe(0);
    const rows = Object.fromEntries((JSON.parse(l.stdout) as { id: string; signature: string; signedBy: string | null }[]).map((e) => [e.id, [e.signature, e.signedBy]]));
    expect(rows).toEqual({ [signed]: ['valid', fp], [edited]: ['invalid', null], [unsigned]: ['unsigned', null] });
    const text = await runCli(['list', '--from', repoJ]);
    expect(text.stdout).toMatch(new RegExp(`${edited} .*carries an invalid signature`));
    expect(text.stdout).toMatch(new RegExp(`${signed} .*signed by ${fp.replace(/[+/]/g, '\\$&')}, not checked`));
  });

  it('a signed manifest edited afterwards is refused (the signature covers the exact bytes)', async () => {
    const repoE = join(work, 'repo-edited');
    const id = await backupTo(repoE, ['--sign-key', signKey]);
    const manifestPath = join(repoE, id, 'manifest.json');
    const text = await readFile(manifestPath, 'utf8');
    await writeFile(manifestPath, text.replace('"labels": []', '"labels": ["pre-release"]'));
    const target = join(work, 'target-edited');
    const r = await runCli(['restore', '--from', repoE, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', target]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`backup ${id} .* has a signature by SHA256:\\S+ that does not match its manifest`));
    expect(await exists(target)).toBe(false);
  });

  it('a properly signed backup restores with --trust', async () => {
    const target = join(work, 'target-signed');
    const r = await runCli(['restore', '--from', repo, '--backup', signedId, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(target, 'real.txt'), 'utf8')).toBe('the real data\n');
  });

  it('--trust takes the allowed_signers file the README recipe writes, also with namespaces="strongbox" (TRIAL 8)', async () => {
    const pub = (await readFile(`${signKey}.pub`, 'utf8')).trim();
    const plain = join(work, 'allowed_signers-trust');
    await writeFile(plain, `# who may sign backups\nbackups@example.com ${pub}\n`);
    const withNs = join(work, 'allowed_signers-ns');
    await writeFile(withNs, `backups@example.com,ops@example.com namespaces="strongbox" ${pub}\n`);
    for (const file of [plain, withNs]) {
      // The same file ssh-keygen -Y verify reads.
      const ok = await sshVerify(file, join(repo, signedId, 'manifest.json.sig'), await readFile(join(repo, signedId, 'manifest.json')));
      expect(ok.code, ok.out).toBe(0);
      const v = await runCli(['verify', '--from', repo, '--backup', signedId, '--trust', file]);
      expect(v.code, v.stderr).toBe(0);
      const target = join(work, `target-${file.split('-').pop()}`);
      const r = await runCli(['restore', '--from', repo, '--backup', signedId, '--identity-file', idFile, '--trust', file, '--files-target', target]);
      expect(r.code, r.stderr).toBe(0);
      expect(await readFile(join(target, 'real.txt'), 'utf8')).toBe('the real data\n');
    }
    // An allowed_signers line naming another key trusts that key only.
    const other = join(work, 'allowed_signers-other');
    await writeFile(other, `backups@example.com ${(await readFile(`${otherKey}.pub`, 'utf8')).trim()}\n`);
    const refused = await runCli(['verify', '--from', repo, '--backup', signedId, '--trust', other]);
    expect(refused.code, refused.stderr).toBe(3);
    // A line that does not allow the strongbox namespace (ssh-keygen would refuse it too) is no trusted key.
    const git = join(work, 'allowed_signers-git');
    await writeFile(git, `backups@example.com namespaces="git" ${pub}\n`);
    const ns = await runCli(['verify', '--from', repo, '--backup', signedId, '--trust', git]);
    expect(ns.code, ns.stderr).toBe(2);
    expect(ns.stderr).toContain('does not allow the "strongbox" namespace');
  });

  it('rollback --trust without --sign-key warns that the safety backup is unsigned; with --sign-key it is signed', async () => {
    const live = join(work, 'live-ok');
    await mkdir(live);
    await writeFile(join(live, 'current.txt'), 'production now\n');
    const a = await runCli(['rollback', '--from', repo, '--backup', signedId, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--files-target', live, '--confirm', 'live-ok', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/warning: the safety backup will be unsigned/);
    const first = JSON.parse(a.stdout);
    expect(await exists(join(repo, first.safetyBackupId, 'manifest.json.sig'))).toBe(false);
    expect(await readFile(join(live, 'real.txt'), 'utf8')).toBe('the real data\n');

    const b = await runCli(['rollback', '--from', repo, '--backup', signedId, '--identity-file', idFile, '--trust', `${signKey}.pub`, '--sign-key', signKey, '--files-target', live, '--confirm', 'live-ok', '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).not.toMatch(/will be unsigned/);
    const second = JSON.parse(b.stdout);
    expect(await exists(join(repo, second.safetyBackupId, 'manifest.json.sig'))).toBe(true);
    const keyLines = (await readFile(signKey, 'utf8')).split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const l of keyLines) expect(a.stderr + a.stdout + b.stderr + b.stdout).not.toContain(l);
  });
});

describe('#37 verify tells the truth about keys', () => {
  let repo: string;
  let wrongId: string;

  beforeAll(async () => {
    repo = join(work, 'repo-keys');
    await backupTo(repo);
    wrongId = join(work, 'wrong-key.txt');
    await writeFile(wrongId, `${generateIdentity().identity}\n`, { mode: 0o600 });
  });

  it('--identity-file without --deep decrypts (one info line says so) and succeeds with the right key', async () => {
    const r = await runCli(['verify', '--from', repo, '--identity-file', idFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/A key was given, so this is a deep verification/);
    expect(r.stderr).toMatch(/OK: backup \S+ verified \(deep\)/);
  });

  it('a wrong key exits 5 naming the object, with or without --deep', async () => {
    for (const deep of [[], ['--deep']]) {
      const r = await runCli(['verify', '--from', repo, '--identity-file', wrongId, ...deep]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(new RegExp(`${repo}/\\S+/files-app-data\\.tar\\.zst\\.age`));
      expect(untimed(r.stderr)).not.toMatch(/^OK/m);
    }
  });

  it('a wrong passphrase exits 5', async () => {
    const repoP = join(work, 'repo-pass');
    const b = await runCli(['backup', '--to', repoP, '--init', '--files', tree, '--passphrase-env', 'SB_PASS'], { env: { SB_PASS: PASS } });
    expect(b.code, b.stderr).toBe(0);
    const r = await runCli(['verify', '--from', repoP, '--passphrase-env', 'SB_PASS'], { env: { SB_PASS: 'not the passphrase at all!' } });
    expect(r.code, r.stderr).toBe(5);
    const ok = await runCli(['verify', '--from', repoP, '--passphrase-env', 'SB_PASS'], { env: { SB_PASS: PASS } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('(deep)');
  });
});

describe('clear errors (issue 11 item 11)', () => {
  it('a lone backup whose manifest is corrupt: verify exits 3 (a damaged backup), not 4', async () => {
    const repo = join(work, 'repo-corrupt');
    const id = await backupTo(repo);
    await writeFile(join(repo, id, 'manifest.json'), '{"format": "1.0", "id": ');
    const r = await runCli(['verify', '--from', repo]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`backup ${id} at ${repo} is damaged`);
    const byId = await runCli(['verify', '--from', repo, '--backup', id]);
    expect(byId.code, byId.stderr).toBe(3);
  });

  it('verify prints each problem once', async () => {
    const repo = join(work, 'repo-flipped');
    const id = await backupTo(repo);
    const m = JSON.parse(await readFile(join(repo, id, 'manifest.json'), 'utf8'));
    const obj = join(repo, id, m.artifacts[0].key);
    const bytes = await readFile(obj);
    bytes[bytes.length - 10]! ^= 0xff;
    await writeFile(obj, bytes);
    const r = await runCli(['verify', '--from', repo]);
    expect(r.code).toBe(3);
    const hits = r.stderr.split('\n').filter((l) => l.includes('does not match its manifest'));
    expect(hits, r.stderr).toHaveLength(1);
    expect(hits[0]).toContain(obj.slice(work.length));
  });

  it('keygen over an existing identity file says so (exit 7), not EEXIST', async () => {
    const file = join(work, 'existing-age.txt');
    await writeFile(file, 'keep me\n');
    const r = await runCli(['keygen', '--output', file]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`${file} already exists`);
    expect(r.stderr).not.toMatch(/EEXIST|unexpected failure/);
    expect(await readFile(file, 'utf8')).toBe('keep me\n');
  });

  it('an identity file or signing key readable by others gets a warning naming it and chmod 600', async () => {
    const repo = join(work, 'repo-modes');
    const shared = join(work, 'shared-key.txt');
    await writeFile(shared, await readFile(idFile));
    await chmod(shared, 0o644);
    const sharedSign = join(work, 'shared-signing');
    await writeFile(sharedSign, await readFile(signKey));
    await chmod(sharedSign, 0o640);
    const b = await runCli(['backup', '--to', repo, '--init', '--files', tree, '--recipient', recipient, '--sign-key', sharedSign]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain(`warning: signing key file ${sharedSign} is readable by its group (mode 0640); run chmod 600 ${sharedSign}`);
    const v = await runCli(['verify', '--from', repo, '--identity-file', shared]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain(`warning: identity file ${shared} is readable by others (mode 0644); run chmod 600 ${shared}`);
    const quiet = await runCli(['verify', '--from', repo, '--identity-file', idFile]);
    expect(quiet.stderr).not.toContain('chmod');
  });
});

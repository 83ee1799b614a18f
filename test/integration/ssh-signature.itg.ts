/**
 * Interop with OpenSSH's own ssh-keygen: the README tells users to check a backup's signature
 * with `ssh-keygen -Y verify`, so our keys and signatures must be exactly OpenSSH's formats.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fingerprint,
  formatPrivateKey,
  formatPublicKey,
  generateSigningKey,
  parsePrivateKey,
  parsePublicKey,
  parseSignature,
  signMessage,
  verifySignature,
} from '../../src/codecs/ssh-signature/index.js';

const run = promisify(execFile);
let dir: string;

function withStdin(cmd: string, args: string[], input: Buffer): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    child.stdin.end(input);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-sshsig-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SSH signatures with the real ssh-keygen', () => {
  it('ssh-keygen reads our private key and prints our public key line', async () => {
    const k = generateSigningKey('strongbox-signing');
    const file = join(dir, 'ours');
    await writeFile(file, formatPrivateKey(k), { mode: 0o600 });
    const { stdout } = await run('ssh-keygen', ['-y', '-f', file]);
    expect(stdout.trim()).toBe(formatPublicKey(k.publicKey));
    await writeFile(`${file}.pub`, formatPublicKey(k.publicKey) + '\n');
    const l = await run('ssh-keygen', ['-l', '-f', `${file}.pub`]);
    expect(l.stdout).toContain(fingerprint(k.publicKey.raw));
  });

  it('ssh-keygen -Y verify accepts our signature of a manifest, and rejects it for changed bytes', async () => {
    const k = generateSigningKey('strongbox-signing');
    const manifest = Buffer.from('{\n  "format": "1.0",\n  "id": "20261201T000000Z-abcd"\n}\n');
    const sigFile = join(dir, 'manifest.json.sig');
    await writeFile(sigFile, signMessage(k, 'strongbox', manifest));
    const allowed = join(dir, 'allowed_signers');
    await writeFile(allowed, `backup@example ${formatPublicKey(k.publicKey)}\n`);
    const ok = await withStdin('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'backup@example', '-n', 'strongbox', '-s', sigFile], manifest);
    expect(ok.out).toMatch(/Good "strongbox" signature for backup@example/);
    expect(ok.code).toBe(0);
    const bad = await withStdin('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'backup@example', '-n', 'strongbox', '-s', sigFile], Buffer.concat([manifest, Buffer.from(' ')]));
    expect(bad.code).not.toBe(0);
  });

  it('a key made by ssh-keygen signs with ssh-keygen -Y sign, and our code verifies it', async () => {
    const file = join(dir, 'theirs');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops', '-f', file]);
    const key = parsePrivateKey(await readFile(file, 'utf8'));
    expect(formatPublicKey(key.publicKey)).toBe((await readFile(`${file}.pub`, 'utf8')).trim());
    const msgFile = join(dir, 'message');
    const message = Buffer.from('the exact manifest bytes\n');
    await writeFile(msgFile, message);
    await run('ssh-keygen', ['-Y', 'sign', '-f', file, '-n', 'strongbox', msgFile]);
    const sig = parseSignature(await readFile(`${msgFile}.sig`, 'utf8'));
    expect(verifySignature(sig, 'strongbox', message)).toBe(true);
    expect(fingerprint(sig.publicKey)).toBe(fingerprint(parsePublicKey(await readFile(`${file}.pub`, 'utf8')).raw));
    expect(verifySignature(sig, 'strongbox', Buffer.from('other bytes\n'))).toBe(false);
  });

  it('our private key signs with ssh-keygen -Y sign too', async () => {
    const k = generateSigningKey('strongbox-signing');
    const file = join(dir, 'ours2');
    await writeFile(file, formatPrivateKey(k), { mode: 0o600 });
    const msgFile = join(dir, 'message2');
    await writeFile(msgFile, 'abc\n');
    await run('ssh-keygen', ['-Y', 'sign', '-f', file, '-n', 'strongbox', msgFile]);
    expect(verifySignature(parseSignature(await readFile(`${msgFile}.sig`, 'utf8')), 'strongbox', Buffer.from('abc\n'))).toBe(true);
  });
});

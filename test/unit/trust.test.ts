import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { generateSigningKey, signMessage } from '../../src/codecs/ssh-signature/index.js';
import { backup } from '../../src/core/backup.js';
import { ExitCode } from '../../src/shared/errors.js';
import { parseManifest } from '../../src/core/manifest.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { listBackups } from '../../src/core/repository.js';
import { restore } from '../../src/core/restore.js';
import { verify } from '../../src/core/verify.js';
import { FaultDestination } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tree = mkdtempSync(join(tmpdir(), 'sb-trust-unit-'));
writeFileSync(join(tree, 'a.txt'), 'hello\n');
const id = generateIdentity();
const signer = generateSigningKey('ours');
const other = generateSigningKey('theirs');

async function signedBackup(dest: MemoryDestination | FaultDestination, key = signer) {
  return backup({
    destinations: [dest],
    sources: [{ kind: 'files', location: tree }],
    encryption: { recipients: [id.recipient] },
    compression: { algorithm: 'zstd' },
    labels: [],
    origin: { host: 't' },
    reporter: silentReporter,
    init: true,
    signingKey: key,
  });
}

describe('manifest values this version does not know', () => {
  const base = {
    format: '1.0',
    id: 'x',
    labels: [],
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:00:01Z',
    encryption: { scheme: 'age', recipients: [] },
    artifacts: [
      {
        name: 'a',
        kind: 'files',
        key: 'a.tar.zst.age',
        plaintext: { size: 1, sha256: '0'.repeat(64) },
        stored: { size: 1, sha256: '0'.repeat(64) },
        compression: { algorithm: 'zstd' },
        encryption: { scheme: 'age' },
      },
    ],
  };
  const bytes = (edit: (m: typeof base & Record<string, any>) => void) => {
    const m = structuredClone(base) as any;
    edit(m);
    return Buffer.from(JSON.stringify(m));
  };

  it.each([
    ['compression', (m: any) => (m.artifacts[0].compression.algorithm = 'lz4'), /artifacts\[0\]\.compression\.algorithm "lz4" is not one of zstd, gzip, none/],
    ['artifact encryption', (m: any) => (m.artifacts[0].encryption.scheme = 'rot13'), /artifacts\[0\]\.encryption\.scheme "rot13" is not one of age, none/],
    ['backup encryption', (m: any) => (m.encryption.scheme = 'aes'), /encryption\.scheme "aes" is not one of age, none/],
    ['artifact kind', (m: any) => (m.artifacts[0].kind = 'redis'), /artifacts\[0\]\.kind "redis" is not one of postgres, mysql, sqlite, files/],
    ['missing algorithm', (m: any) => delete m.artifacts[0].compression.algorithm, /compression\.algorithm is missing/],
  ])('refuses an unknown %s by name', (_what, edit, message) => {
    expect(() => parseManifest(bytes(edit), 'memory://m')).toThrow(message);
    expect(() => parseManifest(bytes(() => {}), 'memory://m')).not.toThrow();
  });
});

describe('signed backups (core)', () => {
  it('stores the signature before the manifest, and a failed signature write leaves no manifest', async () => {
    const order: string[] = [];
    const mem = new MemoryDestination();
    const put = mem.putBytes.bind(mem);
    mem.putBytes = async (k, d) => {
      order.push(k);
      return put(k, d);
    };
    const r = await signedBackup(mem);
    const tail = order.filter((k) => k.startsWith(`${r.id}/manifest`));
    expect(tail).toEqual([`${r.id}/manifest.json.sig`, `${r.id}/manifest.json`]);

    const faulty = new FaultDestination(new MemoryDestination(), { failPut: (k) => k.endsWith('manifest.json.sig') });
    await expect(signedBackup(faulty)).rejects.toThrow(/writing the signature of .* failed/);
    expect((await listBackups(faulty, silentReporter)).filter((e) => e.complete)).toHaveLength(0);
  });

  it('verify with trusted keys: a trusted signature passes; another signer, a bad signature or none fails (exit 3)', async () => {
    const dest = new MemoryDestination();
    const r = await signedBackup(dest);
    const ok = await verify({ destination: dest, selector: r.id, deep: false, trusted: [signer.publicKey], reporter: silentReporter });
    expect(ok.ok).toBe(true);
    expect(ok.signature.signer).toMatch(/^SHA256:/);

    const notTrusted = await verify({ destination: dest, selector: r.id, deep: false, trusted: [other.publicKey], reporter: silentReporter });
    expect(notTrusted.exitCode).toBe(ExitCode.verifyFailed);
    expect(notTrusted.problems[0]!.problem).toMatch(/is signed by SHA256:\S+, which is not a trusted key/);

    // A signature by the trusted key, but in another namespace (e.g. a git commit signature).
    const manifest = (await dest.getBytes(`${r.id}/manifest.json`))!;
    await dest.putBytes(`${r.id}/manifest.json.sig`, Buffer.from(signMessage(signer, 'git', manifest)));
    const wrongNs = await verify({ destination: dest, selector: r.id, deep: false, trusted: [signer.publicKey], reporter: silentReporter });
    expect(wrongNs.problems[0]!.problem).toMatch(/does not match its manifest \(namespace git\)/);

    await dest.putBytes(`${r.id}/manifest.json.sig`, Buffer.from('-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n'));
    const garbage = await verify({ destination: dest, selector: r.id, deep: false, trusted: [signer.publicKey], reporter: silentReporter });
    expect(garbage.problems[0]!.problem).toMatch(/unreadable signature/);

    await dest.delete(`${r.id}/manifest.json.sig`);
    const unsigned = await verify({ destination: dest, selector: r.id, deep: false, trusted: [signer.publicKey], reporter: silentReporter });
    expect(unsigned.problems[0]!.problem).toMatch(/is not signed/);
    // Without trusted keys an unsigned backup is fine, as before.
    expect((await verify({ destination: dest, selector: r.id, deep: false, reporter: silentReporter })).ok).toBe(true);
  });

  it('restore with trusted keys refuses a backup signed by another key before creating the target', async () => {
    const dest = new MemoryDestination();
    await signedBackup(dest, other);
    const target = join(mkdtempSync(join(tmpdir(), 'sb-trust-target-')), 'out');
    await expect(
      restore({ destination: dest, selection: { selector: 'latest' }, decrypt: { identities: [id.identity] }, trusted: [signer.publicKey], targets: { files: target }, force: false, reporter: silentReporter }),
    ).rejects.toMatchObject({ exitCode: ExitCode.verifyFailed });
    expect(existsSync(target)).toBe(false);
  });
});

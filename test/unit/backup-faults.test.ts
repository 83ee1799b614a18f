import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { backup, type BackupOptions } from '../../src/core/backup.js';
import { IntegrityError } from '../../src/shared/errors.js';
import { serializeManifest } from '../../src/core/manifest.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { listBackups } from '../../src/core/repository.js';
import { restore } from '../../src/core/restore.js';
import { verify } from '../../src/core/verify.js';
import { FaultDestination } from '../helpers/fault-destination.js';
import type { Destination } from '../../src/destinations/types.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { LocalDestination } from '../../src/destinations/local.js';

/**
 * Fault-matrix rows for the backup/verify/restore core, with a real file tree and age keys and
 * faults injected around an in-memory destination (as restic tests its backends).
 */
let work: string;
let tree: string;
const key = generateIdentity();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-faults-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
  writeFileSync(join(tree, 'sub', 'noise.bin'), randomBytes(2 << 20));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function options(dest: Destination, extra: Partial<BackupOptions> = {}): BackupOptions {
  return {
    destinations: [dest],
    sources: [{ kind: 'files', location: tree }],
    encryption: { recipients: [key.recipient] },
    compression: { algorithm: 'gzip' },
    labels: [],
    origin: { host: 'test' },
    reporter: silentReporter,
    lock: { waitMs: 0 },
    init: true,
    ...extra,
  };
}

const complete = async (d: Destination) => (await listBackups(d, silentReporter)).filter((e) => e.complete);
const artifactKeys = (m: MemoryDestination) => [...m.objects.keys()].filter((k) => /^\d{8}T/.test(k));

describe('backup faults', () => {
  it('#3 a failed manifest write fails the run and the backup is not counted', async () => {
    const mem = new MemoryDestination();
    const dest = new FaultDestination(mem, { failPut: (k) => k.endsWith('/manifest.json') });
    await expect(backup(options(dest))).rejects.toThrow(/writing the manifest of .* failed/);
    expect(await complete(mem)).toEqual([]);
  });

  it('#5 a store that silently corrupts what it keeps fails the backup before the manifest', async () => {
    const mem = new MemoryDestination();
    const dest = new FaultDestination(mem, { corrupt: { match: (k) => k.endsWith('.age'), offset: 5000 } });
    await expect(backup(options(dest))).rejects.toThrow(/reads back with SHA-256 .* not the uploaded/);
    expect(await complete(mem)).toEqual([]);
    // The failed run removes its own partial objects.
    expect(artifactKeys(mem)).toEqual([]);
  });

  it('#5 the same on a local folder, whose put reads the file back itself (no second read after the upload)', async () => {
    mkdirSync(join(work, 'repo-5'));
    const local = new LocalDestination(join(work, 'repo-5'));
    const dest = new FaultDestination(local, { corrupt: { match: (k) => k.endsWith('.age'), offset: 5000 } });
    let gets = 0;
    const get = local.get.bind(local);
    local.get = (k, o) => (gets++, get(k, o));
    await expect(backup(options(dest))).rejects.toThrow(/reads back with SHA-256 .* not the uploaded/);
    expect(await complete(local)).toEqual([]);
    expect(readdirSync(join(work, 'repo-5')).filter((n) => /^\d{8}T/.test(n))).toEqual([]);
    expect(gets).toBe(0);
  });

  it('#4 an upload that fails part-way fails the backup, naming the object, and leaves no backup', async () => {
    const mem = new MemoryDestination();
    const dest = new FaultDestination(mem, { failPutAfter: { match: (k) => k.endsWith('.age'), bytes: 100_000 } });
    await expect(backup(options(dest, { confirm: 'size' }))).rejects.toThrow(/upload of \d{8}T\d{6}Z-[0-9a-f]{6}\/files-tree\.tar\.gz\.age to memory:\/\/test failed: connection lost/);
    expect(artifactKeys(mem)).toEqual([]);
    expect(await complete(mem)).toEqual([]);
  });

  it('an earlier good backup is untouched by a later failed one', async () => {
    const mem = new MemoryDestination();
    const good = await backup(options(mem));
    const before = new Map([...mem.objects].map(([k, v]) => [k, v.data.toString('hex')]));
    const dest = new FaultDestination(mem, { failPut: (k) => k.endsWith('/manifest.json') });
    await expect(backup(options(dest))).rejects.toThrow();
    expect((await complete(mem)).map((e) => e.id)).toEqual([good.id]);
    for (const [k, v] of before) if (!k.startsWith('locks/')) expect(mem.objects.get(k)?.data.toString('hex')).toBe(v);
  });
});

describe('verify and restore faults', () => {
  it('#25 a connection reset mid-download fails the restore cleanly: target absent, no staging left', async () => {
    const mem = new MemoryDestination();
    await backup(options(mem));
    const dest = new FaultDestination(mem, { resetGet: { match: (k) => k.endsWith('.age'), bytes: 300_000 } });
    const target = join(work, 'reset-target');
    await expect(
      restore({ destination: dest, selection: { selector: 'latest' }, decrypt: { identities: [key.identity] }, targets: { files: target }, force: false, reporter: silentReporter }),
    ).rejects.toThrow(/ECONNRESET|reset/i);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dirname(target)).filter((n) => n.startsWith('reset-target'))).toEqual([]);
  });

  it('#6 a flipped stored byte: verify names the object and restore refuses before writing', async () => {
    const mem = new MemoryDestination();
    const b = await backup(options(mem));
    const objKey = `${b.id}/${b.manifest.artifacts[0]!.key}`;
    mem.objects.get(objKey)!.data[1234]! ^= 0x01;
    const v = await verify({ destination: mem, selector: 'latest', deep: false, reporter: silentReporter });
    expect(v.ok).toBe(false);
    expect(v.problems[0]!.object).toContain(objKey);
    const target = join(work, 'flipped-target');
    await expect(
      restore({ destination: mem, selection: { selector: 'latest' }, decrypt: { identities: [key.identity] }, targets: { files: target }, force: false, reporter: silentReporter }),
    ).rejects.toThrow(IntegrityError);
    expect(existsSync(target)).toBe(false);
  });

  it('#7 truncated ciphertext with a matching manifest (an attacker who rewrote both) still fails authentication', async () => {
    const mem = new MemoryDestination();
    const b = await backup(options(mem));
    const a = b.manifest.artifacts[0]!;
    const objKey = `${b.id}/${a.key}`;
    // Cut at a chunk boundary (64 KiB + 16 tag) and re-record the stored size and hash, so only age can tell.
    const data = mem.objects.get(objKey)!.data;
    const cut = data.subarray(0, data.length - (data.length % 65_552) - 65_552 * 2);
    mem.objects.get(objKey)!.data = Buffer.from(cut);
    const { createHash } = await import('node:crypto');
    a.stored = { size: cut.length, sha256: createHash('sha256').update(cut).digest('hex') };
    await mem.putBytes(`${b.id}/manifest.json`, serializeManifest(b.manifest));
    const v = await verify({ destination: mem, selector: 'latest', deep: true, decrypt: { identities: [key.identity] }, reporter: silentReporter });
    expect(v.ok).toBe(false);
    expect(v.problems[0]!.problem).toMatch(/truncat|authenticat|final chunk|last chunk/i);
    const target = join(work, 'truncated-target');
    await expect(
      restore({ destination: mem, selection: { selector: 'latest' }, decrypt: { identities: [key.identity] }, targets: { files: target }, force: false, reporter: silentReporter }),
    ).rejects.toThrow();
    expect(existsSync(target)).toBe(false);
  });

  it('#27 a manifest of an unknown major format is refused with a clear message, nothing else read', async () => {
    const mem = new MemoryDestination();
    const b = await backup(options(mem));
    await mem.putBytes(`${b.id}/manifest.json`, serializeManifest({ ...b.manifest, format: '2.0' }));
    const dest = new FaultDestination(mem, { resetGet: { match: (k) => k.endsWith('.age'), bytes: 0 } });
    await expect(
      restore({ destination: dest, selection: { selector: b.id }, decrypt: { identities: [key.identity] }, targets: { files: join(work, 'v2') }, force: false, reporter: silentReporter }),
    ).rejects.toThrow(/format 2\.0, which this Strongbox \(format 1\.0\) cannot read/);
  });
});

describe('#26 #30 repositories are created explicitly', () => {
  const exitOf = (p: Promise<unknown>) => p.then(() => 0, (e: unknown) => e as { exitCode?: number; message: string; hint?: string });

  it('backup into a folder under an empty (unmounted) share fails with exit 4 and a hint to mount it (not --init), creating nothing', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const share = join(work, 'nas-share');
    mkdirSync(share);
    const repo = join(share, 'app');
    const err = await exitOf(backup(options(new LocalDestination(repo), { init: false })));
    expect(err).toMatchObject({ exitCode: 4 });
    expect((err as Error).message).toContain(`no Strongbox repository at ${repo}`);
    expect((err as { hint: string }).hint).toMatch(/^mount the volume .*`strongbox init`/);
    expect((err as { hint: string }).hint).not.toContain('--init');
    expect(readdirSync(share)).toEqual([]);
    // and a reader finds no repository either, instead of reporting OK
    const v = await exitOf(verify({ destination: new LocalDestination(repo), selector: 'latest', deep: false, reporter: silentReporter }));
    expect(v).toMatchObject({ exitCode: 4 });
    expect(readdirSync(share)).toEqual([]);
  });

  it('--init creates only the last folder of the path: a missing parent is refused (exit 4) naming it, nothing created', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const share = join(work, 'init-unmounted');
    mkdirSync(share);
    const deep = join(share, 'app', 'deep');
    const err = await exitOf(backup(options(new LocalDestination(deep))));
    expect(err).toMatchObject({ exitCode: 4 });
    expect((err as Error).message).toBe(`will not create a Strongbox repository at ${deep}: the folder ${join(share, 'app')} does not exist`);
    expect((err as { hint: string }).hint).toMatch(/create .*app.* first, or check that the volume that should be there is mounted/);
    expect(readdirSync(share)).toEqual([]);
    // init refuses it just the same
    const { initRepositories } = await import('../../src/core/repository.js');
    expect(await exitOf(initRepositories([new LocalDestination(deep)], new Date()))).toMatchObject({ exitCode: 4 });
    expect(readdirSync(share)).toEqual([]);
  });

  it('--init creates the folder under an existing parent, or starts in an empty folder (a fresh mount point)', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    mkdirSync(join(work, 'init-new', 'a'), { recursive: true });
    writeFileSync(join(work, 'init-new', 'a', 'other.txt'), 'x');
    const deep = join(work, 'init-new', 'a', 'b');
    const made = await backup(options(new LocalDestination(deep)));
    expect(readdirSync(deep).sort()).toEqual([made.id, 'strongbox.json']);
    const mountpoint = join(work, 'mnt-backups');
    mkdirSync(join(mountpoint, 'lost+found'), { recursive: true });
    const ok = await backup(options(new LocalDestination(mountpoint)));
    expect(readdirSync(mountpoint).sort()).toEqual([ok.id, 'lost+found', 'strongbox.json']);
    // a second run with --init just uses the repository
    const again = await backup(options(new LocalDestination(mountpoint)));
    expect((await complete(new LocalDestination(mountpoint))).map((e) => e.id)).toEqual([ok.id, again.id]);
  });

  it('--init under an empty parent that is no mount point warns that a volume may be missing, and proceeds', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const share = join(work, 'empty-share');
    mkdirSync(share);
    const repo = join(share, 'app');
    const warnings: string[] = [];
    const made = await backup(options(new LocalDestination(repo), { reporter: { ...silentReporter, warning: (m: string) => warnings.push(m) } }));
    expect(warnings).toContain(`${share} is an empty folder and no mount point: if a volume should be mounted there, it is not, and the repository ${repo} is created on the disk below it`);
    expect(readdirSync(repo).sort()).toEqual([made.id, 'strongbox.json']);
  });

  it('without --init, a missing repository under an empty or missing parent (an unmounted NAS) says so and offers no --init', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const share = join(work, 'unmounted-share');
    mkdirSync(share);
    for (const [repo, why] of [
      [join(share, 'app'), `${share} is an empty folder and no mount point`],
      [join(work, 'no-such-share', 'x', 'app'), `the folder ${join(work, 'no-such-share')} does not exist`],
    ] as const) {
      const err = (await backup(options(new LocalDestination(repo), { init: false })).then(() => undefined, (e: unknown) => e)) as { message: string; hint?: string; exitCode: number };
      expect(err).toMatchObject({ exitCode: 4 });
      expect(err.message).toContain(why);
      expect(err.hint).toMatch(/mount the volume/);
      expect(err.hint).not.toMatch(/--init/);
    }
    expect(readdirSync(share)).toEqual([]);
  });

  it('--init under a mount point that fstab declares but that is not mounted is refused (exit 7), nothing created', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const nas = join(work, 'declared-nas');
    mkdirSync(nas);
    const fstab = join(work, 'fstab');
    writeFileSync(fstab, `# test table\nUUID=abc / ext4 defaults 0 1\n//nas/backups ${nas.replace(/ /g, '\\040')} cifs noauto,credentials=/root/.smb 0 0\n`);
    for (const to of [join(nas, 'app'), nas]) {
      const err = await exitOf(backup(options(new LocalDestination(to, { fstab }))));
      expect(err).toMatchObject({ exitCode: 7 });
      expect((err as Error).message).toBe(`will not create a Strongbox repository at ${to}: ${nas} is a mount point in ${fstab} but nothing is mounted there`);
      expect((err as { hint: string }).hint).toContain(`mount ${nas}`);
      expect(readdirSync(nas)).toEqual([]);
    }
    // once something is mounted there (as mountinfo lists it), init proceeds
    const mountinfo = join(work, 'mountinfo');
    writeFileSync(mountinfo, `22 27 0:21 / / rw - ext4 /dev/sda1 rw\n99 22 0:77 / ${nas} rw - cifs //nas/backups rw\n`);
    const made = await backup(options(new LocalDestination(join(nas, 'app'), { fstab, mountinfo })));
    expect(readdirSync(join(nas, 'app')).sort()).toEqual([made.id, 'strongbox.json']);
  });

  it('--init refuses a folder that holds other data (exit 7), naming it, leaving it untouched; the other destination still gets the backup', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const busy = join(work, 'home-folder');
    mkdirSync(join(busy, 'photos'), { recursive: true });
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    const fresh = join(work, 'fresh-second');
    const only = await exitOf(backup(options(new LocalDestination(busy))));
    expect(only).toMatchObject({ exitCode: 7 });
    expect((only as Error).message).toMatch(new RegExp(`at ${busy}: it already holds other data \\(notes\\.txt, photos/\\)`));
    const r = await backup(options(new LocalDestination(fresh), { destinations: [new LocalDestination(fresh), new LocalDestination(busy)] }));
    expect(r.status).toBe('partial');
    expect(r.destinations).toMatchObject([
      { location: fresh, status: 'committed' },
      { location: busy, status: 'failed', exitCode: 7, error: expect.stringContaining('it already holds other data') },
    ]);
    expect(readdirSync(busy).sort()).toEqual(['notes.txt', 'photos']);
    expect(readdirSync(fresh).sort()).toEqual([r.id, 'strongbox.json']);
  });

  it('a tree that is the destination itself (also by a symlink) is refused (exit 2) before --init creates anything there', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const { symlinkSync } = await import('node:fs');
    const same = join(work, 'tree-is-repo');
    mkdirSync(same);
    symlinkSync(same, join(work, 'tree-is-repo-link'));
    for (const path of [same, join(work, 'tree-is-repo-link')]) {
      const err = await exitOf(backup(options(new LocalDestination(same), { sources: [{ kind: 'files', location: path }] })));
      expect(err).toMatchObject({ exitCode: 2, message: `${path} is the Strongbox repository ${same}` });
      expect(readdirSync(same)).toEqual([]); // no strongbox.json, no locks/
    }
  });

  it('init is idempotent: an existing repository is left exactly as it is', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const { initRepositories } = await import('../../src/core/repository.js');
    const repo = join(work, 'init-twice');
    const dest = new LocalDestination(repo);
    expect(await initRepositories([dest], new Date('2026-01-01T00:00:00Z'))).toEqual([true]);
    const marker = readFileSync(join(repo, 'strongbox.json'), 'utf8');
    expect(JSON.parse(marker)).toEqual({ format: '1.0', createdAt: '2026-01-01T00:00:00.000Z' });
    const b = await backup(options(dest, { init: false }));
    expect(await initRepositories([dest], new Date())).toEqual([false]);
    expect(readFileSync(join(repo, 'strongbox.json'), 'utf8')).toBe(marker);
    expect(readdirSync(repo).sort()).toEqual([b.id, 'strongbox.json']);
  });

  it('a run that attempts nothing creates nothing: every source is checked before the destination is touched (exit 2)', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const fresh = join(work, 'never-created');
    const existing = join(work, 'untouched-repo');
    await backup(options(new LocalDestination(existing)));
    const before = readdirSync(existing).sort();
    const aFile = join(work, 'plain-file');
    writeFileSync(aFile, 'x');
    const bad: BackupOptions['sources'][] = [
      [{ kind: 'files', location: join(work, 'nonexistent') }],
      [{ kind: 'files', location: aFile }],
      [{ kind: 'files', location: tree }, { kind: 'postgres', location: 'postgres://u@host:5432' }],
      [{ kind: 'postgres', location: 'not a url' }],
      // The same source twice: a doubled flag, never two copies under two names.
      [{ kind: 'files', location: tree }, { kind: 'files', location: tree }],
    ];
    for (const sources of bad) {
      for (const dir of [fresh, existing]) {
        const err = await exitOf(backup(options(new LocalDestination(dir), { sources })));
        expect(err).toMatchObject({ exitCode: 2 });
      }
    }
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(existing).sort()).toEqual(before);
  });

  it('readers refuse an empty folder where a repository was', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const empty = join(work, 'empty-mountpoint');
    mkdirSync(empty);
    await expect(verify({ destination: new LocalDestination(empty), selector: 'latest', deep: false, reporter: silentReporter })).rejects.toThrow(
      new RegExp(`no Strongbox repository at ${empty}.*`),
    );
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe('review findings', () => {
  it('restore --force refuses a files target that contains the repository (it would delete the backups)', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const app = join(work, 'app');
    mkdirSync(join(app, 'data'), { recursive: true });
    writeFileSync(join(app, 'data', 'x'), 'x');
    const dest = new LocalDestination(join(app, '.backups'));
    await backup({ ...options(dest), sources: [{ kind: 'files', location: join(app, 'data') }] });
    await expect(
      restore({ destination: dest, selection: { selector: 'latest' }, decrypt: { identities: [key.identity] }, targets: { files: app }, force: true, reporter: silentReporter }),
    ).rejects.toThrow(/contains the repository/);
    expect((await listBackups(dest, silentReporter)).filter((e) => e.complete)).toHaveLength(1);
  });

  it('a regular file where the files target should be is refused (exit 7), not an unexpected failure', async () => {
    const mem = new MemoryDestination();
    await backup(options(mem));
    const file = join(work, 'a-file');
    writeFileSync(file, 'keep me');
    const err = await restore({ destination: mem, selection: { selector: 'latest' }, decrypt: { identities: [key.identity] }, targets: { files: file }, force: false, reporter: silentReporter }).catch((e: unknown) => e);
    expect((err as { exitCode?: number }).exitCode).toBe(7);
  });

  it('verify of latest fails when the newest backup has an unreadable manifest', async () => {
    const mem = new MemoryDestination();
    await backup(options(mem));
    const newer = await backup(options(mem));
    await mem.putBytes(`${newer.id}/manifest.json`, Buffer.from('{bad'));
    const v = await verify({ destination: mem, selector: 'latest', deep: false, reporter: silentReporter });
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.problem).join()).toMatch(new RegExp(`newer backup ${newer.id} is unreadable`));
  });

  it('rollback with a key that does not open the snapshot fails with exit 5 before taking a safety backup', async () => {
    const { rollback } = await import('../../src/core/rollback.js');
    const mem = new MemoryDestination();
    await backup(options(mem));
    const target = join(work, 'rollback-target');
    mkdirSync(target);
    writeFileSync(join(target, 'live.txt'), 'live');
    const err = await rollback({
      destination: mem,
      selection: { selector: 'latest' },
      decrypt: { identities: [generateIdentity().identity] },
      recipients: [],
      targets: { files: target },
      confirm: 'rollback-target',
      checkSql: [],
      origin: { host: 'test' },
      reporter: silentReporter,
    }).catch((e: unknown) => e);
    expect((err as { exitCode?: number }).exitCode).toBe(5);
    expect(await complete(mem)).toHaveLength(1);
    expect(readdirSync(target)).toEqual(['live.txt']);
  });
});

describe('#1 leftovers of a killed upload', () => {
  it('prune removes temp files older than the grace period, and leaves fresh ones (a running backup) alone', async () => {
    const { LocalDestination } = await import('../../src/destinations/local.js');
    const { prune } = await import('../../src/core/prune.js');
    const { utimesSync } = await import('node:fs');
    const repo = join(work, 'killed-upload');
    const dest = new LocalDestination(repo);
    await backup(options(dest));
    mkdirSync(join(repo, '20200101T000000Z-aaaaaa'));
    const old = join(repo, '20200101T000000Z-aaaaaa', '.strongbox-tmp-0001');
    writeFileSync(old, randomBytes(1000));
    const longAgo = new Date(Date.now() - 48 * 3_600_000);
    utimesSync(old, longAgo, longAgo);
    mkdirSync(join(repo, '20990101T000000Z-bbbbbb'));
    const fresh = join(repo, '20990101T000000Z-bbbbbb', '.strongbox-tmp-0002');
    writeFileSync(fresh, 'in progress');
    const dry = await prune({ destination: dest, policy: { keepLast: 1 }, dryRun: true, reporter: silentReporter });
    expect(dry.abandonedWrites).toEqual(['20200101T000000Z-aaaaaa/.strongbox-tmp-0001']);
    expect(existsSync(old)).toBe(true);
    const r = await prune({ destination: dest, policy: { keepLast: 1 }, dryRun: false, reporter: silentReporter });
    expect(r.abandonedWrites).toEqual(['20200101T000000Z-aaaaaa/.strongbox-tmp-0001']);
    expect(existsSync(join(repo, '20200101T000000Z-aaaaaa'))).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(await complete(dest)).toHaveLength(1);
  });
});

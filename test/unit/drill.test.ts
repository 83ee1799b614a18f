import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { drillRequested, resolveDrillConfig, type DrillSettings } from '../../src/config/drill.js';
import { parseConfigText } from '../../src/config/file.js';
import { ageCheck, drillExitCode, scratchDatabaseName, scratchMadeAt, staleScratchNames, type DrillArtifact, type DrillResult } from '../../src/core/drill.js';
import { formatDrill } from '../../src/cli/drill-command.js';
import { drillDetails } from '../../src/report/outcome.js';
import { compareTree, countTree } from '../../src/sources/files/count.js';
import { mysqlScratchName, withMysqlDatabase } from '../../src/sources/mysql/scratch.js';
import { postgresScratchName, withPostgresDatabase } from '../../src/sources/postgres/scratch.js';
import { ExitCode, UsageError } from '../../src/shared/errors.js';
import type { Reporter } from '../../src/shared/reporter.js';

const work = mkdtempSync(join(tmpdir(), 'strongbox-drill-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const repo = join(work, 'repo');
const identityFile = join(work, 'key.txt');
writeFileSync(identityFile, `${generateIdentity().identity}\n`, { mode: 0o600 });

class Recording implements Reporter {
  readonly secrets: string[] = [];
  readonly warnings: string[] = [];
  debug() {}
  info() {}
  warning(m: string) {
    this.warnings.push(m);
  }
  error() {}
  setSecret(s: string) {
    this.secrets.push(s);
  }
}

const resolve = (flags: DrillSettings, env: NodeJS.ProcessEnv = {}, reporter = new Recording()) => resolveDrillConfig({ from: repo, ...flags }, undefined, env, reporter);

describe('resolveDrillConfig', () => {
  it('turns the scratch flags into a target per kind, and nothing for kinds not given', async () => {
    const o = await resolve({ postgresScratch: 'postgres://u@db:5432/', sqliteScratch: ' /tmp/x.db ', filesScratch: '' });
    expect(o.scratch).toEqual({ postgres: 'postgres://u@db:5432/', sqlite: '/tmp/x.db' });
    expect(o.selection).toEqual({ selector: 'latest' });
    expect(o.keep).toBe(false);
    expect(o.maxAgeMs).toBeUndefined();
    expect(o.destination.display).toContain('repo');
  });

  it('reads a scratch URL from the environment, masks its password, and warns about one typed into argv', async () => {
    const r = new Recording();
    const o = await resolve({ mysqlScratchEnv: 'SCRATCH_URL', postgresScratch: 'postgres://u:hunter2@db/', argv: true }, { SCRATCH_URL: 'mysql://root:s3cret@my:3306/' }, r);
    expect(o.scratch.mysql).toBe('mysql://root:s3cret@my:3306/');
    expect(r.secrets).toEqual(expect.arrayContaining(['s3cret', 'hunter2']));
    expect(r.warnings.join('\n')).toContain('--postgres-scratch-env');
  });

  it('refuses a URL and its -env together, an unset variable and a malformed --max-age (exit 2)', async () => {
    await expect(resolve({ postgresScratch: 'postgres://u@h/', postgresScratchEnv: 'X' }, { X: 'postgres://u@h/' })).rejects.toThrow(/--postgres-scratch and --postgres-scratch-env/);
    await expect(resolve({ postgresScratchEnv: 'NOT_SET' })).rejects.toBeInstanceOf(UsageError);
    await expect(resolve({ maxAge: 'soon' })).rejects.toMatchObject({ exitCode: ExitCode.usage, message: expect.stringContaining('--max-age') });
  });

  it('parses --max-age, keeps non-empty --check-sql queries, --keep and the selector', async () => {
    const o = await resolve({ maxAge: '8d', checkSql: ['SELECT 1', '  ', ' SELECT 2 '], keep: true, backup: 'label:weekly' });
    expect(o.maxAgeMs).toBe(8 * 86_400_000);
    expect(o.checkSql).toEqual(['SELECT 1', 'SELECT 2']);
    expect(o.keep).toBe(true);
    expect(o.selection).toEqual({ selector: 'label:weekly' });
  });

  it('takes the key from the flags, else from the file', async () => {
    expect((await resolve({ identityFile })).decrypt?.identities).toHaveLength(1);
    const file = parseConfigText(`destinations:\n  - url: ${repo}\ndecryption:\n  identity-file: ${identityFile}\n`, join(work, 'strongbox.yml'));
    const o = await resolveDrillConfig({}, file, {}, new Recording());
    expect(o.decrypt?.identities).toHaveLength(1);
    expect(o.destination.display).toContain('repo');
  });

  it('drillRequested: any scratch input asks the verify action to drill', () => {
    expect(drillRequested({})).toBe(false);
    expect(drillRequested({ postgresScratch: ' ' })).toBe(false);
    expect(drillRequested({ filesScratch: '/tmp/d' })).toBe(true);
    expect(drillRequested({ mysqlScratchEnv: 'X' })).toBe(true);
    expect(drillRequested({ postgresScratch: 'postgres://u@h/', checkSql: ['SELECT 1'], maxAge: '8d' })).toBe(true);
  });

  it('drillRequested: drill-check-sql or drill-max-age with every scratch input empty (an unset secret) is refused, not skipped (exit 2)', () => {
    for (const s of [{ postgresScratch: '', checkSql: ['SELECT 1'] }, { postgresScratch: ' ', maxAge: '8d' }, { maxAge: '8d' }]) {
      let err: unknown;
      try {
        drillRequested(s);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(ExitCode.usage);
      expect((err as UsageError).message).toContain('every drill scratch input (drill-postgres, drill-mysql, drill-sqlite, drill-files) is empty');
      expect((err as UsageError).hint).toContain('unset secret');
    }
  });

  it('--only is passed on trimmed; none given means every artifact', async () => {
    expect((await resolve({ only: [' files-media ', 'postgres-app'] })).only).toEqual(['files-media', 'postgres-app']);
    expect((await resolve({})).only).toBeUndefined();
  });
});

const artifact = (over: Partial<DrillArtifact> = {}): DrillArtifact => ({ name: 'postgres-app', kind: 'postgres', status: 'ok', target: 'postgres://u@h/strongbox_drill_1', seconds: 2.5, rows: { tables: 2, rows: 320 }, ...over });

describe('the drill result', () => {
  it('exits 10 on a difference or a failed check, 0 when everything restored or was skipped', () => {
    expect(drillExitCode({ artifacts: [artifact()], checks: [] })).toBe(ExitCode.ok);
    expect(drillExitCode({ artifacts: [artifact(), artifact({ status: 'skipped' })], checks: [{ check: 'q', ok: true, detail: '' }] })).toBe(ExitCode.ok);
    expect(drillExitCode({ artifacts: [artifact({ status: 'difference' })], checks: [] })).toBe(ExitCode.drillFailed);
    expect(drillExitCode({ artifacts: [artifact()], checks: [{ check: 'q', ok: false, detail: 'returned no rows' }] })).toBe(ExitCode.drillFailed);
  });

  it('max-age: a backup older than the limit fails the check, a younger one passes (clock given)', () => {
    const m = { startedAt: '2026-11-20T02:00:00.000Z' };
    expect(ageCheck(m, 8 * 86_400_000, new Date('2026-11-27T02:00:00Z'))).toEqual({ check: 'max-age 8d', ok: true, detail: 'the backup is 7d old' });
    expect(ageCheck(m, 8 * 86_400_000, new Date('2026-11-29T05:00:00Z'))).toEqual({ check: 'max-age 8d', ok: false, detail: 'the backup is 9d3h old, older than 8d' });
  });

  const result: DrillResult = {
    backupId: '20261201T020000Z-1',
    startedAt: '2026-12-01T02:00:00.000Z',
    series: 'files-media+postgres-app',
    labels: [],
    ageSeconds: 60,
    ok: false,
    exitCode: ExitCode.drillFailed,
    artifacts: [artifact(), artifact({ name: 'files-media', kind: 'files', status: 'difference', target: '/tmp/d', seconds: 0.25, rows: undefined, compared: '3 entries', problem: '3 entries restored, the backup recorded 4' })],
    checks: [{ check: 'SELECT 1', ok: true, detail: '1 row(s)' }],
    rtoSeconds: 2.8,
    kept: [],
  };

  it('prints a line per artifact with what was compared and its seconds, the checks and the total RTO', () => {
    const text = formatDrill(result);
    expect(text).toContain('ok         postgres-app → postgres://u@h/strongbox_drill_1  2.5s  (320 rows in 2 tables compared)');
    expect(text).toContain('DIFFERENCE files-media → /tmp/d  0.3s  (3 entries compared): 3 entries restored, the backup recorded 4');
    expect(text).toContain('check ok     SELECT 1 — 1 row(s)');
    expect(text).toMatch(/\nRTO 2\.8s in total \(download, decrypt, decompress and restore of 2 artifact\(s\), one after another; comparisons and checks not counted\)\n$/);
  });

  it('gives notifications the RTO per artifact and in total, rows compared and the checks counted, never their SQL', () => {
    const d = drillDetails({ ...result, checks: [{ check: "SELECT 1 FROM users WHERE email = 'ceo@example.com'", ok: true, detail: '1 row(s)' }, { check: 'max-age 8d', ok: false, detail: 'old' }] });
    expect(d).toMatchObject({ ok: false, rtoSeconds: 2.8, rowsCompared: 320, checks: 2, checksFailed: 1 });
    expect(JSON.stringify(d)).not.toContain('ceo@example.com');
    expect(d.artifacts.map((a) => [a.name, a.status, a.seconds])).toEqual([
      ['postgres-app', 'ok', 2.5],
      ['files-media', 'difference', 0.25],
    ]);
  });
});

describe('scratch URLs', () => {
  it('postgres: a URL naming only a server gets a database; one naming a database keeps it', () => {
    expect(postgresScratchName('postgres://u@db:5432/')).toBeUndefined();
    expect(postgresScratchName('postgres://u@db:5432')).toBeUndefined();
    expect(postgresScratchName('postgres://u@db:5432/scratch')).toBe('scratch');
    expect(postgresScratchName('postgres://u@db/?dbname=other')).toBe('other');
    expect(withPostgresDatabase('postgres://u:pw@db:5432/?sslmode=require', 'strongbox_drill_1')).toBe('postgres://u:pw@db:5432/strongbox_drill_1?sslmode=require');
    expect(withPostgresDatabase('postgresql://u@db/app', 'postgres')).toBe('postgresql://u@db/postgres');
  });

  it('mysql: the same, and a malformed URL is refused without echoing it', () => {
    expect(mysqlScratchName('mysql://root@my:3306/')).toBeUndefined();
    expect(mysqlScratchName('mysql://root@my')).toBeUndefined();
    expect(mysqlScratchName('mariadb://root@my/scratch')).toBe('scratch');
    expect(withMysqlDatabase('mysql://root:pw@my:3306/', 'strongbox_drill_1')).toBe('mysql://root:pw@my:3306/strongbox_drill_1');
    expect(() => mysqlScratchName('http://root:pw@my/')).toThrow(UsageError);
    expect(() => mysqlScratchName('http://root:pw@my/')).not.toThrow(/pw/);
  });
});

describe('comparing a restored tree', () => {
  const root = join(work, 'tree');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'a'), 'abc');
  writeFileSync(join(root, 'sub', 'b'), 'defg');
  linkSync(join(root, 'a'), join(root, 'sub', 'a-link'));
  symlinkSync('a', join(root, 'ln'));

  it('counts the root and every entry, and a hard-linked file\'s bytes once (as tar stores them)', async () => {
    expect(await countTree(root)).toEqual({ entries: 6, bytes: 7 });
  });

  it('reports a difference in entries or bytes against the manifest', async () => {
    const base = { name: 'files-tree', kind: 'files' };
    expect(await compareTree(root, { ...base, source: { entries: 6, bytes: 7 } })).toEqual({ compared: '6 entries, 7 bytes', differences: [] });
    const d = await compareTree(root, { ...base, source: { entries: 7, bytes: 9 } });
    expect(d.differences).toEqual(['6 entries restored, the backup recorded 7', '7 bytes of file data restored, the backup recorded 9']);
  });
});

describe('scratch database names and leftovers', () => {
  const now = new Date('2026-12-01T21:30:00Z');
  it('carry the UTC time they were made, so a killed drill\'s leftover shows its age', () => {
    const name = scratchDatabaseName(new Date('2026-12-01T02:03:04.567Z'), 'ab12cd34');
    expect(name).toBe('strongbox_drill_20261201020304_ab12cd34');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(scratchMadeAt(name)).toEqual(new Date('2026-12-01T02:03:04Z'));
    expect(scratchMadeAt('strongbox_drill_ab12cd34')).toBeUndefined();
  });

  it('names older than a day or undated are stale; a running drill\'s (an hour old) and other databases are not', () => {
    const names = ['strongbox_drill_20261130200000_aa', 'strongbox_drill_20261201203000_bb', 'strongbox_drill_ab12cd34', 'app', 'strongbox_drilling'];
    expect(staleScratchNames(names, now)).toEqual(['strongbox_drill_20261130200000_aa', 'strongbox_drill_ab12cd34']);
  });
});

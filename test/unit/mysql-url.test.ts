import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { mysqlUrlSecrets, parseMysqlUrl, redactMysqlUrl } from '../../src/sources/mysql/url.js';
import { mysqlAdapter } from '../../src/sources/mysql/index.js';
import { childEnv, maskerFor } from '../../src/sources/mysql/client.js';
import { childEnvironment } from '../../src/shared/sensitive-env.js';

const noEnv = {};

describe('parseMysqlUrl', () => {
  it.each([
    ['mysql://app@db.example:3307/shop', { scheme: 'mysql', user: 'app', host: 'db.example', port: 3307, database: 'shop' }],
    ['mariadb://root@127.0.0.1/appdb', { scheme: 'mariadb', user: 'root', host: '127.0.0.1', database: 'appdb' }],
    ['MySQL://u:p%40ss%2Fw@h/d', { scheme: 'mysql', user: 'u', password: 'p@ss/w', host: 'h', database: 'd' }],
    ['mysql://u:@h/d', { scheme: 'mysql', user: 'u', password: '', host: 'h', database: 'd' }],
    ['mysql://h/my%20db', { scheme: 'mysql', host: 'h', database: 'my db' }],
    ['mysql://u@[::1]:3306/d', { scheme: 'mysql', user: 'u', host: '::1', port: 3306, database: 'd' }],
  ])('%s', (url, expected) => {
    expect(parseMysqlUrl(url, '--mysql', noEnv)).toEqual(expected);
  });

  it('takes the password from MYSQL_PWD when the URL has none, and prefers the URL', () => {
    expect(parseMysqlUrl('mysql://u@h/d', '--mysql', { MYSQL_PWD: 'envpw' }).password).toBe('envpw');
    expect(parseMysqlUrl('mysql://u:urlpw@h/d', '--mysql', { MYSQL_PWD: 'envpw' }).password).toBe('urlpw');
  });

  it.each([
    ['postgres://u@h/d', /not valid/],
    ['mysql://u@h', /names no database/],
    ['mysql://u@h/', /names no database/],
    ['mysql://u:pa/ss@h/d', /"@" after the host/],
    ['mysql://u@h:99999/d', /port must be/],
    ['mysql://u@h:12a/d', /malformed host or port/],
    ['mysql://u@/d', /names no host/],
    ['mysql://u@h/d?ssl=1', /query string/],
    ['mysql://u:%zz@h/d', /malformed %-escape/],
    [`mysql://u@h/${'x'.repeat(65)}`, /longer than 64/],
    ['mysql://u@h/a/b', /holds a "\/"/],
  ])('refuses %s naming the flag, never echoing the URL', (url, why) => {
    let err: unknown;
    try {
      parseMysqlUrl(url.replace('u@', 'u:Secr3tPw@').replace('u:pa/ss', 'u:pa/ss'), '--mysql-target', noEnv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toMatch(/^--mysql-target: /);
    expect((err as Error).message).not.toContain('Secr3tPw');
    expect((err as Error).message).not.toContain('ss@h');
  });
});

describe('redaction and secrets', () => {
  it('redactMysqlUrl drops the password and keeps the rest', () => {
    expect(redactMysqlUrl('mysql://app:s3cret@db:3307/shop')).toBe('mysql://app@db:3307/shop');
    expect(redactMysqlUrl('mariadb://app:s3cret@db/shop')).toBe('mariadb://app@db/shop');
    expect(redactMysqlUrl('mysql://app:s3/cret@db/shop')).toBe('(invalid MySQL URL)');
    expect(mysqlAdapter.displayTarget('mysql://app:s3cret@db/shop')).not.toContain('s3cret');
  });

  it('mysqlUrlSecrets gives only what the URL holds: the password decoded and encoded and the whole URL; never MYSQL_PWD', () => {
    const url = 'mysql://app:p%40ss@db/shop';
    expect(mysqlUrlSecrets(url).sort()).toEqual(['p%40ss', 'p@ss', url].sort());
    process.env.MYSQL_PWD = 'envpw';
    try {
      // A password-free URL: the edge must not warn that "the --mysql URL holds a password".
      expect(mysqlUrlSecrets('mysql://app@db/shop')).toEqual([]);
    } finally {
      delete process.env.MYSQL_PWD;
    }
    // Even a malformed URL's password is masked.
    expect(mysqlUrlSecrets('mysql://app:pa/ss@db/shop')).toContain('pa/ss');
  });

  it('MYSQL_PWD is masked where it is read (setSecret), with a password-free URL', () => {
    const set: string[] = [];
    const reporter = { debug() {}, info() {}, warning() {}, error() {}, setSecret: (s: string) => set.push(s) };
    const env = { MYSQL_PWD: 'envpw-123' };
    const t = parseMysqlUrl('mysql://app@db/shop', '--mysql', env);
    const mask = maskerFor('mysql://app@db/shop', t, reporter, env);
    expect(set).toEqual(['envpw-123']);
    expect(mask('Access denied (using password envpw-123)')).not.toContain('envpw-123');
  });

  it('MYSQL_PWD reaches no child of any tool; PGPASSWORD reaches no MySQL child (but still psql/pg_dump)', () => {
    process.env.MYSQL_PWD = 'my-secret';
    process.env.PGPASSWORD = 'pg-secret';
    try {
      expect(childEnvironment().MYSQL_PWD).toBeUndefined();
      expect(childEnvironment().PGPASSWORD).toBe('pg-secret');
      expect(childEnv().MYSQL_PWD).toBeUndefined();
      expect(childEnv().PGPASSWORD).toBeUndefined();
    } finally {
      delete process.env.MYSQL_PWD;
      delete process.env.PGPASSWORD;
    }
  });
});

describe('adapter names', () => {
  it('flags, extension, artifact name, confirm name and identity', () => {
    expect(mysqlAdapter).toMatchObject({ kind: 'mysql', sourceFlag: '--mysql', targetFlag: '--mysql-target', extension: '.sql', verifyBeforeRestore: true });
    expect(mysqlAdapter.artifactName({ kind: 'mysql', location: 'mysql://u:pw@h/my shop' })).toBe('mysql-my-shop');
    expect(mysqlAdapter.confirmName('mysql://u:pw@h:3307/shop')).toBe('shop');
    expect(mysqlAdapter.sourceIdentity({ host: 'db', port: 3307, database: 'shop' })).toBe('db:3307/shop');
    expect(mysqlAdapter.sourceIdentity({ engine: 'mariadb' })).toBe('');
    expect(() => mysqlAdapter.checkSource!({ kind: 'mysql', location: 'mysql://h' }, { reporter: undefined as never, leaveOut: [] })).toThrow(/--mysql: /);
  });
});

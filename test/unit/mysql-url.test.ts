import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/shared/errors.js';
import { mysqlUrlSecrets, parseMysqlUrl, redactMysqlUrl } from '../../src/sources/mysql/url.js';
import { mysqlAdapter } from '../../src/sources/mysql/index.js';

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

  it('mysqlUrlSecrets gives the password decoded and encoded, the whole URL and MYSQL_PWD', () => {
    const url = 'mysql://app:p%40ss@db/shop';
    expect(mysqlUrlSecrets(url, {}).sort()).toEqual(['p%40ss', 'p@ss', url].sort());
    expect(mysqlUrlSecrets('mysql://app@db/shop', { MYSQL_PWD: 'envpw' })).toEqual(['envpw']);
    expect(mysqlUrlSecrets('mysql://app@db/shop', {})).toEqual([]);
    // Even a malformed URL's password is masked.
    expect(mysqlUrlSecrets('mysql://app:pa/ss@db/shop', {})).toContain('pa/ss');
  });
});

describe('adapter names', () => {
  it('flags, extension, artifact name, confirm name and identity', () => {
    expect(mysqlAdapter).toMatchObject({ kind: 'mysql', sourceFlag: '--mysql', targetFlag: '--mysql-target', extension: '.sql', verifyBeforeRestore: false });
    expect(mysqlAdapter.artifactName({ kind: 'mysql', location: 'mysql://u:pw@h/my shop' })).toBe('mysql-my-shop');
    expect(mysqlAdapter.confirmName('mysql://u:pw@h:3307/shop')).toBe('shop');
    expect(mysqlAdapter.sourceIdentity({ host: 'db', port: 3307, database: 'shop' })).toBe('db:3307/shop');
    expect(mysqlAdapter.sourceIdentity({ engine: 'mariadb' })).toBe('');
    expect(() => mysqlAdapter.checkSource!({ kind: 'mysql', location: 'mysql://h' }, { reporter: undefined as never, leaveOut: [] })).toThrow(/--mysql: /);
  });
});

import { describe, expect, it } from 'vitest';
import { childEnvironment, sensitiveEnv } from '../../src/shared/sensitive-env.js';

describe('childEnvironment', () => {
  it('drops action inputs and registered secret variables, keeps what the tools need and everything else', () => {
    sensitiveEnv.addPrefix('INPUT_'); // as the action edge does
    sensitiveEnv.add('MY_DB_URL');
    sensitiveEnv.add('PGPASSWORD'); // even when a secret was read from it, psql needs it
    const env = childEnvironment({
      PATH: '/usr/bin',
      INPUT_IDENTITY: 'AGE-SECRET-KEY-1X',
      'INPUT_SIGNING-KEY': 'k',
      MY_DB_URL: 'postgres://u:pw@h/db',
      PGPASSWORD: 'pw',
      PGPASSFILE: '/root/.pgpass',
      AWS_SECRET_ACCESS_KEY: 's3cret',
      HOME: '/root',
    });
    expect(env).toEqual({ PATH: '/usr/bin', PGPASSWORD: 'pw', PGPASSFILE: '/root/.pgpass', HOME: '/root' });
  });
});

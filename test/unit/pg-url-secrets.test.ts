import { describe, expect, it } from 'vitest';
import { maskLocation } from '../../src/config/settings.js';
import { postgresUrlSecrets } from '../../src/sources/postgres/url.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';

describe('postgresUrlSecrets', () => {
  it('finds the password in every form a PostgreSQL URL carries it, decoded', () => {
    expect(postgresUrlSecrets('postgres://app:s%40cret-1@db:5432/app')).toEqual(['s@cret-1']);
    expect(postgresUrlSecrets('postgres://app@db/app?sslmode=require&password=q%26uery-pw')).toEqual(['q&uery-pw']);
    expect(postgresUrlSecrets('postgresql://app:multi-pw@h1:5432,h2:5433/app?target_session_attrs=read-write')).toEqual(['multi-pw']);
    expect(postgresUrlSecrets('postgres://app@h1,h2/app?password=multi-query-pw')).toEqual(['multi-query-pw']);
    // both given: libpq uses one, both are secret
    expect(postgresUrlSecrets('postgres://app:info-pw@db/app?password=query-pw').sort()).toEqual(['info-pw', 'query-pw']);
    expect(postgresUrlSecrets('postgres://app@db/app')).toEqual([]);
  });

  it('maskLocation hides each of them from later log lines', () => {
    const lines: string[] = [];
    const r = new ConsoleReporter({ write: (l) => lines.push(l) });
    for (const url of ['postgres://app@db/app?password=q%26uery-pw', 'postgres://app:multi-pw@h1,h2/app', 'postgres://app:info-pw@db/app?password=query-pw']) maskLocation('postgres', url, r);
    r.info('q&uery-pw multi-pw info-pw query-pw');
    expect(lines).toEqual(['*** *** *** ***']);
  });
});

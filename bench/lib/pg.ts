import { spawnSync } from 'node:child_process';

/**
 * The PostgreSQL case's database: one table of generate_series rows with a timestamp, short
 * repetitive text and 256 bytes of pseudo-random bytea (four SHA-512s of the row number:
 * deterministic and built in, no pgcrypto). pg_dump writes bytea as hex, so the dump is
 * text-heavy but only partly compressible — typical for application data.
 */

export interface PgBench {
  url: string;
  database: string;
  rows: number;
  sizeBytes: number;
}

const BASE = { host: '127.0.0.1', port: '5432', user: 'postgres' };

function psql(db: string, sql: string): string {
  const r = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', BASE.host, '-p', BASE.port, '-U', BASE.user, '-d', db, '-c', sql], {
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`psql failed (${sql.slice(0, 60)}…): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

export function pgAvailable(): boolean {
  const r = spawnSync('pg_isready', ['-h', BASE.host, '-p', BASE.port, '-q']);
  return r.status === 0;
}

export function createBenchDatabase(database: string, rows: number): PgBench {
  psql('postgres', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  psql('postgres', `CREATE DATABASE ${database}`);
  psql(
    database,
    `CREATE TABLE events (id bigint PRIMARY KEY, created timestamptz NOT NULL, kind text NOT NULL, note text, payload bytea);
     INSERT INTO events
     SELECT g, timestamptz '2024-01-01' + g * interval '1 second',
       (ARRAY['order','invoice','refund','login','logout','upload'])[1 + g % 6],
       'customer ' || (g % 5000) || ' ' || repeat(md5((g % 997)::text), 2) || ' status ' || (ARRAY['ok','failed','queued'])[1 + g % 3],
       sha512(int8send(g)) || sha512(int8send(-g)) || sha512(int8send(g + 1000000000)) || sha512(int8send(-g - 1000000000))
     FROM generate_series(1, ${rows}) g;
     ANALYZE events;`,
  );
  const sizeBytes = Number(psql(database, `SELECT pg_database_size('${database}')`));
  return { url: `postgres://${BASE.user}@${BASE.host}:${BASE.port}/${database}`, database, rows, sizeBytes };
}

/** Size of the plaintext dump (`pg_dump -Fc --compress=0`), the "input" MB/s is counted on. */
export function dumpSize(database: string): number {
  const r = spawnSync('bash', ['-c', `set -o pipefail; pg_dump -h ${BASE.host} -p ${BASE.port} -U ${BASE.user} -Fc --compress=0 ${database} | wc -c`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_dump failed: ${r.stderr.trim()}`);
  return Number(r.stdout.trim());
}

export function dropBenchDatabase(database: string): void {
  psql('postgres', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
}

export const PG = BASE;

import { spawnSync } from 'node:child_process';

/**
 * The MariaDB case's database: the same rows as the PostgreSQL case (bench/lib/pg.ts): a
 * timestamp, short repetitive text and 256 bytes of SHA-512-derived bytes per row, built with
 * MariaDB's SEQUENCE engine (seq_1_to_N). The dump writes the blob as hex (--hex-blob).
 */

export interface MysqlBench {
  url: string;
  database: string;
  rows: number;
  sizeBytes: number;
}

const BASE = { host: '127.0.0.1', port: '3306', user: 'root' };
const conn = ['-h', BASE.host, '-P', BASE.port, '-u', BASE.user];

function sql(db: string | null, text: string): string {
  const r = spawnSync('mariadb', [...conn, '--batch', '--skip-column-names', ...(db ? [db] : [])], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`mariadb failed (${text.slice(0, 60)}…): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

export function mysqlAvailable(): boolean {
  return spawnSync('mysqladmin', [...conn, 'ping'], { stdio: 'ignore' }).status === 0;
}

export function createMysqlBenchDatabase(database: string, rows: number): MysqlBench {
  sql(null, `DROP DATABASE IF EXISTS \`${database}\`; CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  sql(
    database,
    `CREATE TABLE events (id BIGINT PRIMARY KEY, created DATETIME NOT NULL, kind VARCHAR(16) NOT NULL, note TEXT, payload BLOB) ENGINE=InnoDB;
     INSERT INTO events
     SELECT seq, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
       ELT(1 + seq % 6, 'order','invoice','refund','login','logout','upload'),
       CONCAT('customer ', seq % 5000, ' ', REPEAT(MD5(seq % 997), 2), ' status ', ELT(1 + seq % 3, 'ok','failed','queued')),
       UNHEX(CONCAT(SHA2(seq, 512), SHA2(-seq, 512), SHA2(seq + 1000000000, 512), SHA2(-seq - 1000000000, 512)))
     FROM seq_1_to_${rows};
     ANALYZE TABLE events;`,
  );
  const sizeBytes = Number(sql(null, `SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${database}'`));
  return { url: `mysql://${BASE.user}@${BASE.host}:${BASE.port}/${database}`, database, rows, sizeBytes };
}

/** The raw pipeline's dump command (the same flags our adapter passes, bar the option file). */
export function mariadbDumpCommand(database: string): string {
  return `mariadb-dump -h ${BASE.host} -P ${BASE.port} -u ${BASE.user} --single-transaction --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --no-tablespaces --skip-dump-date ${database}`;
}

/** Size of the plaintext dump, the "input" MB/s is counted on. */
export function mysqlDumpSize(database: string): number {
  const r = spawnSync('bash', ['-c', `set -o pipefail; ${mariadbDumpCommand(database)} | wc -c`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mariadb-dump failed: ${r.stderr.trim()}`);
  return Number(r.stdout.trim());
}

export function dropMysqlBenchDatabase(database: string): void {
  sql(null, `DROP DATABASE IF EXISTS \`${database}\``);
}

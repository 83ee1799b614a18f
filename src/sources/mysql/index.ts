import type { SourceAdapter, SourceDetails, SourceSpec, TargetContext } from '../adapter.js';
import { maskerFor, query } from './client.js';
import { readSchema } from './counts.js';
import { dumpMysql } from './dump.js';
import { countTargetObjects, restoreMysql, targetOf } from './restore.js';
import { detectTools } from './tools.js';
import { safeName } from '../artifact-name.js';
import { createMysqlScratch, dropMysqlScratch, listMysqlScratch, mysqlScratchName } from './scratch.js';
import { mysqlUrlSecrets, parseMysqlUrl, redactMysqlUrl } from './url.js';

export { mysqlUrlSecrets, parseMysqlUrl, redactMysqlUrl } from './url.js';

async function connect(target: string, ctx: { reporter?: TargetContext['reporter'] }) {
  const t = targetOf(target);
  const mask = maskerFor(target, t, ctx.reporter);
  const tools = await detectTools(t, mask);
  return { t, mask, tools };
}

/** MySQL and MariaDB, through the server's own client tools (see dump.ts and restore.ts). */
export const mysqlAdapter: SourceAdapter = {
  kind: 'mysql',
  sourceFlag: '--mysql',
  targetFlag: '--mysql-target',
  targetNoun: 'database',
  replaceHint: 'restoring replaces its tables, views, routines, triggers and events: rerun with --force if that is intended (the old tables are swapped out in one RENAME and dropped only afterwards)',
  extension: '.sql',
  locationSecrets: mysqlUrlSecrets,
  credentialsHint: 'MYSQL_PWD',
  artifactName(spec: SourceSpec): string {
    return `mysql-${safeName(parseMysqlUrl(spec.location, '--mysql').database, 'db')}`;
  },
  checkSource(spec: SourceSpec): void {
    parseMysqlUrl(spec.location, '--mysql');
  },
  dump(spec, ctx) {
    return dumpMysql(spec.location, ctx.reporter, spec.options);
  },
  sourceIdentity(details: SourceDetails): string {
    const { host, port, database } = details;
    if (typeof host !== 'string' || typeof database !== 'string') return '';
    const h = host.includes(':') ? `[${host}]` : host;
    return `${h}:${port ?? 3306}/${database}`;
  },
  normalizeTarget(target: string): string {
    return target.trim();
  },
  displayTarget(target: string): string {
    return redactMysqlUrl(target);
  },
  confirmName(target: string): string {
    return targetOf(target).database;
  },
  async checkTarget(target, ctx) {
    // A missing database is created by the restore (with the backup's character set), so only the server must answer.
    await connect(target, ctx);
  },
  async estimateSize(spec, ctx) {
    const { t, mask, tools } = await connect(spec.location, ctx);
    // information_schema's data_length: the server's own estimate of the rows' bytes, no scan;
    // a table under a metadata lock (an ALTER) does not hold it up for more than 2 s.
    const rows = await query(tools.client, t, `SET SESSION lock_wait_timeout = 2; SELECT COALESCE(SUM(data_length), 0) FROM information_schema.TABLES WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`, { mask });
    const bytes = Number(rows[0]?.[0]);
    return Number.isFinite(bytes) ? { bytes } : undefined;
  },
  async isTargetEmpty(target, ctx) {
    const { t, mask, tools } = await connect(target, ctx);
    const schema = await readSchema(tools.client, t, mask);
    if (!schema.exists) return true;
    return (await countTargetObjects(tools.client, t, mask)) === 0;
  },
  async safetySource(target) {
    const { t, mask, tools } = await connect(target, {});
    const schema = await readSchema(tools.client, t, mask);
    if (!schema.exists) return undefined;
    if ((await countTargetObjects(tools.client, t, mask)) === 0) return undefined;
    return { kind: 'mysql', location: target, options: { rowCounts: 'exact' } };
  },
  // The client runs statements as they arrive, and a statement may name another database or
  // write a file (SELECT … INTO OUTFILE): the stored bytes are proven before it sees one.
  verifyBeforeRestore: true,
  restore(input, target, artifact, ctx) {
    return restoreMysql(input, target, artifact, ctx);
  },
  async countQueryRows(target, sql, ctx) {
    const { t, mask, tools } = await connect(target, ctx);
    return (await query(tools.client, t, sql, { mask })).length;
  },
  scratchName: mysqlScratchName,
  createScratch: (url, name) => createMysqlScratch(url, name),
  dropScratch: (target) => dropMysqlScratch(target),
  listScratch: (url, prefix) => listMysqlScratch(url, prefix),
};

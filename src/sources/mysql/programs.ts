import { randomBytes } from 'node:crypto';
import { StrongboxError } from '../../shared/errors.js';
import { ident, query, sqlString, type Client } from './client.js';
import type { MysqlTarget } from './url.js';

/**
 * The objects that belong to a database but do not move with RENAME TABLE: views (a view
 * cannot change database), routines and events (they belong to the database), and triggers
 * (they move with their table, but not into another database: "Trigger in wrong schema").
 * The swap re-creates them from the server's own SHOW CREATE output, read from the staging
 * database where the dump created (and so compiled) them. Read with the staging database as
 * the default one, the definitions name its tables without a database, so they are re-created
 * against the target's tables.
 */
export type ProgramKind = 'PROCEDURE' | 'FUNCTION' | 'PACKAGE' | 'PACKAGE BODY' | 'VIEW' | 'TRIGGER' | 'EVENT';

export interface Program {
  kind: ProgramKind;
  name: string;
  /** The CREATE statement as the server prints it. */
  create: string;
  sqlMode?: string;
  timeZone?: string;
  characterSetClient?: string;
  collationConnection?: string;
}

export interface Programs {
  routines: Program[];
  views: Program[];
  triggers: Program[];
  events: Program[];
}

export function programCount(p: Programs): number {
  return p.routines.length + p.views.length + p.triggers.length + p.events.length;
}

/** Names of each kind in `database`, then one SHOW CREATE each, in one session. */
export async function readPrograms(client: Client, t: MysqlTarget, database: string, mask: (s: string) => string): Promise<Programs> {
  const db = sqlString(database);
  const names = await query(
    client,
    t,
    `SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${db}
     UNION ALL SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${db}
     UNION ALL SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${db}
     UNION ALL SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${db}`,
    { mask, database: null },
  );
  const out: Programs = { routines: [], views: [], triggers: [], events: [] };
  if (!names.length) return out;
  const list = names.map((r) => ({ kind: r[0] as ProgramKind, name: r[1]! }));
  // Each SHOW CREATE prints one row; their order is the order of the statements.
  const sql = list.map((p) => `SHOW CREATE ${p.kind} ${ident(p.name)};`).join('\n');
  const rows = await query(client, t, sql, { mask, database });
  list.forEach((p, i) => {
    const r = rows[i] ?? [];
    switch (p.kind) {
      case 'VIEW':
        out.views.push({ ...p, create: r[1]!, characterSetClient: r[2]!, collationConnection: r[3]! });
        break;
      case 'TRIGGER':
        out.triggers.push({ ...p, sqlMode: r[1]!, create: r[2]!, characterSetClient: r[3]!, collationConnection: r[4]! });
        break;
      case 'EVENT':
        out.events.push({ ...p, sqlMode: r[1]!, timeZone: r[2]!, create: r[3]!, characterSetClient: r[4]!, collationConnection: r[5]! });
        break;
      default:
        out.routines.push({ ...p, sqlMode: r[1]!, create: r[2]!, characterSetClient: r[3]!, collationConnection: r[4]! });
    }
  });
  if (rows.length !== list.length || [...out.routines, ...out.views, ...out.triggers, ...out.events].some((p) => !p.create)) {
    throw new StrongboxError(`could not read the definitions of the views, routines, triggers and events of ${database}`);
  }
  // A view may select from another view: create those it names first.
  out.views = orderViews(out.views);
  // Packages before their bodies, functions before procedures (views and procedures may call them).
  const rank: Record<string, number> = { PACKAGE: 0, 'PACKAGE BODY': 1, FUNCTION: 2, PROCEDURE: 3 };
  out.routines.sort((a, b) => rank[a.kind]! - rank[b.kind]!);
  return out;
}

/** Dependency order by the names a view's definition quotes (`` `v2` ``); views cannot form cycles. */
export function orderViews(views: Program[]): Program[] {
  const byName = new Map(views.map((v) => [v.name, v]));
  const done = new Set<string>();
  const out: Program[] = [];
  const visit = (v: Program, depth: number) => {
    if (done.has(v.name) || depth > views.length) return;
    for (const other of views) if (other !== v && v.create.includes(ident(other.name))) visit(byName.get(other.name)!, depth + 1);
    if (!done.has(v.name)) {
      done.add(v.name);
      out.push(v);
    }
  };
  for (const v of views) visit(v, 0);
  return out;
}

/** The statements that re-create `p` in the current database, with the session settings it was made under. */
export function createStatements(p: Program, delimiter: string): string {
  const lines: string[] = [];
  if (p.sqlMode !== undefined) lines.push(`SET SESSION sql_mode = ${sqlString(p.sqlMode)};`);
  if (p.timeZone !== undefined) lines.push(`SET SESSION time_zone = ${sqlString(p.timeZone)};`);
  if (p.characterSetClient) lines.push(`SET SESSION character_set_client = ${sqlString(p.characterSetClient)};`);
  if (p.collationConnection) lines.push(`SET SESSION collation_connection = ${sqlString(p.collationConnection)};`);
  lines.push(`DELIMITER ${delimiter}`, `${p.create}${delimiter}`, 'DELIMITER ;');
  lines.push("SET SESSION character_set_client = 'utf8mb4', collation_connection = 'utf8mb4_general_ci', sql_mode = '', time_zone = '+00:00';");
  return lines.join('\n');
}

export function dropStatement(p: Program): string {
  return `DROP ${p.kind} IF EXISTS ${ident(p.name)};`;
}

/** A DELIMITER no definition contains by chance; the client keeps at most 15 characters of one. */
export function delimiterToken(): string {
  return `$$sb${randomBytes(3).toString('hex')}$$`;
}

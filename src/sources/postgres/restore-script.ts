import { Transform, type TransformCallback } from 'node:stream';
import { DEFAULT_DB_LOCK_TIMEOUT_MS } from './limits.js';

/**
 * A forced restore's first statements, inside its transaction: everything the dump will
 * recreate, and everything it would not, goes. Every user schema is dropped with CASCADE (a
 * schema owner may drop other roles' objects in it). `public` is emptied instead of dropped:
 * PostgreSQL 15 dumps assume it exists and record only how its owner, privileges and comment
 * differ from the default, so recreating it would lose what they rely on, and emptying needs
 * no more rights than dropping what it holds. Objects that belong to an extension, or are
 * part of another object (a column's identity sequence, a range's multirange), go with their
 * owner object. A role that may not drop something (another role's schema, an extension an
 * admin installed) fails here, with a clear message, rather than later in the dump (which
 * would need to own those extensions anyway, to COMMENT on them).
 */
export const EMPTY_DATABASE_SQL = `SET client_min_messages = error;
DO $strongbox$
DECLARE
  r record;
  public_oid oid;
  doing text := '';
BEGIN
  FOR r IN SELECT pubname FROM pg_catalog.pg_publication LOOP
    doing := pg_catalog.format('DROP PUBLICATION %I', r.pubname);
    EXECUTE doing;
  END LOOP;
  PERFORM pg_catalog.lo_unlink(l.oid) FROM pg_catalog.pg_largeobject_metadata l;
  FOR r IN SELECT n.nspname FROM pg_catalog.pg_namespace n
      WHERE n.nspname <> 'public' AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
          AND e.objid = n.oid AND e.deptype = 'e') LOOP
    doing := pg_catalog.format('DROP SCHEMA IF EXISTS %I CASCADE', r.nspname);
    EXECUTE doing;
  END LOOP;
  SELECT n.oid INTO public_oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public';
  IF public_oid IS NULL THEN
    CREATE SCHEMA public;
  END IF;
  -- One object at a time, looked up afresh: each CASCADE may take others with it.
  LOOP
    SELECT o.type, o.identity INTO r
      FROM pg_catalog.pg_depend d
      CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, 0) o
      WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = public_oid AND d.deptype = 'n'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = d.classid AND i.objid = d.objid
          AND i.objsubid = 0 AND i.deptype IN ('e', 'i'))
      LIMIT 1;
    EXIT WHEN NOT FOUND;
    doing := pg_catalog.format('DROP %s %s CASCADE',
      CASE r.type WHEN 'statistics object' THEN 'STATISTICS' ELSE pg_catalog.upper(r.type) END, r.identity);
    EXECUTE doing;
  END LOOP;
  -- Extensions installed into pg_catalog (not built in: those have OIDs below 16384).
  FOR r IN SELECT x.extname FROM pg_catalog.pg_extension x WHERE x.oid >= 16384 LOOP
    doing := pg_catalog.format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
    EXECUTE doing;
  END LOOP;
  -- Foreign-data wrappers without a handler in a schema (with their servers and user mappings).
  FOR r IN SELECT w.fdwname FROM pg_catalog.pg_foreign_data_wrapper w WHERE w.oid >= 16384 LOOP
    doing := pg_catalog.format('DROP FOREIGN DATA WRAPPER IF EXISTS %I CASCADE', r.fdwname);
    EXECUTE doing;
  END LOOP;
EXCEPTION WHEN OTHERS THEN
  -- Naming the statement names the object, e.g. the table another session has locked.
  RAISE EXCEPTION 'could not empty database % before the restore (at %): %', pg_catalog.current_database(), doing, SQLERRM USING ERRCODE = SQLSTATE;
END
$strongbox$;
`;


export const XID_MARK = 'strongbox-restore-xid:';

/**
 * What psql reads before pg_restore's script. Our BEGIN puts the emptying in the restore's
 * transaction; pg_restore's own BEGIN then only warns (hushed), and its COMMIT ends both. The
 * transaction's id goes to psql's stdout, so that the server can be asked afterwards whether
 * it committed: psql exiting 0 proves nothing (it also does at an EOF mid-script, rolling back).
 */
export function restoreScriptPrologue(force: boolean, lockTimeoutMs = DEFAULT_DB_LOCK_TIMEOUT_MS, partial = false): string {
  return `BEGIN;\nSET client_min_messages = error;\n${lockTimeoutSql(lockTimeoutMs)}\nSELECT '${XID_MARK}' || pg_catalog.txid_current();\n${force ? EMPTY_DATABASE_SQL : ''}${partial ? REMEMBER_PUBLIC_SQL : ''}`;
}

/**
 * A partial dump that holds `public` itself (`--schema public`) drops and recreates it under
 * --clean, which would hand it to the restoring role with no privileges for anyone else (an
 * application role would lose USAGE). Its owner and privileges are remembered in
 * transaction-local settings (no privilege needed) and put back before the COMMIT.
 */
const REMEMBER_PUBLIC_SQL = `SELECT pg_catalog.set_config('strongbox.public_oid', n.oid::text, true),
  pg_catalog.set_config('strongbox.public_owner', pg_catalog.pg_get_userbyid(n.nspowner), true),
  pg_catalog.set_config('strongbox.public_acl', COALESCE(n.nspacl::text, ''), true)
  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public' \\g /dev/null
`;

/** Before the COMMIT of a partial restore: a recreated `public` gets its privileges, then its owner, back. */
export const RESTORE_PUBLIC_SQL = `DO $strongbox_public$
DECLARE
  old_oid text := pg_catalog.current_setting('strongbox.public_oid', true);
  old_owner text := pg_catalog.current_setting('strongbox.public_owner', true);
  old_acl text := pg_catalog.current_setting('strongbox.public_acl', true);
  r record;
BEGIN
  IF COALESCE(old_oid, '') = '' OR (SELECT n.oid::text FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public') IS NOT DISTINCT FROM old_oid THEN
    RETURN;
  END IF;
  IF old_acl <> '' THEN
    FOR r IN SELECT a.grantee, a.privilege_type FROM pg_catalog.aclexplode(old_acl::pg_catalog.aclitem[]) a LOOP
      EXECUTE pg_catalog.format('GRANT %s ON SCHEMA public TO %s', r.privilege_type,
        CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) END);
    END LOOP;
  END IF;
  -- Last: once another role owns it, the restoring role may no longer grant on it.
  EXECUTE pg_catalog.format('ALTER SCHEMA public OWNER TO %I', old_owner);
END
$strongbox_public$;
`;


export function lockTimeoutSql(ms: number): string {
  return `SET lock_timeout = '${Math.max(1, Math.round(ms))}ms';`;
}


/**
 * pg_restore's script opens with `SET lock_timeout = 0;`, which would lift ours: the head of
 * the script (the first 8 KiB) gets the restore's own timeout instead.
 */
export class LockTimeoutHead extends Transform {
  private head: Buffer[] = [];
  private headLen = 0;
  private done = false;
  constructor(private readonly sql: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.done) return cb(null, chunk);
    this.head.push(chunk);
    this.headLen += chunk.length;
    if (this.headLen >= 8192) this.release();
    cb();
  }
  override _flush(cb: TransformCallback): void {
    if (!this.done) this.release();
    cb();
  }
  private release(): void {
    this.done = true;
    const text = Buffer.concat(this.head).toString('latin1');
    this.head = [];
    this.push(Buffer.from(text.replace(/^SET lock_timeout = 0;$/m, this.sql), 'latin1'));
  }
}

import { Transform, type TransformCallback } from 'node:stream';

/**
 * For a partial dump that did not select whole schemas with --schema (--exclude-table,
 * --exclude-schema, --table): pg_restore --clean --if-exists would `DROP SCHEMA` every schema
 * the dump holds, which fails on a target where an object the dump left out (the excluded
 * table) is still in it, and must not succeed with CASCADE. Such a restore replaces the
 * dump's objects in their schemas and keeps the schemas: each `DROP SCHEMA IF EXISTS x;` is
 * left out and each `CREATE SCHEMA x;` becomes `CREATE SCHEMA IF NOT EXISTS x;`.
 *
 * Only where pg_restore writes them, never in data or function bodies: the drops come before
 * the first object header (`-- Name: …; Type: …`), and a schema's CREATE right after its own
 * header. pg_dump sorts schemas (and their comments) first, so the first header of any other
 * type ends the rewriting and everything after passes untouched, unsplit.
 */
const HEADER = /^-- Name: .*; Type: ([A-Z ]+); Schema: /;
const DROP_SCHEMA = /^DROP SCHEMA IF EXISTS (.+);$/;
const CREATE_SCHEMA = /^CREATE SCHEMA (.+);$/;
/** A line longer than this before the rewriting ended is no pg_restore header or statement: stop looking. */
const MAX_LINE = 1 << 20;

export class KeepSchemas extends Transform {
  private pending = '';
  private done = false;
  private seenHeader = false;
  private inSchemaEntry = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.done) return cb(null, chunk);
    // latin1: one char per byte, so the bytes pass unchanged whatever the encoding.
    const lines = (this.pending + chunk.toString('latin1')).split('\n');
    this.pending = lines.pop()!;
    let out = '';
    for (const line of lines) out += `${this.done ? line : this.rewrite(line)}\n`;
    if (this.done || this.pending.length > MAX_LINE) {
      this.done = true;
      out += this.pending;
      this.pending = '';
    }
    cb(null, Buffer.from(out, 'latin1'));
  }

  override _flush(cb: TransformCallback): void {
    cb(null, this.pending ? Buffer.from(this.pending, 'latin1') : undefined);
  }

  private rewrite(line: string): string {
    const header = HEADER.exec(line);
    if (header) {
      this.seenHeader = true;
      this.inSchemaEntry = header[1] === 'SCHEMA';
      if (header[1] !== 'SCHEMA' && header[1] !== 'COMMENT') this.done = true;
      return line;
    }
    if (!this.seenHeader) {
      const drop = DROP_SCHEMA.exec(line);
      return drop ? `-- schema ${drop[1]} kept (the partial backup left objects in it out)` : line;
    }
    if (this.inSchemaEntry) {
      const create = CREATE_SCHEMA.exec(line);
      if (create) {
        this.inSchemaEntry = false;
        return `CREATE SCHEMA IF NOT EXISTS ${create[1]};`;
      }
    }
    return line;
  }
}

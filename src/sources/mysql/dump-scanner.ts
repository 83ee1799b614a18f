/**
 * Reads a mysqldump/mariadb-dump SQL stream as it passes, without holding it: counts the rows
 * of every `INSERT INTO` (so the counts are exactly what the dump holds, i.e. what its own
 * consistent snapshot saw), notes every table it creates, and sees the completion marker
 * (`-- Dump completed`) and any statement that would leave the database it runs in (`USE`,
 * `CREATE DATABASE`: a dump made with --databases). Memory is bounded by one line's head.
 *
 * The dump tools write each statement from the start of a line, escape every newline inside
 * a value (`\n`), and quote strings with single quotes and backslash escapes (they dump with
 * sql_mode ''), which is what makes a byte scanner enough. Rows of an extended INSERT are
 * the parenthesised groups at depth 0 (MariaDB ≥ 10.11 puts one per line, MySQL one line in
 * all). Inside `DELIMITER ;;` blocks (triggers, routines, events) nothing is counted.
 */

const NL = 0x0a;
const QUOTE = 0x27;
const BACKSLASH = 0x5c;
const OPEN = 0x28;
const SEMI = 0x3b;
const HEAD_MAX = 4096;

const enum State {
  LineStart,
  SkipLine,
  Values,
}

export interface ScanResult {
  /** Rows per table, for every table created in the dump (0 when it has no INSERT). */
  rowCounts: Record<string, number>;
  /** The completion marker was the dump's last line. */
  complete: boolean;
  /** Set when the stream did not look the way the counting relies on; the counts are then not to be trusted. */
  problem?: string;
  /** A statement switching or creating a database (`USE`, `CREATE DATABASE`) at the start of a line, at delimiter ';' and outside comments. */
  switchesDatabase?: string;
  bytes: number;
}

/** `` `a``b` `` → a`b, from a backtick-quoted name at the start of `s`; undefined if cut off. */
export function readQuotedName(s: string): { name: string; end: number } | undefined {
  if (s[0] !== '`') return undefined;
  let name = '';
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '`') {
      if (s[i + 1] === '`') {
        name += '`';
        i++;
        continue;
      }
      return { name, end: i + 1 };
    }
    name += s[i];
  }
  return undefined;
}

/**
 * Whether a line leaves a C-style (slash-star) comment open (starting inside one if `open`). Quotes are
 * followed within the line (the dump tools escape every newline inside a value); `-- ` and `#`
 * end the line; `/*!…` and `/*M!…` are executable comments, i.e. SQL.
 */
export function endsInComment(line: string, open: boolean): boolean {
  let inC = open;
  let q = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inC) {
      if (c === '*' && line[i + 1] === '/') {
        inC = false;
        i++;
      }
    } else if (q) {
      if (c === '\\' && q !== '`') i++;
      else if (c === q) q = '';
    } else if (c === "'" || c === '"' || c === '`') q = c;
    else if (c === '#' || (c === '-' && line[i + 1] === '-' && (line[i + 2] === ' ' || line[i + 2] === undefined))) break;
    else if (c === '/' && line[i + 1] === '*' && line[i + 2] !== '!' && !(line[i + 2] === 'M' && line[i + 3] === '!')) {
      inC = true;
      i++;
    }
  }
  return inC;
}

export class DumpScanner {
  private state = State.LineStart;
  private head: Buffer[] = [];
  private headLen = 0;
  private delimiter = ';';
  /** Inside a C-style comment that an earlier line opened (executable `/*!…` ones are SQL, not comments). */
  private inComment = false;
  private counts = new Map<string, number>();
  private table = '';
  private rows = 0;
  private inString = false;
  /** Backslashes a string ended the previous chunk with (an odd number escapes a quote at the next chunk's start). */
  private carry = 0;
  private markerSeen = false;
  private afterMarker = false;
  private problem: string | undefined;
  private switches: string | undefined;
  private bytes = 0;

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.scan(chunk);
  }

  private scan(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === State.SkipLine) {
        const nl = chunk.indexOf(NL, i);
        if (nl < 0) return;
        i = nl + 1;
        this.state = State.LineStart;
      } else if (this.state === State.LineStart) {
        const nl = chunk.indexOf(NL, i);
        const end = nl < 0 ? n : nl;
        const take = Math.min(end, i + (HEAD_MAX - this.headLen));
        if (take > i) {
          this.head.push(chunk.subarray(i, take));
          this.headLen += take - i;
        }
        if (nl < 0 && this.headLen < HEAD_MAX) return; // the line goes on in the next chunk
        const headBuf = Buffer.concat(this.head);
        this.head = [];
        this.headLen = 0;
        const wholeLine = nl >= 0 && take === nl;
        const consumed = this.lineHead(headBuf.toString('utf8'));
        if ((this.state as State) === State.Values) {
          // The rest of the head (after VALUES) goes through the values machine, then the
          // chunk goes on from where the head stopped, in whatever state that left.
          this.scan(headBuf.subarray(consumed));
          i = take;
        } else if (wholeLine) {
          i = nl + 1;
        } else {
          this.state = State.SkipLine;
          i = take;
        }
      } else {
        i = this.values(chunk, i);
      }
    }
  }

  /**
   * Decides what a line is from its head. Returns how many bytes of the head (as UTF-8)
   * the Values state should skip when the line is an INSERT.
   */
  private lineHead(line: string): number {
    if (this.afterMarker && line.trim()) this.afterMarker = false;
    if (line.startsWith('DELIMITER ')) {
      this.delimiter = line.slice(10).trim();
      return 0;
    }
    if (line.startsWith('-- Dump completed')) {
      this.markerSeen = true;
      this.afterMarker = true;
      return 0;
    }
    // Statements are recognised only where they can be: at delimiter ';' (not inside a
    // routine, trigger or event body) and outside a comment.
    if (this.delimiter !== ';') return 0;
    const commented = this.inComment;
    this.inComment = endsInComment(line, this.inComment);
    if (commented) return 0;
    if (/^(USE\s|CREATE DATABASE\b|\/\*!\d+ CREATE DATABASE\b)/i.test(line)) {
      this.switches ??= line.slice(0, 80);
      return 0;
    }
    if (line.startsWith('CREATE TABLE `')) {
      const q = readQuotedName(line.slice(13));
      if (q) {
        if (!this.counts.has(q.name)) this.counts.set(q.name, 0);
      } else this.problem ??= 'a CREATE TABLE name was cut off';
      return 0;
    }
    if (this.delimiter === ';' && line.startsWith('INSERT INTO `')) {
      const q = readQuotedName(line.slice(12));
      const rest = q ? line.slice(12 + q.end) : '';
      const v = /^\s+VALUES\s?/.exec(rest);
      if (!q || !v) {
        this.problem ??= 'an INSERT without VALUES right after the table name (a dump with --complete-insert?)';
        return 0;
      }
      this.table = q.name;
      this.rows = 0;
      this.inString = false;
      this.carry = 0;
      this.state = State.Values;
      return Buffer.byteLength(line.slice(0, 12 + q.end + v[0].length), 'utf8');
    }
    return 0;
  }

  /**
   * The VALUES part of an INSERT: returns where scanning stopped (after the statement's `;`,
   * or at the chunk's end). Outside strings a dump's values are literals (numbers, 0x…, NULL),
   * so every `(` there opens a row and the first `;` ends the statement. The next quote,
   * parenthesis and semicolon are found with Buffer.indexOf (memchr) rather than byte by
   * byte: this runs on every byte of the backup, and must cost little next to the dump.
   */
  private values(b: Buffer, start: number): number {
    const n = b.length;
    let i = start;
    let rows = this.rows;
    let nq = -2;
    let no = -2;
    let ns = -2;
    while (i < n) {
      if (this.inString) {
        let q = b.indexOf(QUOTE, i);
        for (;;) {
          if (q < 0) {
            // The string goes on in the next chunk: carry the backslashes it ends with.
            let k = n - 1;
            while (k >= i && b[k] === BACKSLASH) k--;
            this.carry = k < i ? this.carry + (n - i) : n - 1 - k;
            this.rows = rows;
            return n;
          }
          let k = q - 1;
          while (k >= i && b[k] === BACKSLASH) k--;
          const run = q - 1 - k + (k < i ? this.carry : 0);
          if (run % 2 === 0) break;
          q = b.indexOf(QUOTE, q + 1);
          this.carry = 0;
        }
        this.carry = 0;
        this.inString = false;
        i = q + 1;
        continue;
      }
      if (nq === -2 || (nq >= 0 && nq < i)) nq = b.indexOf(QUOTE, i);
      if (no === -2 || (no >= 0 && no < i)) no = b.indexOf(OPEN, i);
      if (ns === -2 || (ns >= 0 && ns < i)) ns = b.indexOf(SEMI, i);
      const q = nq < 0 ? n : nq;
      const o = no < 0 ? n : no;
      const sc = ns < 0 ? n : ns;
      if (o < q && o < sc) {
        rows++;
        i = o + 1;
      } else if (q < sc) {
        this.inString = true;
        this.carry = 0;
        i = q + 1;
      } else if (sc < n) {
        this.counts.set(this.table, (this.counts.get(this.table) ?? 0) + rows);
        this.state = State.SkipLine;
        this.rows = 0;
        return sc + 1;
      } else i = n;
    }
    this.rows = rows;
    return i;
  }

  /** A database switch seen so far (checked after each chunk, before the chunk is passed on). */
  peekSwitch(): string | undefined {
    return this.switches;
  }

  end(): ScanResult {
    if (this.headLen) {
      const line = Buffer.concat(this.head).toString('utf8');
      this.head = [];
      this.headLen = 0;
      this.lineHead(line);
    }
    if (this.state === State.Values) this.problem ??= `the dump ended inside the INSERT of table ${this.table}`;
    const rowCounts: Record<string, number> = {};
    for (const [k, v] of this.counts) rowCounts[k] = v;
    return {
      rowCounts,
      complete: this.markerSeen && this.afterMarker,
      ...(this.problem ? { problem: this.problem } : {}),
      ...(this.switches ? { switchesDatabase: this.switches } : {}),
      bytes: this.bytes,
    };
  }
}

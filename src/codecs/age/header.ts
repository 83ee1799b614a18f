/**
 * The textual age header (age-encryption.org/v1):
 *
 *     age-encryption.org/v1
 *     -> X25519 <base64 share>
 *     <base64 body, 64 columns per line, ending with a line shorter than 64>
 *     --- <base64 HMAC-SHA-256 over everything up to and including "---">
 *
 * Parsing is strict, as the spec and the reference implementations are: LF line endings only,
 * arguments of printable ASCII, canonical unpadded base64, and a short final body line. A
 * header that doesn't parse is damage (or not an age file), never a reason to guess.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { IntegrityError } from '../../shared/errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { hkdf } from './crypto.js';

export const VERSION_LINE = 'age-encryption.org/v1';
const COLUMNS = 64;
const MAC_SIZE = 32;
const ARGUMENT = /^[\x21-\x7e]+$/;

export interface Stanza {
  args: string[];
  body: Buffer;
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The bytes the MAC covers: from the version line through the "---" of the MAC line. */
  macInput: Buffer;
  mac: Buffer;
}

function headerError(detail: string): IntegrityError {
  return new IntegrityError(
    `the age header is malformed: ${detail}`,
    'The file is damaged or was not written by an age implementation; restore from another copy or backup.',
  );
}

function encodeStanza(stanza: Stanza): string {
  let text = `-> ${stanza.args.join(' ')}\n`;
  const body = encodeBase64(stanza.body);
  for (let i = 0; i < body.length; i += COLUMNS) text += `${body.slice(i, i + COLUMNS)}\n`;
  // A body always ends with a line shorter than 64 columns, empty if need be.
  if (body.length % COLUMNS === 0) text += '\n';
  return text;
}

function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  return createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(macInput).digest();
}

export function encodeHeader(stanzas: Stanza[], fileKey: Uint8Array): Buffer {
  const macInput = Buffer.from(`${VERSION_LINE}\n${stanzas.map(encodeStanza).join('')}---`, 'latin1');
  return Buffer.concat([macInput, Buffer.from(` ${encodeBase64(headerMac(fileKey, macInput))}\n`, 'latin1')]);
}

export function verifyHeaderMac(header: ParsedHeader, fileKey: Uint8Array): boolean {
  return timingSafeEqual(headerMac(fileKey, header.macInput), header.mac);
}

/**
 * Finds the end of a header arriving in pieces. The MAC line is the first line starting with
 * "---": body lines are base64 and argument lines start with "-> ", so neither can be
 * mistaken for it. Scanning resumes where the last piece ended, so headers cost linear time.
 */
export class HeaderEndScanner {
  private scanned = 0;
  private macLineStart = -1;

  /** The offset just past the MAC line's newline in `data` (all bytes so far), or -1 if not there yet. */
  scan(data: Buffer): number {
    if (this.macLineStart < 0) {
      const at = data.indexOf('\n---', Math.max(0, this.scanned - 3), 'latin1');
      this.scanned = data.length;
      if (at < 0) return -1;
      this.macLineStart = at + 1;
    }
    const eol = data.indexOf(0x0a, this.macLineStart);
    return eol < 0 ? -1 : eol + 1;
  }
}

/** Parses a complete header (as delimited by HeaderEndScanner). Throws IntegrityError when malformed. */
export function parseHeader(header: Buffer): ParsedHeader {
  // latin1 maps each byte to one char, so non-ASCII bytes survive to fail the checks below.
  const lines = header.toString('latin1').split('\n');
  lines.pop(); // the header ends with '\n', leaving one empty element
  if (lines[0] !== VERSION_LINE) throw headerError('unsupported version line');
  const stanzas: Stanza[] = [];
  let i = 1;
  for (;;) {
    const line = lines[i];
    if (line === undefined) throw headerError('missing MAC line');
    if (line.startsWith('---')) break;
    if (!line.startsWith('-> ')) throw headerError(`line ${i + 1} is neither a stanza nor the MAC line`);
    const args = line.slice(3).split(' ');
    if (!args.every((arg) => ARGUMENT.test(arg))) {
      throw headerError(`stanza on line ${i + 1} has an empty or non-printable argument`);
    }
    i += 1;
    const body: Buffer[] = [];
    for (;;) {
      const bodyLine = lines[i];
      if (bodyLine === undefined || bodyLine.startsWith('---')) {
        throw headerError(`stanza on line ${i} is missing its final (short) body line`);
      }
      const bytes = bodyLine.length <= COLUMNS ? decodeBase64(bodyLine) : null;
      if (bytes === null) throw headerError(`line ${i + 1} is not a canonical base64 body line`);
      body.push(bytes);
      i += 1;
      if (bodyLine.length < COLUMNS) break;
    }
    stanzas.push({ args, body: Buffer.concat(body) });
  }
  const macLine = lines[i]!;
  if (i !== lines.length - 1) throw headerError('data after the MAC line');
  const mac = macLine.startsWith('--- ') ? decodeBase64(macLine.slice(4)) : null;
  if (mac === null || mac.length !== MAC_SIZE) throw headerError('the MAC line is invalid');
  if (stanzas.length === 0) throw headerError('no recipient stanzas');
  const macInput = header.subarray(0, header.length - macLine.length - 1 + 3);
  return { stanzas, macInput, mac };
}

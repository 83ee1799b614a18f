/**
 * User data (file names, object keys, a tool's stderr) printed in a log line can hold control
 * characters: a file named `x\n::error::y` would otherwise start a GitHub Actions workflow
 * command, and `\x1b[…` would repaint a terminal. `printable` escapes every C0/C1 control
 * character (and DEL) the way JSON does, so the text stays readable and unambiguous.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The runner also reads the legacy form `##[error]…` anywhere in a line, not only at its start. */
const LEGACY_COMMAND = /##\[/g;
const LEGACY_ESCAPED = '#\\u0023[';

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(LEGACY_COMMAND, LEGACY_ESCAPED);
}

/** True when the text holds a character `printable` would escape. */
export function hasControl(text: string): boolean {
  CONTROL.lastIndex = 0;
  const found = CONTROL.test(text);
  CONTROL.lastIndex = 0;
  return found;
}

/**
 * A message as a log may show it: the line breaks it uses between its own lines are kept, a
 * tab is indentation (psql's `\tIs the server running…` continuation lines) and prints as two
 * spaces, every other control character is escaped, and no line can hold a GitHub Actions workflow
 * command (`::error::…` at the start, also indented; `##[error]` anywhere), whatever user data
 * slipped into it unescaped.
 */
export function logText(message: string): string {
  return message
    .split('\n')
    .map((line) => printable(line.replaceAll('\t', '  ')).replace(/^(\s*)::/, '$1\\u003a:'))
    .join('\n');
}

/** A word for a command line we print for the user to paste: as it is when safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w/.:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

import { describe, expect, it } from 'vitest';
import { hasControl, printable, shellWord } from '../../src/shared/text.js';

describe('printable', () => {
  it('turns a forged workflow command in a file name into one visible line', () => {
    const out = printable('x\n::error::y');
    expect(out).toBe('x\\n::error::y');
    expect(out.split('\n')).toHaveLength(1);
  });
  it('escapes the legacy workflow command form `##[` anywhere in the text', () => {
    expect(printable('a##[error]x')).toBe('a#\\u0023[error]x');
    expect(printable('##[warning]x ###[group]y')).toBe('#\\u0023[warning]x ##\\u0023[group]y');
    expect(printable('a##b #[c] # [d]')).toBe('a##b #[c] # [d]');
  });
  it('escapes terminal escapes, carriage returns and C1 controls', () => {
    expect(printable('a\x1b[2Jb\rc\u0085d\u2028')).toBe('a\\u001b[2Jb\\rc\\u0085d\\u2028');
  });
  it('leaves ordinary text, including non-ASCII, alone', () => {
    expect(printable('rapport é 日本.txt')).toBe('rapport é 日本.txt');
    expect(hasControl('rapport é.txt')).toBe(false);
    expect(hasControl('a\tb')).toBe(true);
  });
});

describe('log lines (reporters)', () => {
  it('the console reporter escapes control characters but keeps the line breaks a message uses, and no line starts a workflow command', async () => {
    const { ConsoleReporter } = await import('../../src/shared/reporter.js');
    const lines: string[] = [];
    const r = new ConsoleReporter({ write: (l) => lines.push(l) });
    r.warning('skipping "a\u001b[2Jb\tc"\n::error::forged');
    expect(lines).toEqual(['warning: skipping "a\\u001b[2Jb  c"\n\\u003a:error::forged']);
  });
  it('a tab in a multi-line server error prints as indentation, not as a literal \\t', async () => {
    const { logText } = await import('../../src/shared/text.js');
    expect(logText('connection refused\n\tIs the server running?')).toBe('connection refused\n  Is the server running?');
    expect(logText('a\u0007b')).toBe('a\\u0007b');
  });
  it('no line holds the legacy `##[cmd]` form, at its start or inside it', async () => {
    const { logText } = await import('../../src/shared/text.js');
    expect(logText('skipping "a##[error]x"\n##[group]forged')).toBe('skipping "a#\\u0023[error]x"\n#\\u0023[group]forged');
  });
});

describe('shellWord', () => {
  it('leaves a safe word as it is and single-quotes anything else, so a printed command pastes as shown', () => {
    expect(shellWord('/var/backups/strongbox')).toBe('/var/backups/strongbox');
    expect(shellWord('postgres://u@h:5432/db')).toBe('postgres://u@h:5432/db');
    expect(shellWord("s3://b/p?endpoint=http://h:9&credentials=R2")).toBe("'s3://b/p?endpoint=http://h:9&credentials=R2'");
    expect(shellWord("/mnt/it's here")).toBe("'/mnt/it'\\''s here'");
  });
});

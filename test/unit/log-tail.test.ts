import { describe, expect, it } from 'vitest';
import { LogTail } from '../../src/notify/log-tail.js';
import { ConsoleReporter } from '../../src/shared/reporter.js';

describe('the log tail a notification reads', () => {
  it('outside a terminal (timestamped lines) still finds the error a command printed, masked and without the stamp', () => {
    const tail = new LogTail();
    const printed: string[] = [];
    const reporter = new ConsoleReporter({ timestamps: true, now: () => new Date('2026-12-01T02:00:00Z'), write: (l) => printed.push(l), onLine: (l) => tail.add(l) });
    reporter.setSecret('hunter2-secret');
    reporter.info('copying');
    reporter.error('prune of /srv/nas failed: hunter2-secret refused');
    expect(printed).toEqual(['2026-12-01T02:00:00Z copying', '2026-12-01T02:00:00Z error: prune of /srv/nas failed: *** refused']);
    expect(tail.lastError()).toBe('prune of /srv/nas failed: *** refused');
    expect(tail.get()).toEqual(['copying', 'error: prune of /srv/nas failed: *** refused']);
  });

  it('keeps the last lines only, each cut at 500 characters', () => {
    const tail = new LogTail(3);
    for (let i = 0; i < 5; i++) tail.add(`line ${i}`);
    tail.add('x'.repeat(600));
    expect(tail.get()).toEqual(['line 3', 'line 4', `${'x'.repeat(500)}…`]);
  });
});

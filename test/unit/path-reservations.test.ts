import { describe, expect, it } from 'vitest';
import { PathReservations } from '../../src/sources/files/path-reservations.js';

/** A handler that records when it starts and finishes only when told. */
function entry(log: string[], name: string) {
  let finish!: () => void;
  const fn = (done: () => void) => {
    log.push(`start ${name}`);
    finish = () => {
      log.push(`end ${name}`);
      done();
    };
  };
  return { fn, end: () => finish() };
}

describe('PathReservations (the extractor lets entries on different paths run at once)', () => {
  it('runs entries on different files of one folder at once', () => {
    const r = new PathReservations();
    const log: string[] = [];
    const a = entry(log, 'a');
    const b = entry(log, 'b');
    expect(r.reserve(['d/a'], a.fn)).toBe(true);
    expect(r.reserve(['d/b'], b.fn)).toBe(true);
    expect(log).toEqual(['start a', 'start b']);
    a.end();
    b.end();
    expect(r.pending).toBe(0);
  });

  it('runs two entries for the same path one after the other, in archive order', () => {
    const r = new PathReservations();
    const log: string[] = [];
    const first = entry(log, 'first');
    const second = entry(log, 'second');
    r.reserve(['d/x'], first.fn);
    expect(r.reserve(['./d/x/'], second.fn)).toBe(false); // the same path, spelled differently
    expect(log).toEqual(['start first']);
    first.end();
    expect(log).toEqual(['start first', 'end first', 'start second']);
    second.end();
    expect(r.pending).toBe(0);
  });

  it('makes a folder entry wait for the files being written below it, and the later ones wait for it', () => {
    const r = new PathReservations();
    const log: string[] = [];
    const file = entry(log, 'file');
    const dir = entry(log, 'dir');
    const later = entry(log, 'later');
    r.reserve(['d/f'], file.fn);
    r.reserve(['d'], dir.fn);
    r.reserve(['d/g'], later.fn);
    expect(log).toEqual(['start file']);
    file.end();
    expect(log.slice(-1)).toEqual(['start dir']);
    dir.end();
    expect(log.slice(-1)).toEqual(['start later']);
    later.end();
    expect(r.pending).toBe(0);
  });

  it('makes a hard link wait for its target, and names differing only in case wait for each other', () => {
    const r = new PathReservations();
    const log: string[] = [];
    const target = entry(log, 'target');
    const link = entry(log, 'link');
    const upper = entry(log, 'upper');
    r.reserve(['a/file'], target.fn);
    r.reserve(['b/link', 'a/file'], link.fn);
    r.reserve(['A/FILE'], upper.fn);
    expect(log).toEqual(['start target']);
    target.end();
    expect(log.slice(-1)).toEqual(['start link']);
    link.end();
    expect(log.slice(-1)).toEqual(['start upper']);
    upper.end();
    expect(r.pending).toBe(0);
  });

  it('forgets every finished entry: nothing is held after 50,000 of them (node-tar kept each one)', () => {
    const r = new PathReservations();
    for (let i = 0; i < 50_000; i++) r.reserve([`d${i % 100}/f${i}`], (done) => done());
    expect(r.pending).toBe(0);
    expect((r as unknown as { queues: Map<string, unknown> }).queues.size).toBe(0);
  });

  it('ignores a second done() of the same entry', () => {
    const r = new PathReservations();
    const log: string[] = [];
    let doneTwice!: () => void;
    r.reserve(['x'], (done) => (doneTwice = done));
    const next = entry(log, 'next');
    const after = entry(log, 'after');
    r.reserve(['x'], next.fn);
    r.reserve(['x'], after.fn);
    doneTwice();
    doneTwice();
    expect(log).toEqual(['start next']);
  });
});

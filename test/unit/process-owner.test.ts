import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Reporter } from '../../src/shared/reporter.js';
import { clearLeftovers, stagingPrefix } from '../../src/sources/files/target.js';
import { currentOwner, ownerIsGone, statStartTime, systemProbe, type OwnerProbe } from '../../src/shared/process-owner.js';

const work = mkdtempSync(join(tmpdir(), 'strongbox-owner-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function probe(over: Partial<OwnerProbe> & { boot?: string } = {}): OwnerProbe {
  return {
    host: () => 'box-1',
    bootId: () => over.boot ?? 'boot-a',
    pidNamespace: () => 'pid:[4026531836]',
    isAlive: () => false,
    startTime: () => '1000',
    ...over,
  };
}

function recorder(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => void lines.push(m);
  return { lines, debug: push, info: push, warning: (m) => void lines.push(`warning: ${m}`), error: push, setSecret: () => {} };
}

describe('process owner', () => {
  it('reads the start time after the command name, even one with spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[22 - 3] = '123456';
    expect(statStartTime(`4242 (evil) name (x) ${fields.join(' ')}`)).toBe('123456');
    expect(statStartTime(undefined)).toBeUndefined();
    // This process on this machine: the real reader finds a start time.
    expect(systemProbe.startTime(process.pid)).toMatch(/^\d+$/);
  });

  it('is gone only on the same host, boot and pid namespace, with the process gone or started at another time', () => {
    const me = currentOwner(probe());
    const other = { ...me, pid: 4242, startTime: '1000' };
    expect(ownerIsGone(other, probe())).toBe(true);
    expect(ownerIsGone(other, probe({ boot: 'boot-b' }))).toBe(false); // same host name, another machine
    expect(ownerIsGone(other, probe({ host: () => 'box-2' }))).toBe(false);
    expect(ownerIsGone(other, probe({ pidNamespace: () => 'pid:[1]' }))).toBe(false);
    expect(ownerIsGone(other, probe({ isAlive: () => true }))).toBe(false);
    expect(ownerIsGone(other, probe({ isAlive: () => true, startTime: () => '2000' }))).toBe(true); // pid reused
    expect(ownerIsGone({ host: 'box-1', pid: 4242, pidNamespace: 'pid:[4026531836]' }, probe())).toBe(false); // no boot id recorded
    // Our own pid, recorded by an earlier process that had it; never our own lock.
    expect(ownerIsGone({ ...me, startTime: '999' }, probe({ isAlive: () => true }))).toBe(true);
    expect(ownerIsGone(me, probe({ isAlive: () => true }))).toBe(false);
    expect(ownerIsGone({ ...me, startTime: undefined }, probe({ isAlive: () => true }))).toBe(false);
  });
});

describe('staging folders of interrupted restores', () => {
  function layout(name: string) {
    const parent = join(work, name);
    mkdirSync(parent);
    return { parent, target: join(parent, 'restored') };
  }

  it('removes one whose restore on this machine is gone, keeps one of another machine with the same host name', async () => {
    const { target } = layout('gone');
    // Folders named as a restore with pid 4242 would name them, here and on a cloned machine.
    const mine = `${stagingPrefix(target, probe()).replace(`-${process.pid}-1000-`, '-4242-1000-')}abc123`;
    const clone = `${stagingPrefix(target, probe({ boot: 'boot-b' })).replace(`-${process.pid}-1000-`, '-4242-1000-')}abc123`;
    mkdirSync(mine);
    mkdirSync(clone);
    const r = recorder();
    await clearLeftovers(target, r, probe());
    expect(existsSync(mine)).toBe(false);
    expect(existsSync(clone)).toBe(true);
    expect(r.lines.find((l) => l.startsWith('warning:'))).toContain(`${clone} is the staging folder of a restore of ${target} from another host`);
  });

  it('keeps one whose restore is still running, and an old-format one (warned)', async () => {
    const { target } = layout('alive');
    const running = `${stagingPrefix(target, probe()).replace(`-${process.pid}-1000-`, '-4242-1000-')}abc123`;
    const old = `${target}.strongbox-staging-4242-0a1b2c3d-abc123`;
    mkdirSync(running);
    mkdirSync(old);
    const r = recorder();
    await clearLeftovers(target, r, probe({ isAlive: () => true }));
    expect(existsSync(running)).toBe(true);
    expect(existsSync(old)).toBe(true);
    expect(r.lines.filter((l) => l.startsWith('warning:'))).toEqual([expect.stringContaining(`${old} is the staging folder of a restore`)]);
  });
});

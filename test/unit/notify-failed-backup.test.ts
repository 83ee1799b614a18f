import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/codecs/age/index.js';
import { backup, type BackupOptions } from '../../src/core/backup.js';
import type { Destination } from '../../src/destinations/types.js';
import type { Notifier } from '../../src/notify/channel.js';
import type { RunEvent } from '../../src/notify/event.js';
import { DEFAULT_DELIVERY } from '../../src/notify/deliver.js';
import { monitored, type MonitorSettings } from '../../src/notify/monitor.js';
import { failedBackupOutcome } from '../../src/report/outcome.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { FaultDestination } from '../helpers/fault-destination.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/**
 * A failed backup's notification says which backup it was to be and where: the planned id
 * (the one "Backup <id> → …" printed), its labels, its series once the sources were checked,
 * and each destination failed or not committed.
 */
let work: string;
let tree: string;
const key = generateIdentity();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'strongbox-failed-event-'));
  tree = join(work, 'tree');
  mkdirSync(tree);
  writeFileSync(join(tree, 'a.txt'), 'alpha\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function options(dests: Destination[], extra: Partial<BackupOptions> = {}): BackupOptions {
  return {
    destinations: dests,
    sources: [{ kind: 'files', location: tree }],
    encryption: { recipients: [key.recipient] },
    compression: { algorithm: 'gzip' },
    labels: ['nightly'],
    origin: { host: 'test' },
    reporter: silentReporter,
    lock: { waitMs: 0 },
    init: true,
    ...extra,
  };
}

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('the backup succeeded');
}

describe('the event of a failed backup', () => {
  it('a failure after the id was assigned carries that id, the labels, the series and every destination as failed', async () => {
    const a = new FaultDestination(new MemoryDestination(), { failPut: (k) => k.endsWith('/manifest.json') });
    const err = await thrown(backup(options([a])));
    const o = failedBackupOutcome(err)!;
    expect(o.backupId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect((err as Error).message).toContain(o.backupId);
    expect(o).toMatchObject({ labels: ['nightly'], series: 'files-tree' });
    expect(o.destinations).toEqual([{ location: a.display, status: 'failed', error: expect.stringContaining('writing the manifest') }]);
  });

  it('a source that fails its check (before any id): labels, and each destination not committed; no id, no series', async () => {
    const mem = new MemoryDestination();
    const err = await thrown(backup(options([mem], { sources: [{ kind: 'files', location: join(work, 'missing') }] })));
    expect(failedBackupOutcome(err)).toEqual({ labels: ['nightly'], destinations: [{ location: mem.display, status: 'not committed' }] });
    expect(failedBackupOutcome(new Error('not from backup()'))).toBeUndefined();
  });

  it('monitored() puts what the error carries into the event it sends (the actions\' path)', async () => {
    const sent: RunEvent[] = [];
    const channel: Notifier = { display: 'test', send: async (e) => void sent.push(e) };
    const settings: MonitorSettings = { channels: [channel], on: 'failure', delivery: DEFAULT_DELIVERY, host: 'h' };
    const dest = new FaultDestination(new MemoryDestination(), { failPut: (k) => k.endsWith('/manifest.json') });
    await expect(monitored('backup', settings, { reporter: silentReporter, mask: (s) => s, outcomeOf: failedBackupOutcome }, () => backup(options([dest])).then(() => ({ exitCode: 0 })))).rejects.toThrow(/writing the manifest/);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ status: 'failure', labels: ['nightly'], series: 'files-tree', destinations: [{ status: 'failed' }] });
    expect(sent[0]!.backupId).toMatch(/^\d{8}T/);
  });
});

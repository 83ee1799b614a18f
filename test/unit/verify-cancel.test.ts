import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/core/backup.js';
import { assertRepository } from '../../src/core/repository.js';
import { silentReporter } from '../../src/shared/reporter.js';
import { verify } from '../../src/core/verify.js';
import { cancel, cancellation } from '../../src/shared/cancel.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

const work = mkdtempSync(join(tmpdir(), 'strongbox-verify-cancel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A store whose first artifact read is interrupted by Ctrl-C. */
class CancelOnRead extends MemoryDestination {
  armed = false;
  override async get(key: string): Promise<Readable> {
    if (this.armed && !key.endsWith('manifest.json') && !key.endsWith('strongbox.json')) cancel('SIGINT');
    return super.get(key);
  }
}

describe('trial item 17: messages say what they are about', () => {
  it('the cancellation line of a verify names the backup id once it is chosen, not "latest"', async () => {
    const tree = join(work, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'a.txt'), 'alpha\n');
    const mem = new CancelOnRead();
    const b = await backup({ destinations: [mem], sources: [{ kind: 'files', location: tree }], compression: { algorithm: 'gzip' }, labels: [], origin: { host: 'test' }, reporter: silentReporter, init: true, lock: { waitMs: 0 } });
    mem.armed = true;
    await verify({ destination: mem, selector: 'latest', deep: false, reporter: silentReporter, lock: { waitMs: 0 } }).catch(() => undefined);
    expect(cancellation()?.activity?.what).toBe(`verify of ${b.id} at memory://test`);
  });

  it('the hint for a missing S3 repository names --endpoint/--preset for non-AWS stores', async () => {
    const s3like = Object.assign(new MemoryDestination(), { display: 's3://bucket/app' });
    const err = await assertRepository(s3like).catch((e: unknown) => e as { hint?: string; exitCode?: number });
    expect(err?.exitCode).toBe(4);
    expect(err?.hint).toContain('strongbox init --to s3://bucket/app` plus the same --endpoint/--preset/--region');
  });
});

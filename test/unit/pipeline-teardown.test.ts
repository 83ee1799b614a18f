import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openPlaintext } from '../../src/core/artifact-reader.js';
import { writeArtifact } from '../../src/core/artifact-writer.js';
import { silentReporter } from '../../src/shared/reporter.js';
import type { Destination } from '../../src/destinations/types.js';
import { childrenOf, isRunning, waitFor } from '../helpers/cli-process.js';
import { MemoryDestination } from '../helpers/memory-destination.js';

/** A stage refusing its options while a pipeline is built leaves nothing running behind it. */
describe('#2 early pipeline errors tear down what was already started', () => {
  it('backup: the encryption stage throwing after zstd was spawned kills zstd and stops the dump', async () => {
    const before = new Set(childrenOf(process.pid).map((p) => p.pid));
    const dump = new PassThrough();
    let dumpStopped = false;
    const completed = new Promise<void>((_resolve, reject) => dump.on('close', () => ((dumpStopped = true), reject(new Error('stopped')))));
    const mem = new MemoryDestination();
    const write = writeArtifact(
      { name: 'files-x', kind: 'files', extension: '.tar', open: () => ({ stream: dump, completed, details: {} }) },
      {
        backupId: '20261201T000000Z-abcdef',
        destinations: [mem],
        drop: (_dest, err) => {
          throw err;
        },
        compression: { algorithm: 'zstd' },
        encryption: { passphrase: ' '.repeat(16) },
        confirm: 'size',
        reporter: silentReporter,
      },
    );
    // The compressor (a zstd child) is built before the encryptor: that is what was left behind.
    await expect(write).rejects.toThrow(/the encryption passphrase is empty/);
    const zstd = () => childrenOf(process.pid).filter((p) => p.comm === 'zstd' && !before.has(p.pid) && isRunning(p.pid));
    const left = await waitFor(() => zstd().length === 0, 'zstd to be gone', 2_000).then(() => [], () => zstd());
    for (const p of left) process.kill(p.pid, 'SIGKILL');
    expect(left).toEqual([]);
    expect(dumpStopped).toBe(true);
    expect([...mem.objects.keys()]).toEqual([]);
  });

  it('restore: the decryption stage refusing its key closes the download it was given', async () => {
    const download = Readable.from([Buffer.from('age file')]);
    const dest = { display: 'mem://x', get: async () => download } as unknown as Destination;
    const artifact = {
      name: 'files-x', kind: 'files' as const, key: 'files-x.tar.zst.age', source: {},
      compression: { algorithm: 'zstd' as const }, encryption: { scheme: 'age' as const },
      plaintext: { size: 1, sha256: '0'.repeat(64) }, stored: { size: 8, sha256: '0'.repeat(64) },
    };
    await expect(openPlaintext(dest, '20261201T000000Z-abcdef', artifact, { passphrase: '   ' })).rejects.toThrow(/passphrase is empty/);
    expect(download.destroyed).toBe(true);
  });
});

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDestination, TEMP_PREFIX } from '../../src/destinations/local.js';

const MODULE = fileURLToPath(new URL('../../src/destinations/local.ts', import.meta.url));
const MiB = 1024 * 1024;
let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'strongbox-local-itg-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs `body` (ESM, with `dest` = LocalDestination(root) in scope) in a separate Node process. */
function runChild(body: string) {
  const script = `const { LocalDestination } = await import(${JSON.stringify(MODULE)});\nconst dest = new LocalDestination(${JSON.stringify(root)});\n${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, out, err })),
  );
  return { child, exited };
}

async function tempFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => path.basename(e).startsWith(TEMP_PREFIX));
}

/** `count` chunks of 1 MiB, generated on demand, with their SHA-256. */
function generated(count: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let i = 0;
  const stream = new Readable({
    read() {
      if (i === count) return this.push(null);
      const chunk = Buffer.alloc(MiB, i++ % 251);
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

describe('LocalDestination in real processes', () => {
  it('leaves no object after kill -9 mid-upload, and the next run writes the key', async () => {
    const { child, exited } = runChild(`
      const { Readable } = await import('node:stream');
      const source = new Readable({ read() { this.push(Buffer.alloc(1024 * 1024, 7)); } });
      await dest.put('b1/db.dump', source);
    `);
    // Wait until the child has streamed a good part of a file, then kill it without warning.
    let written = 0;
    for (let i = 0; i < 600 && written < 16 * MiB; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const temps = await tempFiles(root);
      if (temps.length) written = (await stat(path.join(root, temps[0]!))).size;
    }
    expect(written).toBeGreaterThanOrEqual(16 * MiB);
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');

    const dest = new LocalDestination(root);
    expect(await dest.stat('b1/db.dump')).toBeUndefined();
    const listed = [];
    for await (const o of dest.list('')) listed.push(o.key);
    expect(listed).toEqual([]); // the killed run's temp file is there, but never listed
    expect(await tempFiles(root)).toHaveLength(1);

    await dest.put('b1/db.dump', Readable.from([Buffer.from('complete')]));
    for await (const o of dest.list('')) listed.push(o.key);
    expect(listed).toEqual(['b1/db.dump']);
  });

  it('gives a lock object to exactly one of several processes', async () => {
    const runs = Array.from({ length: 4 }, (_, i) =>
      runChild(`process.stdout.write(String(await dest.putBytesIfAbsent('locks/exclusive.json', Buffer.from('owner ${i}'))));`),
    );
    const results = await Promise.all(runs.map((r) => r.exited));
    expect(results.map((r) => r.err).join('')).toBe('');
    expect(results.map((r) => r.out).sort()).toEqual(['false', 'false', 'false', 'true']);
    const winner = results.findIndex((r) => r.out === 'true');
    const dest = new LocalDestination(root);
    expect(Buffer.from((await dest.getBytes('locks/exclusive.json'))!).toString()).toBe(`owner ${winner}`);
    expect(await tempFiles(root)).toEqual([]);
  });

  it('streams a large object through without holding it in memory', async () => {
    const dest = new LocalDestination(root);
    const size = 256;
    const { stream, digest } = generated(size);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const put = await dest.put('b1/big.dump', stream);
      // The put read the whole object back while writing it, with the same digest.
      const sent = digest();
      expect(put).toEqual({ size: size * MiB, readBack: { size: size * MiB, sha256: sent } });
      const back = createHash('sha256');
      for await (const chunk of await dest.get('b1/big.dump')) back.update(chunk as Buffer);
      expect(back.digest('hex')).toBe(sent);
    } finally {
      clearInterval(sampler);
    }
    // Buffering the object would cost ≥ 256 MiB; streaming costs a few 1 MiB buffers.
    expect(peak - before).toBeLessThan(96 * MiB);
  });
});

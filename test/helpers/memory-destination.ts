import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { NotFoundError } from '../../src/shared/errors.js';
import type { Destination, ObjectInfo } from '../../src/destinations/types.js';

/** A Destination held in a Map, for unit tests. Atomic by construction: a key appears only once its body is complete. */
export class MemoryDestination implements Destination {
  readonly objects = new Map<string, { data: Buffer; lastModified: Date }>();
  constructor(
    private readonly clock: () => Date = () => new Date(),
    readonly display = 'memory://test',
  ) {}
  async put(key: string, body: Readable): Promise<{ size: number }> {
    const data = await buffer(body);
    this.objects.set(key, { data, lastModified: this.clock() });
    return { size: data.length };
  }
  async putBytes(key: string, data: Uint8Array): Promise<void> {
    this.objects.set(key, { data: Buffer.from(data), lastModified: this.clock() });
  }
  async putBytesIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    if (this.objects.has(key)) return false;
    await this.putBytes(key, data);
    return true;
  }
  async get(key: string): Promise<Readable> {
    const o = this.objects.get(key);
    if (!o) throw new NotFoundError(`object ${key} not found in ${this.display}`);
    return Readable.from([o.data]);
  }
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key)?.data;
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(key);
    return o && { key, size: o.data.length, lastModified: o.lastModified };
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const key of [...this.objects.keys()].sort()) {
      const o = this.objects.get(key)!;
      if (key.startsWith(prefix)) yield { key, size: o.data.length, lastModified: o.lastModified };
    }
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

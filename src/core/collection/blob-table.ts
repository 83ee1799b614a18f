import type { BlobRef } from './format.js';

const ID_BYTES = 32;
const HEX_ID = /^[0-9a-f]{64}$/;

/**
 * Blob id → where the blob is, for the previous backup's refs (the fallback without a state):
 * one entry per member of that backup, so it is kept in typed arrays (~60 bytes an entry, where
 * a Map of strings and objects takes ~200): 1,000,000 members cost ~60 MB, not ~200 MB.
 * Open addressing with linear probing on the id's first 4 bytes (ids are HMAC-SHA256 values,
 * uniformly spread); the full 32 bytes are compared, so a lookup never returns another blob.
 * The first entry for an id wins, as the refs list a shared blob once per member.
 */
export class BlobTable {
  private ids: Buffer;
  private packOf: Uint32Array;
  private offsets: Float64Array;
  private lengths: Float64Array;
  /** Entry index + 1 per slot; 0 is empty. Never more than half full. */
  private slots: Uint32Array;
  private count = 0;
  private readonly packIds: string[] = [];
  private readonly packIndex = new Map<string, number>();

  constructor(capacity = 1024) {
    const n = Math.max(16, capacity);
    this.ids = Buffer.alloc(n * ID_BYTES);
    this.packOf = new Uint32Array(n);
    this.offsets = new Float64Array(n);
    this.lengths = new Float64Array(n);
    this.slots = new Uint32Array(slotCount(n));
  }

  get size(): number {
    return this.count;
  }

  /** Adds `ref` unless its id is already there; an id that is not 64 hex digits cannot be looked up and is left out. */
  set(ref: BlobRef): void {
    if (!HEX_ID.test(ref.id)) return;
    const key = Buffer.from(ref.id, 'hex');
    if (this.find(key) >= 0) return;
    if (this.count === this.packOf.length) this.grow();
    const e = this.count++;
    key.copy(this.ids, e * ID_BYTES);
    let p = this.packIndex.get(ref.pack);
    if (p === undefined) {
      p = this.packIds.push(ref.pack) - 1;
      this.packIndex.set(ref.pack, p);
    }
    this.packOf[e] = p;
    this.offsets[e] = ref.offset;
    this.lengths[e] = ref.length;
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(e);
  }

  get(id: string): BlobRef | undefined {
    if (!HEX_ID.test(id)) return undefined;
    const e = this.find(Buffer.from(id, 'hex'));
    if (e < 0) return undefined;
    return { id, pack: this.packIds[this.packOf[e]!]!, offset: this.offsets[e]!, length: this.lengths[e]! };
  }

  private find(key: Buffer): number {
    const mask = this.slots.length - 1;
    for (let s = key.readUInt32LE(0) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      const e = v - 1;
      if (this.ids.compare(key, 0, ID_BYTES, e * ID_BYTES, (e + 1) * ID_BYTES) === 0) return e;
    }
  }

  private place(e: number): void {
    const mask = this.slots.length - 1;
    let s = this.ids.readUInt32LE(e * ID_BYTES) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = e + 1;
  }

  private rehash(size: number): void {
    this.slots = new Uint32Array(size);
    for (let e = 0; e < this.count; e++) this.place(e);
  }

  private grow(): void {
    const n = this.packOf.length * 2;
    const ids = Buffer.alloc(n * ID_BYTES);
    this.ids.copy(ids);
    this.ids = ids;
    this.packOf = copyInto(new Uint32Array(n), this.packOf);
    this.offsets = copyInto(new Float64Array(n), this.offsets);
    this.lengths = copyInto(new Float64Array(n), this.lengths);
  }
}

function slotCount(entries: number): number {
  let n = 32;
  while (n < entries * 2) n *= 2;
  return n;
}

function copyInto<T extends Uint32Array | Float64Array>(to: T, from: T): T {
  to.set(from);
  return to;
}

/**
 * The blobs this run stored or referenced, for deduplication within the run, bounded: two
 * BlobTables of at most `max` entries, the older dropped when the newer fills, so between `max`
 * and 2 × `max` of the most recent ids are known (~60 bytes each) however many members there are.
 */
export class RecentBlobs {
  private older = new BlobTable(16);
  private newer = new BlobTable(16);
  constructor(private readonly max: number) {}

  get(id: string): BlobRef | undefined {
    return this.newer.get(id) ?? this.older.get(id);
  }

  set(ref: BlobRef): void {
    if (this.newer.get(ref.id)) return;
    if (this.newer.size >= this.max) {
      this.older = this.newer;
      this.newer = new BlobTable(16);
    }
    this.newer.set(ref);
  }
}

import { createHash } from 'node:crypto';
import { compressionExtension } from '../../codecs/compress.js';
import type { SourceDetails } from '../../sources/adapter.js';
import { MemberSkipped, type CollectionEntry, type CollectionReader } from '../../sources/collection.js';
import { cancelSignal } from '../../shared/cancel.js';
import { errorMessage } from '../../shared/errors.js';
import { formatBytes } from '../../shared/format.js';
import { printable } from '../../shared/text.js';
import { storeObject } from '../artifact-writer.js';
import { objectKey } from '../repository.js';
import type { ArtifactRecord } from '../types.js';
import { RecentBlobs, type BlobTable } from './blob-table.js';
import { blobHasher, type ContentKey } from './content-key.js';
import { INDEX_EXTENSION, INDEX_FORMAT, LARGE_MEMBER, REFS_EXTENSION, REFS_FORMAT, STATE_FORMAT, type BlobRef, type CollectionInfo, type IndexMember, type RefsPack, type StateHeader, type StateMember } from './format.js';
import { JsonLinesSource } from './lines.js';
import { PackWriter, writeChunk, type PackContext } from './pack-writer.js';
import { findPrevious, presentPacks, readBlobMap, type PreviousBackup } from './previous.js';
import { checkShield } from './shield.js';
import { StateWriter, openState, stateFileName, type PreviousState } from './state.js';

/** A collection to back up, as backup.ts plans it from the adapter's CollectionSupport. */
export interface CollectionPlan {
  name: string;
  kind: string;
  open(): Promise<CollectionReader>;
  /** Refuse an empty or much smaller listing (buckets) unless allowShrink. */
  shield: boolean;
  /** What identifies the source across backups (SourceAdapter.sourceIdentity), for the state's file name. */
  identity(details: SourceDetails): string;
}

export interface CollectionContext extends PackContext {
  backupId: string;
  contentKey: ContentKey;
  /** Where the state is kept (--state-dir); none: deduplicate against the repository's refs. */
  stateDir?: string;
  allowShrink?: boolean;
}

export interface CollectionWritten {
  record: ArtifactRecord & { collection: CollectionInfo };
  /** After the manifest committed: writes the state for the next run (atomically). */
  commitState(): Promise<void>;
  /** The backup failed after all: the state's temp files go, the old state stays. */
  discardState(): Promise<void>;
}

/** Distinct contents of this run remembered for deduplication: 200,000–400,000 (~60 B each). */
export const RUN_DEDUPE_ENTRIES = 200_000;
const LISTED_SKIPS = 10;

type Read =
  | { t: 'skip'; entry: CollectionEntry; reason: string }
  | { t: 'reuse'; entry: CollectionEntry; prev: IndexMember & { blob?: BlobRef } }
  | { t: 'none'; entry: CollectionEntry }
  | { t: 'small'; entry: CollectionEntry; data: Buffer; id: string; sha256: string; record?: Record<string, unknown>; prevBlob?: BlobRef }
  | { t: 'own'; entry: CollectionEntry; pack: string; size: number; id: string; sha256: string; record?: Record<string, unknown>; prevBlob?: BlobRef };

/**
 * Backs up one collection: the reader's members in its order, merge-joined with the previous
 * state (or deduplicated against the previous backup's refs without one), changed members read
 * `reader.concurrency` at once and stored into packs, then the index (encrypted, like the data)
 * and the refs (zstd, not encrypted). Every pack is confirmed before this resolves; the manifest
 * (backup.ts) is the commit point, and the state is written only after it.
 */
export async function writeCollection(plan: CollectionPlan, ctx: CollectionContext): Promise<CollectionWritten> {
  const { reporter, contentKey } = ctx;
  const reader = await plan.open();
  const live = ctx.live();
  const previous = await findPrevious(live, plan.name, plan.kind, reporter);

  // What the previous run left: its state (fingerprints), else the previous backup's refs.
  const file = stateFileName(plan.kind, plan.identity(reader.details), plan.name);
  let state: PreviousState | undefined;
  let statePresent = new Set<string>();
  if (ctx.stateDir) {
    state = await openState(ctx.stateDir, file, { kind: plan.kind, artifact: plan.name, contentKey: contentKey.id }, reporter);
    if (state) {
      statePresent = await presentPacks(state.packs, live);
      const gone = state.packs.size - statePresent.size;
      reporter.debug(`state of ${plan.name} from backup ${state.header.backupId}: ${state.packs.size} pack(s)${gone ? `, ${gone} not present at every destination (their members are read again)` : ''}`);
    }
  }
  let fallback: { blobs: BlobTable; packs: Map<string, RefsPack>; present: Set<string> } | undefined;
  if (!state && previous && previous.record.collection.contentKey === contentKey.id) {
    try {
      const m = await readBlobMap(previous);
      fallback = { ...m, present: await presentPacks(m.packs, live) };
      reporter.debug(`no state for ${plan.name}: deduplicating by content against backup ${previous.id} (${m.blobs.size} blobs)`);
    } catch (err) {
      reporter.warning(`could not read the refs of backup ${previous.id} to deduplicate ${plan.name}: ${errorMessage(err)}; every member is stored again`);
    }
  }

  const stateOut = ctx.stateDir ? await StateWriter.create(ctx.stateDir, file) : undefined;
  const packs = new PackWriter(ctx);
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, cancelSignal()]);
  const storeCtx = { ...ctx, destinations: live };

  const { algorithm, level } = ctx.compression;
  const indexKey = `${plan.name}${INDEX_EXTENSION}${compressionExtension(algorithm)}${ctx.encryption ? '.age' : ''}`;
  const refsCompression = { algorithm: 'zstd' as const, level: 3 };
  const refsKey = `${plan.name}${REFS_EXTENSION}${compressionExtension('zstd')}`;
  const index = new JsonLinesSource();
  const refs = new JsonLinesSource();
  const indexStore = storeObject({ stream: index.stream }, objectKey(ctx.backupId, indexKey), storeCtx);
  const refsStore = storeObject({ stream: refs.stream }, objectKey(ctx.backupId, refsKey), { ...storeCtx, compression: refsCompression, encryption: undefined });
  indexStore.catch((e: Error) => index.fail(e));
  refsStore.catch((e: Error) => refs.fail(e));

  let bytesRead = 0;
  const shown = reporter.progress?.start({ label: `backup ${printable(plan.name)}`, done: () => bytesRead });
  const info = { members: 0, bytes: 0, newMembers: 0, newBytes: 0, reused: 0, skipped: 0 };
  const skippedNames: string[] = [];
  const used = new Map<string, RefsPack | undefined>();
  const runBlobs = new RecentBlobs(RUN_DEDUPE_ENTRIES);

  /** Reads one changed member, hashing as it goes; large ones stream into a pack of their own. */
  const readMember = async (entry: CollectionEntry, prevBlob: BlobRef | undefined): Promise<Read> => {
    let own: { id: string; input: NodeJS.WritableStream & import('node:stream').Writable } | undefined;
    try {
      const content = await reader.open(entry, signal);
      const hmac = blobHasher(contentKey);
      const sha = createHash('sha256');
      let chunks: Buffer[] = [];
      let size = 0;
      if (entry.size >= LARGE_MEMBER) own = packs.startOwn();
      for await (const chunk of content.stream as AsyncIterable<Buffer>) {
        hmac.update(chunk);
        sha.update(chunk);
        size += chunk.length;
        bytesRead += chunk.length;
        if (own) await writeChunk(own.input, chunk);
        else {
          chunks.push(chunk);
          if (size >= LARGE_MEMBER) {
            own = packs.startOwn();
            for (const c of chunks) await writeChunk(own.input, c);
            chunks = [];
          }
        }
      }
      const id = hmac.digest('hex');
      const sha256 = sha.digest('hex');
      const record = content.record;
      if (own) {
        own.input.end();
        return { t: 'own', entry, pack: own.id, size, id, sha256, ...(record ? { record } : {}), ...(prevBlob ? { prevBlob } : {}) };
      }
      return { t: 'small', entry, data: Buffer.concat(chunks), id, sha256, ...(record ? { record } : {}), ...(prevBlob ? { prevBlob } : {}) };
    } catch (err) {
      if (own) {
        // What was written is a pack nobody refers to: finish and delete it (not fail it, which would fail the backup).
        own.input.end();
        void packs.discard(own.id);
      }
      if (err instanceof MemberSkipped) return { t: 'skip', entry, reason: err.reason };
      throw err;
    }
  };

  const known = (id: string, prevBlob: BlobRef | undefined): BlobRef | undefined => {
    if (prevBlob?.id === id) return prevBlob;
    const run = runBlobs.get(id);
    if (run) return run;
    const fb = fallback?.blobs.get(id);
    if (fb && fallback!.present.has(fb.pack)) {
      if (!used.has(fb.pack)) used.set(fb.pack, fallback!.packs.get(fb.pack));
      return fb;
    }
    return undefined;
  };
  const packOf = (pack: string) => state?.packs.get(pack) ?? fallback?.packs.get(pack);

  /** Writes one member's lines, in the reader's order. */
  const consume = async (r: Read): Promise<void> => {
    const e = r.entry;
    if (r.t === 'skip') {
      info.skipped++;
      if (skippedNames.length < LISTED_SKIPS) skippedNames.push(`${printable(e.name)} (${printable(r.reason)})`);
      return;
    }
    let member: IndexMember;
    if (r.t === 'none') member = { name: e.name, size: 0, ...e.record };
    else if (r.t === 'reuse') {
      const blob = r.prev.blob;
      member = { name: e.name, size: r.prev.size, ...(r.prev.sha256 ? { sha256: r.prev.sha256 } : {}), ...(blob ? { blob } : {}), ...e.record };
      for (const [k, v] of Object.entries(r.prev)) if (!(k in member)) member[k] = v; // fields known only once read (content type)
      if (blob) {
        if (!used.has(blob.pack)) used.set(blob.pack, packOf(blob.pack));
        runBlobs.set(blob);
      }
      info.reused++;
    } else {
      const size = r.t === 'small' ? r.data.length : r.size;
      let blob = known(r.id, r.prevBlob);
      if (blob) {
        if (r.t === 'own') await packs.discard(r.pack);
        if (!used.has(blob.pack)) used.set(blob.pack, packOf(blob.pack));
        info.reused++;
      } else {
        if (r.t === 'small') {
          const at = await packs.append(r.data);
          blob = { id: r.id, pack: at.pack, offset: at.offset, length: size };
        } else blob = { id: r.id, pack: r.pack, offset: 0, length: size };
        if (!used.has(blob.pack)) used.set(blob.pack, undefined);
        runBlobs.set(blob);
        info.newMembers++;
        info.newBytes += size;
      }
      member = { name: e.name, size, sha256: r.sha256, blob, ...e.record, ...r.record };
    }
    info.members++;
    info.bytes += member.size;
    await index.write(member);
    if (member.blob) await refs.write({ t: 'blob', ...member.blob });
    const line: StateMember = { t: 'member', ...(e.fingerprint !== undefined ? { fp: e.fingerprint } : {}), m: member };
    await stateOut?.add(line);
  };

  const queue: Promise<Read>[] = [];
  let reading = 0;
  const concurrency = Math.max(1, reader.concurrency);
  try {
    await index.write({ format: INDEX_FORMAT, kind: plan.kind, artifact: plan.name, ...(reader.root ? { root: reader.root } : {}) });
    await refs.write({ format: REFS_FORMAT, kind: plan.kind, artifact: plan.name, contentKey: contentKey.id });
    let cur = state ? await state.members.next() : undefined;
    const prevFor = async (name: string): Promise<StateMember | undefined> => {
      while (cur && !cur.done && reader.compare(cur.value.m.name, name) < 0) cur = await state!.members.next();
      return cur && !cur.done && cur.value.m.name === name ? cur.value : undefined;
    };
    for await (const entry of reader.entries()) {
      const prev = state ? await prevFor(entry.name) : undefined;
      const prevBlob = prev?.m.blob && statePresent.has(prev.m.blob.pack) ? prev.m.blob : undefined;
      let r: Promise<Read>;
      if (!entry.hasContent) r = Promise.resolve({ t: 'none', entry });
      else if (prev && entry.fingerprint !== undefined && prev.fp === entry.fingerprint && prevBlob && prev.m.size === entry.size) {
        r = Promise.resolve({ t: 'reuse', entry, prev: prev.m as IndexMember & { blob?: BlobRef } });
      } else {
        reading++;
        r = readMember(entry, prevBlob).finally(() => reading--);
      }
      r.catch(() => {}); // awaited in order below; a failure meanwhile is not unhandled
      queue.push(r);
      // Bounded: at most `concurrency` reads at once, and a bounded queue of results waiting for their turn.
      while (queue.length && (reading >= concurrency || queue.length > concurrency * 8)) await consume(await queue.shift()!);
    }
    while (queue.length) await consume(await queue.shift()!);
    await state?.close();
    index.end();
    const written = await packs.finish();
    for (const p of written) if (used.has(p.id)) used.set(p.id, p);
    const packLines: RefsPack[] = [];
    for (const [id, p] of used) {
      if (!p) throw new Error(`internal: no record of pack ${id}`);
      packLines.push(p);
      await refs.write(p);
    }
    refs.end();
    const [idx, rf] = await Promise.all([indexStore, refsStore]);
    shown?.end();

    if (plan.shield) checkShield(plan.name, info, previous ? { id: previous.id, members: previous.record.collection.members, bytes: previous.record.collection.bytes } : undefined, !!ctx.allowShrink);

    const collection: CollectionInfo = {
      ...info,
      packs: packLines.length,
      packBytes: packLines.reduce((n, p) => n + p.size, 0),
      newPacks: packLines.filter((p) => written.includes(p)).length,
      refs: { key: refsKey, compression: refsCompression, plaintext: rf.plaintext, stored: rf.stored },
      contentKey: contentKey.id,
    };
    if (info.skipped) {
      reporter.warning(`${printable(plan.name)}: ${info.skipped} member(s) skipped (they vanished or changed while read): ${skippedNames.join(', ')}${info.skipped > LISTED_SKIPS ? ', …' : ''}`);
    }
    const newStored = written.reduce((n, p) => n + p.size, 0);
    reporter.info(
      `  ${plan.name}: ${info.members} members, ${formatBytes(info.bytes)}; ${info.newMembers} new (${formatBytes(info.newBytes)} → ${formatBytes(newStored)} in ${written.length} new pack(s)), ${info.reused} reused`,
    );
    const record = {
      name: plan.name,
      kind: plan.kind,
      key: indexKey,
      source: reader.details,
      compression: level === undefined ? { algorithm } : { algorithm, level },
      encryption: { scheme: ctx.encryption ? ('age' as const) : ('none' as const) },
      plaintext: idx.plaintext,
      stored: idx.stored,
      collection,
    };
    const header: StateHeader = { format: STATE_FORMAT, backupId: ctx.backupId, artifact: plan.name, kind: plan.kind, contentKey: contentKey.id };
    return {
      record,
      commitState: async () => {
        if (!stateOut) return;
        try {
          await stateOut.commit(header, packLines);
        } catch (err) {
          reporter.warning(`could not write the state of ${plan.name} to ${printable(ctx.stateDir!)}: ${errorMessage(err)}; the next backup deduplicates against the repository instead`);
        }
      },
      discardState: async () => void (await stateOut?.discard()),
    };
  } catch (err) {
    shown?.end();
    stop.abort();
    const e = err instanceof Error ? err : new Error(String(err));
    index.fail(e);
    refs.fail(e);
    await Promise.allSettled(queue);
    await packs.abort(e);
    await Promise.allSettled([indexStore, refsStore]);
    await state?.close().catch(() => {});
    await stateOut?.discard();
    throw err;
  }
}

export type { PreviousBackup };

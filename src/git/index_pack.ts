/**
 * Indexing a received pack, as `git index-pack` does: every object's id, and the `.idx` that
 * lets it be read by id. This is where a fetch's objects are inflated, so it is where sizes are
 * enforced: an object's size is read from its entry header (for a delta, from the first bytes
 * of the delta) before it is built, inflating never produces more than the header declared, and
 * the sizes of all objects together are capped. One object is held at a time, plus the bases
 * of the delta chain being resolved. The work yields to the event loop every few
 * milliseconds, so requests are served while a large pack is indexed.
 * @module
 */

import zlib from "node:zlib";
import { decodeHex } from "../lib/bytes.ts";
import { applyDelta, DeltaError, readDeltaHeader } from "./delta.ts";
import { Inflater } from "./inflate.ts";
import {
  checkPackChecksum,
  encodeEntryHeader,
  type GitObject,
  inflateEntry,
  objectId,
  ObjectTooLargeError,
  type ObjectType,
  PackError,
  packObjectCount,
  readEntryHeader,
  sha1Hex,
  typeCode,
  wholeType,
  writePackIndex,
} from "./pack_index.ts";

/** Options for {@linkcode indexPack}. */
export interface IndexPackOptions {
  /** Largest inflated size of one object. */
  maxObjectBytes: number;
  /** Largest inflated size of all the pack's objects together. */
  maxTotalBytes: number;
  /**
   * Reads an object the cache already holds: the base of a delta in a thin pack, which is then
   * appended to the pack so that the stored pack stands alone.
   */
  readObject?: (oid: string) => Promise<GitObject | undefined>;
}

/** A pack ready to store, with its index. */
export interface IndexedPack {
  /** The pack to store: the one received, or it with the bases a thin pack left out. */
  pack: Uint8Array;
  idx: Uint8Array;
  /** The pack's checksum, which names its files. */
  checksum: string;
  /** Objects in the pack as received. */
  received: number;
  /** Every object id in the stored pack, with its type. */
  types: Map<string, ObjectType>;
}

/**
 * Checks and indexes a received pack: its checksum, every entry's size against the caps before
 * it is inflated, every delta resolved (from the pack, or from the cache for a thin pack), and
 * every object's id.
 */
export async function indexPack(pack: Uint8Array, options: IndexPackOptions): Promise<IndexedPack> {
  const indexing = new Indexing(pack, options);
  await indexing.scan();
  await indexing.resolveFromPack();
  const appended = await indexing.resolveFromCache(options.readObject);
  return indexing.result(appended);
}

interface Entry {
  start: number;
  end: number;
  type: number;
  size: number;
  dataStart: number;
  baseOffset?: number;
  baseOid?: string;
  crc: number;
  oid?: string;
  objectType?: ObjectType;
}

/** A base from outside the pack: no offset, so no children by offset. */
const NO_ENTRY: Entry = { start: -1, end: -1, type: 0, size: 0, dataStart: -1, crc: 0 };

/** The state of one indexing, step by step (see {@linkcode indexPack}). */
class Indexing {
  readonly #pack: Uint8Array;
  readonly #end: number;
  readonly #count: number;
  readonly #checksum: string;
  readonly #maxObjectBytes: number;
  readonly #maxTotalBytes: number;
  readonly #entries: Entry[] = [];
  /** Whole objects as inflated by the scan, for the deltas against them. */
  readonly #contents: ContentCache;
  /** Deltas as inflated by the scan (most are small), for their resolution. */
  readonly #deltas: ContentCache;
  readonly #inflater = new Inflater();
  readonly #pause = pauser();
  readonly #ofsChildren = new Map<number, Entry[]>();
  readonly #refChildren = new Map<string, Entry[]>();
  #total = 0;

  constructor(pack: Uint8Array, options: IndexPackOptions) {
    this.#count = packObjectCount(pack);
    this.#checksum = checkPackChecksum(pack);
    this.#pack = pack;
    this.#end = pack.length - 20;
    this.#maxObjectBytes = options.maxObjectBytes;
    this.#maxTotalBytes = options.maxTotalBytes;
    const budget = Math.min(options.maxTotalBytes, 32 * 2 ** 20);
    this.#contents = new ContentCache(budget);
    this.#deltas = new ContentCache(budget);
  }

  /** Walks the entries in order, checking sizes; whole objects get their id now. */
  async scan(): Promise<void> {
    const max = this.#maxObjectBytes;
    // A delta is at most its result plus an instruction byte per 127 literal bytes.
    const maxDelta = max + Math.ceil(max / 127) + 32;
    const starts = new Set<number>();
    let at = 12;
    for (let i = 0; i < this.#count; i++) {
      if (at >= this.#end) throw new PackError(`pack ends after ${i} of ${this.#count} objects`);
      const header = readEntryHeader(this.#pack, at, this.#end);
      const whole = wholeType(header.type);
      if (header.size > (whole ? max : maxDelta)) {
        throw new ObjectTooLargeError("object", header.size, max, whole ?? "delta");
      }
      if (whole) this.#addToTotal(header.size);
      if (header.baseOffset !== undefined && !starts.has(header.baseOffset)) {
        throw new PackError(`pack entry at ${at} names a base that is not an entry`);
      }
      const { data, consumed } = this.#inflate(header.dataStart, header.size);
      const end = header.dataStart + consumed;
      const entry: Entry = {
        start: at,
        end,
        ...header,
        crc: zlib.crc32(this.#pack.subarray(at, end)),
      };
      if (whole) {
        entry.objectType = whole;
        entry.oid = objectId(whole, data);
        this.#contents.set(at, data);
      } else {
        // A small delta can describe a huge object: its result is checked before it is built.
        const { resultSize } = deltaHeader(data, at);
        if (resultSize > max) throw new ObjectTooLargeError("object", resultSize, max, "delta");
        this.#addToTotal(resultSize);
        this.#deltas.set(at, data);
      }
      this.#entries.push(entry);
      starts.add(at);
      if (entry.baseOffset !== undefined) push(this.#ofsChildren, entry.baseOffset, entry);
      if (entry.baseOid !== undefined) push(this.#refChildren, entry.baseOid, entry);
      at = end;
      await this.#pause();
    }
    if (at !== this.#end) throw new PackError("pack has data after its last object");
  }

  /** Resolves every delta whose chain starts at a whole object of the pack. */
  async resolveFromPack(): Promise<void> {
    for (const entry of this.#entries) {
      // Roots are whole objects; a delta with deltas of its own is resolved in its base's walk.
      if (!wholeType(entry.type) || !this.#hasChildren(entry)) continue;
      const content = this.#contents.get(entry.start) ??
        this.#inflate(entry.dataStart, entry.size).data;
      await this.#resolveFrom(entry, content);
    }
  }

  /**
   * A thin pack's deltas may have bases the cache holds. Each is read from the cache and its
   * deltas resolved; the bases the pack does not hold itself are returned, to be appended to
   * it as `git index-pack --fix-thin` does, so that the stored pack needs no other pack. (A
   * base may be in the cache and also be the result of a delta in the pack: then it is not
   * appended.)
   */
  async resolveFromCache(
    readObject: IndexPackOptions["readObject"],
  ): Promise<{ oid: string; base: GitObject }[]> {
    const read: { oid: string; base: GitObject }[] = [];
    for (const oid of [...this.#refChildren.keys()]) {
      if (!this.#refChildren.has(oid)) continue; // resolved meanwhile, from the pack
      const base = await readObject?.(oid);
      if (!base) continue; // maybe the result of a delta whose base comes later
      read.push({ oid, base });
      await this.#resolveFrom({ ...NO_ENTRY, oid, objectType: base.type }, base.content);
    }
    const missing = [...this.#refChildren.keys()][0];
    if (missing) {
      throw new PackError(`pack has a delta against ${missing}, which is not in the pack or cache`);
    }
    const unresolved = this.#entries.find((e) => e.oid === undefined);
    if (unresolved) {
      throw new PackError(`pack delta at ${unresolved.start} has no base in the pack or cache`);
    }
    const inPack = new Set(this.#entries.map((e) => e.oid));
    return read.filter(({ oid }) => !inPack.has(oid));
  }

  /** The pack to store, with `bases` appended, and its index. */
  result(bases: { oid: string; base: GitObject }[]): IndexedPack {
    const entries = [...this.#entries];
    const appended: Uint8Array[] = [];
    let at = this.#end;
    for (const { oid, base } of bases) {
      const header = encodeEntryHeader(typeCode(base.type), base.content.length);
      const deflated = zlib.deflateSync(base.content);
      const bytes = new Uint8Array(header.length + deflated.length);
      bytes.set(header);
      bytes.set(deflated, header.length);
      entries.push({
        start: at,
        end: at + bytes.length,
        type: typeCode(base.type),
        size: base.content.length,
        dataStart: at + header.length,
        crc: zlib.crc32(bytes),
        oid,
        objectType: base.type,
      });
      appended.push(bytes);
      at += bytes.length;
    }
    let pack = this.#pack;
    let checksum = this.#checksum;
    if (appended.length > 0) {
      pack = new Uint8Array(at + 20);
      pack.set(this.#pack.subarray(0, this.#end));
      let offset = this.#end;
      for (const bytes of appended) {
        pack.set(bytes, offset);
        offset += bytes.length;
      }
      new DataView(pack.buffer).setUint32(8, this.#count + appended.length);
      checksum = sha1Hex(pack.subarray(0, at));
      pack.set(decodeHex(checksum), at);
    }
    // An object stored twice in a pack is indexed once.
    const types = new Map<string, ObjectType>();
    const unique = entries.filter((e) => {
      if (types.has(e.oid!)) return false;
      types.set(e.oid!, e.objectType!);
      return true;
    });
    const idx = writePackIndex(
      unique.map((e) => ({ oid: e.oid!, offset: e.start, crc: e.crc })),
      checksum,
    );
    return { pack, idx, checksum, received: this.#count, types };
  }

  /** Resolves the deltas against `root`, then theirs, depth first: each base is built once. */
  async #resolveFrom(root: Entry, content: Uint8Array): Promise<void> {
    const stack = [{ entry: root, content }];
    while (stack.length > 0) {
      const { entry, content } = stack.pop()!;
      const children = [
        ...this.#ofsChildren.get(entry.start) ?? [],
        ...this.#refChildren.get(entry.oid!) ?? [],
      ];
      this.#refChildren.delete(entry.oid!);
      for (const child of children) {
        const delta = this.#deltas.get(child.start) ??
          this.#inflate(child.dataStart, child.size).data;
        let result: Uint8Array;
        try {
          result = applyDelta(content, delta);
        } catch (error) {
          if (!(error instanceof DeltaError)) throw error;
          throw new PackError(`pack delta at ${child.start}: ${error.message}`, { cause: error });
        }
        child.objectType = entry.objectType;
        child.oid = objectId(entry.objectType!, result);
        if (this.#hasChildren(child)) stack.push({ entry: child, content: result });
        await this.#pause();
      }
    }
  }

  #hasChildren(entry: Entry): boolean {
    return this.#ofsChildren.has(entry.start) || this.#refChildren.has(entry.oid!);
  }

  #inflate(dataStart: number, size: number) {
    return inflateEntry(this.#pack, dataStart, { size, end: this.#end, inflater: this.#inflater });
  }

  #addToTotal(size: number) {
    this.#total += size;
    if (this.#total > this.#maxTotalBytes) {
      throw new ObjectTooLargeError("total", this.#total, this.#maxTotalBytes, "blob");
    }
  }
}

/** Keeps inflated objects for a while, so a delta's base need not be inflated again. */
class ContentCache {
  readonly #items = new Map<number, Uint8Array>();
  #bytes = 0;
  constructor(readonly budget: number) {}
  get(key: number): Uint8Array | undefined {
    return this.#items.get(key);
  }
  set(key: number, value: Uint8Array) {
    if (value.length > this.budget / 4) return;
    this.#items.set(key, value);
    this.#bytes += value.length;
    for (const [k, v] of this.#items) {
      if (this.#bytes <= this.budget) break;
      this.#items.delete(k);
      this.#bytes -= v.length;
    }
  }
}

function deltaHeader(delta: Uint8Array, at: number) {
  try {
    return readDeltaHeader(delta);
  } catch (error) {
    throw new PackError(`pack delta at ${at}: ${(error as Error).message}`, { cause: error });
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Returns a function that yields to the event loop when the work has run for a while. */
function pauser(sliceMs = 10): () => Promise<void> {
  let since = performance.now();
  let calls = 0;
  return async () => {
    if ((++calls & 15) !== 0 || performance.now() - since < sliceMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    since = performance.now();
  };
}

/**
 * Git pack files and their indexes (gitformat-pack): reading entry headers, indexing a received
 * pack, and reading and writing `.idx` files (version 2).
 *
 * Indexing is where a fetch's objects are inflated, so it is where sizes are enforced: an
 * object's size is read from its entry header (for a delta, from the first bytes of the delta)
 * before it is inflated, and inflating never produces more than the header declared. One object
 * is held at a time, plus the bases of the delta chain being resolved.
 * @module
 */

import zlib from "node:zlib";
import { decodeHex, encodeHex } from "../lib/bytes.ts";
import { sha1 } from "../lib/crypto.ts";
import { applyDelta, DeltaError, readDeltaHeader } from "./delta.ts";
import { InflateError, Inflater } from "./inflate.ts";

/** The four kinds of Git object. */
export type ObjectType = "commit" | "tree" | "blob" | "tag";

/** An object's type and content. */
export interface GitObject {
  type: ObjectType;
  content: Uint8Array;
}

const TYPES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
/** Entry types of deltas: against a base at an earlier offset, or named by object id. */
export const OFS_DELTA = 6;
/** See {@linkcode OFS_DELTA}. */
export const REF_DELTA = 7;

/** A pack or index that is not well formed: cut short, altered, or inconsistent. */
export class PackError extends Error {
  override name = "PackError";
}

/** An object, or all objects of one pack together, inflate past a cap. */
export class ObjectTooLargeError extends Error {
  override name = "ObjectTooLargeError";
  /** `limit` says which cap: one object's size, or the pack's total. */
  constructor(
    readonly limit: "object" | "total",
    readonly size: number,
    readonly max: number,
    readonly type: ObjectType | "delta",
  ) {
    super(
      limit === "object"
        ? `the pack holds a ${type} of ${size} bytes (more than ${max})`
        : `the pack's objects inflate to more than ${max} bytes`,
    );
  }
}

/** What an entry's header says. */
export interface EntryHeader {
  /** 1–4 for whole objects, {@linkcode OFS_DELTA} or {@linkcode REF_DELTA}. */
  type: number;
  /** Inflated size of the entry's data (for a delta, of the delta itself). */
  size: number;
  /** Where the deflated data starts. */
  dataStart: number;
  /** An offset delta's base. */
  baseOffset?: number;
  /** A reference delta's base. */
  baseOid?: string;
}

/** Reads the header of the entry at `start`, which must end before `end`. */
export function readEntryHeader(pack: Uint8Array, start: number, end: number): EntryHeader {
  let at = start;
  const next = () => {
    if (at >= end) throw new PackError(`pack entry at ${start} is cut short`);
    return pack[at++];
  };
  let byte = next();
  const type = (byte >> 4) & 7;
  let size = byte & 15;
  let shift = 4;
  while (byte & 0x80) {
    byte = next();
    if (shift > 46) throw new PackError(`pack entry at ${start} has an impossible size`);
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (type === OFS_DELTA) {
    byte = next();
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      byte = next();
      distance = (distance + 1) * 128 + (byte & 0x7f);
      if (distance > start) throw new PackError(`pack entry at ${start} has a base before 0`);
    }
    const baseOffset = start - distance;
    if (distance === 0 || baseOffset < 12) {
      throw new PackError(`pack entry at ${start} has an impossible base offset`);
    }
    return { type, size, dataStart: at, baseOffset };
  }
  if (type === REF_DELTA) {
    if (at + 20 > end) throw new PackError(`pack entry at ${start} is cut short`);
    const baseOid = encodeHex(pack.subarray(at, at + 20));
    return { type, size, dataStart: at + 20, baseOid };
  }
  if (!TYPES[type]) throw new PackError(`pack entry at ${start} has unknown type ${type}`);
  return { type, size, dataStart: at };
}

/** The header of a whole-object entry of `type` and `size` bytes. */
export function encodeEntryHeader(type: number, size: number): Uint8Array {
  const bytes = [];
  let byte = (type << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return new Uint8Array(bytes);
}

/** The code of an object type in a pack entry header. */
export function typeCode(type: ObjectType): number {
  return CODES[type];
}

/** Inflates the data at `dataStart`, which must inflate to exactly `size` bytes. */
export function inflateEntry(
  pack: Uint8Array,
  dataStart: number,
  options: { size: number; end: number; inflater?: Inflater },
): { data: Uint8Array; consumed: number } {
  try {
    return (options.inflater ?? new Inflater()).inflate(pack, dataStart, options);
  } catch (error) {
    if (!(error instanceof InflateError)) throw error;
    throw new PackError(`pack data at ${dataStart} ${error.message}`, { cause: error });
  }
}

/** The id of an object: the SHA-1 of its type, size and content. */
export function objectId(type: ObjectType, content: Uint8Array): string {
  return encodeHex(sha1([`${type} ${content.length}\0`, content]));
}

/** A parsed `.idx`: object ids in order, with each one's offset in the pack. */
export interface PackIndex {
  oids: string[];
  offsets: number[];
  crcs: number[];
  /** The SHA-1 the pack ends with. */
  packChecksum: string;
}

const IDX_MAGIC = [0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2];

/** Parses an index, checking its own checksum and its consistency; throws PackError if not. */
export function parsePackIndex(idx: Uint8Array): PackIndex {
  if (idx.length < 8 + 1024 + 40 || IDX_MAGIC.some((b, i) => idx[i] !== b)) {
    throw new PackError("not a version 2 pack index");
  }
  if (sha1Hex(idx.subarray(0, idx.length - 20)) !== encodeHex(idx.subarray(idx.length - 20))) {
    throw new PackError("pack index checksum does not match");
  }
  const view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
  let previous = 0;
  for (let i = 0; i < 256; i++) {
    const count = view.getUint32(8 + i * 4);
    if (count < previous) throw new PackError("pack index fan-out is not ordered");
    previous = count;
  }
  const n = previous;
  const oidsAt = 8 + 1024;
  const crcsAt = oidsAt + n * 20;
  const offsetsAt = crcsAt + n * 4;
  const largeAt = offsetsAt + n * 4;
  const largeBytes = idx.length - 40 - largeAt;
  if (largeBytes < 0 || largeBytes % 8 !== 0) throw new PackError("pack index size is wrong");
  const oids: string[] = new Array(n);
  const offsets: number[] = new Array(n);
  const crcs: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    oids[i] = encodeHex(idx.subarray(oidsAt + i * 20, oidsAt + i * 20 + 20));
    if (i > 0 && oids[i] <= oids[i - 1]) throw new PackError("pack index ids are not ordered");
    crcs[i] = view.getUint32(crcsAt + i * 4);
    const offset = view.getUint32(offsetsAt + i * 4);
    if (offset & 0x80000000) {
      const large = (offset & 0x7fffffff) * 8;
      if (large + 8 > largeBytes) throw new PackError("pack index large offset is missing");
      offsets[i] = Number(view.getBigUint64(largeAt + large));
    } else offsets[i] = offset;
  }
  return {
    oids,
    offsets,
    crcs,
    packChecksum: encodeHex(idx.subarray(idx.length - 40, idx.length - 20)),
  };
}

/** Writes a version 2 index of `objects` for the pack ending with `packChecksum`. */
export function writePackIndex(
  objects: readonly { oid: string; offset: number; crc: number }[],
  packChecksum: string,
): Uint8Array {
  const sorted = [...objects].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const large = sorted.filter((o) => o.offset >= 0x80000000).length;
  const size = 8 + 1024 + n * 28 + large * 8 + 40;
  const idx = new Uint8Array(size);
  const view = new DataView(idx.buffer);
  idx.set(IDX_MAGIC);
  const fanOut = new Uint32Array(256);
  for (const o of sorted) {
    fanOut[parseInt(o.oid.slice(0, 2), 16)]++;
  }
  let running = 0;
  for (let i = 0; i < 256; i++) {
    running += fanOut[i];
    view.setUint32(8 + i * 4, running);
  }
  const oidsAt = 8 + 1024;
  const crcsAt = oidsAt + n * 20;
  const offsetsAt = crcsAt + n * 4;
  const largeAt = offsetsAt + n * 4;
  let largeIndex = 0;
  sorted.forEach((o, i) => {
    idx.set(decodeHex(o.oid), oidsAt + i * 20);
    view.setUint32(crcsAt + i * 4, o.crc >>> 0);
    if (o.offset >= 0x80000000) {
      view.setUint32(offsetsAt + i * 4, 0x80000000 | largeIndex);
      view.setBigUint64(largeAt + largeIndex * 8, BigInt(o.offset));
      largeIndex++;
    } else view.setUint32(offsetsAt + i * 4, o.offset);
  });
  idx.set(decodeHex(packChecksum), size - 40);
  idx.set(decodeHex(sha1Hex(idx.subarray(0, size - 20))), size - 20);
  return idx;
}

/** The number of objects a pack's header declares; checks its signature and version. */
export function packObjectCount(pack: Uint8Array): number {
  if (
    pack.length < 32 || pack[0] !== 0x50 || pack[1] !== 0x41 || pack[2] !== 0x43 ||
    pack[3] !== 0x4b
  ) {
    throw new PackError("not a pack file");
  }
  const view = new DataView(pack.buffer, pack.byteOffset, pack.byteLength);
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) throw new PackError(`pack version ${version} is unknown`);
  return view.getUint32(8);
}

/** Checks that a pack ends with the SHA-1 of what precedes it; returns that checksum. */
export function checkPackChecksum(pack: Uint8Array): string {
  packObjectCount(pack);
  const checksum = encodeHex(pack.subarray(pack.length - 20));
  if (sha1Hex(pack.subarray(0, pack.length - 20)) !== checksum) {
    throw new PackError("pack checksum does not match its content");
  }
  return checksum;
}

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

/** A base from outside the pack, for {@linkcode indexPack}'s walk: no offset, no children by offset. */
const NO_ENTRY: Entry = { start: -1, end: -1, type: 0, size: 0, dataStart: -1, crc: 0 };

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

/**
 * Checks and indexes a received pack: its checksum, every entry's size against the caps before
 * it is inflated, every delta resolved, and every object's id. Yields to the event loop as it
 * goes, so requests are served while a large pack is indexed.
 */
export async function indexPack(pack: Uint8Array, options: IndexPackOptions): Promise<IndexedPack> {
  const count = packObjectCount(pack);
  const checksum = checkPackChecksum(pack);
  const end = pack.length - 20;
  const { maxObjectBytes, maxTotalBytes } = options;
  const maxDeltaBytes = maxObjectBytes + Math.ceil(maxObjectBytes / 127) + 32;
  const cache = new ContentCache(Math.min(maxTotalBytes, 32 * 2 ** 20));
  // Deltas as inflated in the first pass, for the second (most are small).
  const deltas = new ContentCache(Math.min(maxTotalBytes, 32 * 2 ** 20));
  const pause = pauser();
  const inflater = new Inflater();
  const entries: Entry[] = [];
  const byStart = new Map<number, Entry>();
  let total = 0;
  const addToTotal = (size: number) => {
    total += size;
    if (total > maxTotalBytes) throw new ObjectTooLargeError("total", total, maxTotalBytes, "blob");
  };

  // Pass 1: walk the entries in order; whole objects get their id now.
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at >= end) throw new PackError(`pack ends after ${i} of ${count} objects`);
    const header = readEntryHeader(pack, at, end);
    const whole = TYPES[header.type];
    if (whole && header.size > maxObjectBytes) {
      throw new ObjectTooLargeError("object", header.size, maxObjectBytes, whole);
    }
    if (!whole && header.size > maxDeltaBytes) {
      throw new ObjectTooLargeError("object", header.size, maxObjectBytes, "delta");
    }
    if (whole) addToTotal(header.size);
    if (header.baseOffset !== undefined && !byStart.has(header.baseOffset)) {
      throw new PackError(`pack entry at ${at} names a base that is not an entry`);
    }
    const { data, consumed } = inflateEntry(pack, header.dataStart, {
      size: header.size,
      end,
      inflater,
    });
    const entry: Entry = {
      start: at,
      end: header.dataStart + consumed,
      ...header,
      crc: zlib.crc32(pack.subarray(at, header.dataStart + consumed)),
    };
    if (whole) {
      entry.objectType = whole;
      entry.oid = objectId(whole, data);
      cache.set(entry.start, data);
    } else {
      // A small delta can describe a huge object: its declared result is checked before it is
      // ever built.
      const { resultSize } = deltaHeader(data, at);
      if (resultSize > maxObjectBytes) {
        throw new ObjectTooLargeError("object", resultSize, maxObjectBytes, "delta");
      }
      addToTotal(resultSize);
      deltas.set(entry.start, data);
    }
    entries.push(entry);
    byStart.set(at, entry);
    at = entry.end;
    await pause();
  }
  if (at !== end) throw new PackError("pack has data after its last object");

  // Pass 2: resolve deltas from each base, depth first, so each base is inflated once.
  const ofsChildren = new Map<number, Entry[]>();
  const refChildren = new Map<string, Entry[]>();
  for (const entry of entries) {
    if (entry.baseOffset !== undefined) push(ofsChildren, entry.baseOffset, entry);
    if (entry.baseOid !== undefined) push(refChildren, entry.baseOid, entry);
  }
  const hasChildren = (entry: Entry) => ofsChildren.has(entry.start) || refChildren.has(entry.oid!);
  const resolveFrom = async (root: Entry, content: Uint8Array) => {
    const stack = [{ entry: root, content }];
    while (stack.length > 0) {
      const { entry, content } = stack.pop()!;
      const children = [
        ...ofsChildren.get(entry.start) ?? [],
        ...refChildren.get(entry.oid!) ?? [],
      ];
      refChildren.delete(entry.oid!);
      for (const child of children) {
        const delta = deltas.get(child.start) ??
          inflateEntry(pack, child.dataStart, { size: child.size, end, inflater }).data;
        let result: Uint8Array;
        try {
          result = applyDelta(content, delta);
        } catch (error) {
          if (!(error instanceof DeltaError)) throw error;
          throw new PackError(`pack delta at ${child.start}: ${error.message}`, { cause: error });
        }
        child.objectType = entry.objectType;
        child.oid = objectId(entry.objectType!, result);
        if (hasChildren(child)) stack.push({ entry: child, content: result });
        await pause();
      }
    }
  };
  for (const entry of entries) {
    // Roots are whole objects; a delta with children is resolved from its own base's walk.
    if (!TYPES[entry.type] || !hasChildren(entry)) continue;
    const content = cache.get(entry.start) ??
      inflateEntry(pack, entry.dataStart, { size: entry.size, end, inflater }).data;
    await resolveFrom(entry, content);
  }

  // A thin pack's deltas may have bases the cache holds. Each is read from the cache and its
  // deltas resolved; then the bases the pack does not hold itself are appended to it, as
  // `git index-pack --fix-thin` does, so the stored pack needs no other pack. (A base may be in
  // the cache and also be the result of a delta in the pack: it is appended only if not.)
  const external: GitObject[] = [];
  const externalOids: string[] = [];
  for (const oid of [...refChildren.keys()]) {
    if (!refChildren.has(oid)) continue; // resolved meanwhile, from the pack
    const base = await options.readObject?.(oid);
    if (!base) continue; // maybe the result of a delta whose base comes later
    external.push(base);
    externalOids.push(oid);
    await resolveFrom({ ...NO_ENTRY, oid, objectType: base.type }, base.content);
  }
  const inPack = new Set(entries.map((e) => e.oid));
  const appended: Uint8Array[] = [];
  let appendAt = end;
  external.forEach((base, i) => {
    const oid = externalOids[i];
    if (inPack.has(oid)) return;
    inPack.add(oid);
    const deflated = zlib.deflateSync(base.content);
    const header = encodeEntryHeader(CODES[base.type], base.content.length);
    const bytes = new Uint8Array(header.length + deflated.length);
    bytes.set(header);
    bytes.set(deflated, header.length);
    entries.push({
      start: appendAt,
      end: appendAt + bytes.length,
      type: CODES[base.type],
      size: base.content.length,
      dataStart: appendAt + header.length,
      crc: zlib.crc32(bytes),
      oid,
      objectType: base.type,
    });
    appended.push(bytes);
    appendAt += bytes.length;
  });
  const missing = [...refChildren.keys()][0];
  if (missing) {
    throw new PackError(`pack has a delta against ${missing}, which is not in the pack or cache`);
  }
  const unresolved = entries.find((e) => e.oid === undefined);
  if (unresolved) {
    throw new PackError(`pack delta at ${unresolved.start} has no base in the pack or cache`);
  }

  let stored = pack;
  let storedChecksum = checksum;
  if (appended.length > 0) {
    stored = new Uint8Array(appendAt + 20);
    stored.set(pack.subarray(0, end));
    let offset = end;
    for (const bytes of appended) {
      stored.set(bytes, offset);
      offset += bytes.length;
    }
    new DataView(stored.buffer).setUint32(8, count + appended.length);
    storedChecksum = sha1Hex(stored.subarray(0, appendAt));
    stored.set(decodeHex(storedChecksum), appendAt);
  }
  const types = new Map<string, ObjectType>();
  const unique = entries.filter((e) => {
    if (types.has(e.oid!)) return false;
    types.set(e.oid!, e.objectType!);
    return true;
  });
  const idx = writePackIndex(
    unique.map((e) => ({ oid: e.oid!, offset: e.start, crc: e.crc })),
    storedChecksum,
  );
  return { pack: stored, idx, checksum: storedChecksum, received: count, types };
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

/** SHA-1 of `bytes`, in hex. */
export function sha1Hex(bytes: Uint8Array): string {
  return encodeHex(sha1(bytes));
}

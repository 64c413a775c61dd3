/**
 * Git pack files and their indexes (gitformat-pack): entry headers, object ids, pack
 * checksums, and `.idx` files (version 2) read and written. Pure functions on bytes; indexing a
 * received pack is `index_pack.ts`.
 * @module
 */

import { decodeHex, encodeHex } from "../lib/bytes.ts";
import { sha1 } from "../lib/crypto.ts";
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

/** The object type of an entry header's type code; undefined for deltas. */
export function wholeType(code: number): ObjectType | undefined {
  return TYPES[code];
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

/** SHA-1 of `bytes`, in hex. */
export function sha1Hex(bytes: Uint8Array): string {
  return encodeHex(sha1(bytes));
}

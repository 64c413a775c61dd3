/**
 * Builds one pack holding exactly the objects a revision needs, from the packs in the cache, so
 * that the cache stops growing with every push. Entries are copied as they are stored (no
 * inflating, no compressing) wherever possible: whole objects as they are, deltas whose base is
 * kept as deltas against that base by id; only a delta whose base is dropped is stored whole.
 * @module
 */

import zlib from "node:zlib";
import { decodeHex } from "../lib/bytes.ts";
import {
  encodeEntryHeader,
  type GitObject,
  OFS_DELTA,
  PackError,
  type PackIndex,
  readEntryHeader,
  REF_DELTA,
  sha1Hex,
  typeCode,
  writePackIndex,
} from "./pack_index.ts";

/** A stored pack's bytes with its index. */
export interface PackSource {
  pack: Uint8Array;
  index: PackIndex;
}

/** A pack built by {@linkcode repack}. */
export interface BuiltPack {
  pack: Uint8Array;
  idx: Uint8Array;
  checksum: string;
}

interface Location {
  source: PackSource;
  offset: number;
  end: number;
  /** Id of the entry at each offset of the source. */
  oidAt: Map<number, string>;
}

/**
 * A pack of the `keep` objects, each taken from the first source holding it; `readObject` gives
 * the content of a delta whose base is not kept. Throws when a kept object is in no source.
 */
export async function repack(
  sources: readonly PackSource[],
  options: { keep: ReadonlySet<string>; readObject: (oid: string) => Promise<GitObject> },
): Promise<BuiltPack> {
  const { keep, readObject } = options;
  const located = new Map<string, Location>();
  for (const source of sources) {
    const oidAt = new Map<number, string>();
    const offsets = source.index.offsets.map((offset, i) => {
      oidAt.set(offset, source.index.oids[i]);
      return offset;
    }).sort((a, b) => a - b);
    const endOf = new Map<number, number>();
    offsets.forEach((offset, i) => endOf.set(offset, offsets[i + 1] ?? source.pack.length - 20));
    source.index.oids.forEach((oid, i) => {
      if (!keep.has(oid) || located.has(oid)) return;
      const offset = source.index.offsets[i];
      located.set(oid, { source, offset, end: endOf.get(offset)!, oidAt });
    });
  }
  const missing = [...keep].find((oid) => !located.has(oid));
  if (missing) throw new PackError(`object ${missing} is in no pack of the cache`);

  // In each source's order, which keeps bases near their deltas.
  const order = [...located].sort(([, a], [, b]) =>
    a.source === b.source
      ? a.offset - b.offset
      : sources.indexOf(a.source) - sources.indexOf(b.source)
  );
  const parts: Uint8Array[] = [];
  const objects: { oid: string; offset: number; crc: number }[] = [];
  let at = 12;
  for (const [oid, location] of order) {
    const entry = await copyEntry(location, { keep, oid, readObject });
    parts.push(entry);
    objects.push({ oid, offset: at, crc: zlib.crc32(entry) });
    at += entry.length;
  }
  const pack = new Uint8Array(at + 20);
  pack.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(pack.buffer).setUint32(8, objects.length);
  let offset = 12;
  for (const part of parts) {
    pack.set(part, offset);
    offset += part.length;
  }
  const checksum = sha1Hex(pack.subarray(0, at));
  pack.set(decodeHex(checksum), at);
  return { pack, idx: writePackIndex(objects, checksum), checksum };
}

async function copyEntry(
  location: Location,
  options: {
    keep: ReadonlySet<string>;
    oid: string;
    readObject: (oid: string) => Promise<GitObject>;
  },
): Promise<Uint8Array> {
  const { pack } = location.source;
  const header = readEntryHeader(pack, location.offset, location.end);
  const raw = pack.subarray(location.offset, location.end);
  if (header.type !== OFS_DELTA && header.type !== REF_DELTA) return raw;
  const baseOid = header.baseOid ?? location.oidAt.get(header.baseOffset!);
  if (baseOid !== undefined && options.keep.has(baseOid)) {
    if (header.type === REF_DELTA) return raw;
    // The base moves, so an offset delta becomes a delta against the base's id.
    const head = encodeEntryHeader(REF_DELTA, header.size);
    const data = pack.subarray(header.dataStart, location.end);
    const entry = new Uint8Array(head.length + 20 + data.length);
    entry.set(head);
    entry.set(decodeHex(baseOid), head.length);
    entry.set(data, head.length + 20);
    return entry;
  }
  const object = await options.readObject(options.oid);
  const head = encodeEntryHeader(typeCode(object.type), object.content.length);
  const data = zlib.deflateSync(object.content);
  const entry = new Uint8Array(head.length + data.length);
  entry.set(head);
  entry.set(data, head.length);
  return entry;
}

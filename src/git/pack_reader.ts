/**
 * Reading objects of the clone cache by id: each pack is read from disk once, an entry is found
 * by a binary search of the pack's index, inflated with one reused zlib state (`inflate.ts`), and
 * a delta is applied to its base, which stays in a small cache because the deltas of a pack share
 * few bases (one base for 9,998 of the 10,000 blobs of the sync benchmark's repository).
 * isomorphic-git did the same with a new zlib state per entry and no base kept: the base was
 * inflated again for every delta, a sixth of a 10,000-manifest index build (BENCHMARKS.md,
 * "What limits the index build").
 * @module
 */

import { applyDelta, DeltaError } from "./delta.ts";
import { Inflater } from "./inflate.ts";
import {
  type GitObject,
  inflateEntry,
  OFS_DELTA,
  PackError,
  type PackIndex,
  readEntryHeader,
  REF_DELTA,
  wholeType,
} from "./pack_index.ts";

/** Where the reader finds packs: which pack holds an object, its index, and its bytes. */
export interface PackSource {
  /** The name of a pack holding `oid`, if any. */
  packOf(oid: string): string | undefined;
  /** The parsed index of pack `name`. */
  indexOf(name: string): PackIndex | undefined;
  /** The bytes of pack `name`. */
  readPack(name: string): Promise<Uint8Array>;
}

/**
 * Bytes of resolved delta bases kept (each base at most a quarter of it): enough for the bases
 * of a repository of manifests, little beside the packs themselves.
 */
const BASE_CACHE_BYTES = 4 * 2 ** 20;

/** Delta chains longer than this are refused (Git's default depth is 50, its largest 4,095). */
const MAX_CHAIN = 4095;

/** Reads objects from the packs of a {@linkcode PackSource}. */
export class PackReader {
  readonly #source: PackSource;
  readonly #packs = new Map<string, Promise<Uint8Array>>();
  readonly #inflater = new Inflater();
  /** Resolved bases by pack name and offset, oldest first. */
  readonly #bases = new Map<string, GitObject>();
  #baseBytes = 0;

  readonly #fallback?: (oid: string) => Promise<GitObject | undefined>;

  /**
   * A reader of `source`'s packs; packs are read on first use and kept. `options.fallback` reads
   * the objects `source` does not list.
   */
  constructor(
    source: PackSource,
    options: { fallback?: (oid: string) => Promise<GitObject | undefined> } = {},
  ) {
    this.#source = source;
    this.#fallback = options.fallback;
  }

  /** The object `oid`, or undefined when neither a pack nor the fallback has it. */
  async read(oid: string): Promise<GitObject | undefined> {
    const found = this.#locate(oid);
    if (found) return await this.#readAt(found.name, found.offset, 0, false);
    return await this.#fallback?.(oid);
  }

  #locate(oid: string): { name: string; offset: number } | undefined {
    const name = this.#source.packOf(oid);
    const index = name === undefined ? undefined : this.#source.indexOf(name);
    const offset = index ? findOffset(index, oid) : undefined;
    return offset === undefined ? undefined : { name: name!, offset };
  }

  /** The object at `offset` of pack `name`; kept when it is the base of a delta (`asBase`). */
  async #readAt(name: string, offset: number, depth: number, asBase: boolean): Promise<GitObject> {
    const key = `${name}:${offset}`;
    const cached = this.#bases.get(key);
    if (cached) return cached;
    const pack = await this.#pack(name);
    const end = pack.length - 20;
    const header = readEntryHeader(pack, offset, end);
    const { data } = inflateEntry(pack, header.dataStart, {
      size: header.size,
      end,
      inflater: this.#inflater,
    });
    const whole = wholeType(header.type);
    let object: GitObject;
    if (whole) object = { type: whole, content: data };
    else {
      if (depth >= MAX_CHAIN) {
        throw new PackError(`pack entry at ${offset} has too long a delta chain`);
      }
      const at = header.type === OFS_DELTA
        ? { name, offset: header.baseOffset! }
        : header.type === REF_DELTA
        ? this.#locate(header.baseOid!)
        : undefined;
      if (!at) throw new PackError(`pack entry at ${offset} is a delta whose base is missing`);
      const base = await this.#readAt(at.name, at.offset, depth + 1, true);
      try {
        object = { type: base.type, content: applyDelta(base.content, data) };
      } catch (error) {
        if (!(error instanceof DeltaError)) throw error;
        throw new PackError(`pack delta at ${offset}: ${error.message}`, { cause: error });
      }
    }
    if (asBase) this.#keepBase(key, object);
    return object;
  }

  #keepBase(key: string, base: GitObject): void {
    if (this.#bases.has(key) || base.content.length > BASE_CACHE_BYTES / 4) return;
    this.#bases.set(key, base);
    this.#baseBytes += base.content.length;
    for (const [k, v] of this.#bases) {
      if (this.#baseBytes <= BASE_CACHE_BYTES) break;
      this.#bases.delete(k);
      this.#baseBytes -= v.content.length;
    }
  }

  #pack(name: string): Promise<Uint8Array> {
    let pack = this.#packs.get(name);
    if (!pack) {
      pack = this.#source.readPack(name);
      this.#packs.set(name, pack);
      pack.catch(() => this.#packs.delete(name));
    }
    return pack;
  }
}

/** The offset of `oid` in the pack `index` describes (its ids are sorted), if it holds it. */
function findOffset(index: PackIndex, oid: string): number | undefined {
  const { oids } = index;
  let lo = 0, hi = oids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const here = oids[mid];
    if (here === oid) return index.offsets[mid];
    if (here < oid) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

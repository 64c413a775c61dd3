/**
 * The clone cache on disk: a bare repository whose objects are packs (`objects/pack`), a few
 * refs (`refs/gitfaas/…`) and the `shallow` list, laid out as Git itself lays them out (so
 * `git fsck` can check it). Every file is written atomically (`atomic_write.ts`).
 *
 * {@linkcode PackCache.open} checks what a previous process left before anything reads it: a
 * pack whose checksum does not match is removed, an index that is missing, torn or does not
 * match its pack is rebuilt from the pack, and temporary files of writes or fetches that never
 * finished are removed. A crash at any moment therefore costs at most a fetch, never the cache.
 * @module
 */

import { join } from "node:path";
import { TEMPORARY_PREFIX, temporaryPath, writeAll, writeFileAtomic } from "./atomic_write.ts";
import { type IndexedPack, indexPack } from "./index_pack.ts";
import {
  checkPackChecksum,
  type PackIndex,
  packObjectCount,
  parsePackIndex,
} from "./pack_index.ts";

/** A pack in the cache, with its parsed index. */
export interface StoredPack {
  /** The pack's checksum: its files are `pack-<name>.pack` and `.idx`. */
  name: string;
  index: PackIndex;
  /** Size of the pack file in bytes. */
  bytes: number;
}

/** Options for {@linkcode PackCache}. */
export interface PackCacheOptions {
  /** The followed branch, which HEAD names (for Git's tools; the cache reads no HEAD). */
  branch: string;
  /** Caps used when an index has to be rebuilt from its pack. */
  maxObjectBytes: number;
  maxTotalBytes: number;
}

/** A pack arriving: written to a temporary file as it comes, read back once complete. */
export interface PackReceiver {
  /** Appends bytes; throws {@linkcode PackTooLargeError} past the cap. */
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly bytes: number;
}

/** A pack arriving went past the cap given to {@linkcode PackCache.receive}. */
export class PackTooLargeError extends Error {
  override name = "PackTooLargeError";
  /** The cap that was passed. */
  constructor(readonly maxBytes: number) {
    super(`the pack is larger than ${maxBytes} bytes`);
  }
}

const PACK_NAME = /^pack-([0-9a-f]{40})\.(pack|idx)$/;
const OID = /^[0-9a-f]{40}$/;

/** The cache folder. Not safe for two processes at once (each replica has its own DATA_DIR). */
export class PackCache {
  readonly dir: string;
  readonly #options: PackCacheOptions;
  readonly #packs = new Map<string, StoredPack>();
  /** Which pack holds each object. */
  readonly #objects = new Map<string, string>();
  /**
   * Whether {@linkcode open} removed a pack: a commit in another pack may then lack part of its
   * tree, so holding a commit no longer means holding what it needs.
   */
  lostPacks = false;

  /** A cache in `dir`; nothing is read until {@linkcode open}. */
  constructor(dir: string, options: PackCacheOptions) {
    this.dir = dir;
    this.#options = options;
  }

  get #packDir(): string {
    return join(this.dir, "objects", "pack");
  }

  /**
   * Creates the layout where it is missing and checks every pack and index (see the module
   * doc). Returns one line per thing removed or rebuilt.
   */
  async open(): Promise<string[]> {
    const repairs: string[] = [];
    await Deno.mkdir(this.#packDir, { recursive: true });
    await Deno.mkdir(join(this.dir, "refs", "gitfaas"), { recursive: true });
    await Deno.mkdir(join(this.dir, "refs", "heads"), { recursive: true });
    await this.#ensureFile("HEAD", `ref: refs/heads/${this.#options.branch}\n`, /^ref: refs\//);
    await this.#ensureFile(
      "config",
      "[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
      /\S/,
    );
    await this.#removeTemporary(this.dir, repairs);
    await this.#removeTemporary(join(this.dir, "refs", "gitfaas"), repairs);

    const files = new Map<string, { pack?: boolean; idx?: boolean }>();
    for await (const entry of Deno.readDir(this.#packDir)) {
      const match = PACK_NAME.exec(entry.name);
      if (!entry.isFile || !match) {
        // Temporary files of fetches or writes that never finished, or files the cache does
        // not make: nothing reads them, so they would only take space.
        await Deno.remove(join(this.#packDir, entry.name), { recursive: true });
        repairs.push(`removed ${entry.name}, left by an unfinished write`);
        continue;
      }
      const found = files.get(match[1]) ?? {};
      found[match[2] as "pack" | "idx"] = true;
      files.set(match[1], found);
    }
    for (const [name, found] of files) {
      const repair = found.pack
        ? await this.#checkPack(name, found.idx === true)
        : `removed the index of pack ${name}, whose pack is missing`;
      if (!found.pack) await this.#removeFiles(name);
      if (!this.#packs.has(name)) this.lostPacks = true;
      if (repair) repairs.push(repair);
    }
    return repairs;
  }

  /** The packs, in no particular order. */
  packs(): StoredPack[] {
    return [...this.#packs.values()];
  }

  /** Whether some pack holds `oid`. */
  has(oid: string): boolean {
    return this.#objects.has(oid);
  }

  /** The name of a pack holding `oid`, if any. */
  packOf(oid: string): string | undefined {
    return this.#objects.get(oid);
  }

  /** The parsed index of the pack `name`, if the cache holds it. */
  indexOf(name: string): PackIndex | undefined {
    return this.#packs.get(name)?.index;
  }

  /** Number of distinct objects in the cache. */
  get objectCount(): number {
    return this.#objects.size;
  }

  /**
   * Receives a pack into a temporary file (so it is never held in memory twice while it
   * arrives), at most `maxBytes`; returns what `fill` returned and the pack's bytes. The
   * temporary file is gone when this returns or throws.
   */
  async receive<T>(
    maxBytes: number,
    fill: (receiver: PackReceiver) => Promise<T>,
  ): Promise<{ result: T; pack: Uint8Array }> {
    const path = temporaryPath(join(this.#packDir, "pack"));
    const file = await Deno.open(path, { write: true, read: true, createNew: true });
    try {
      let bytes = 0;
      const receiver: PackReceiver = {
        async write(chunk) {
          bytes += chunk.length;
          if (bytes > maxBytes) throw new PackTooLargeError(maxBytes);
          await writeAll(file, chunk);
        },
        get bytes() {
          return bytes;
        },
      };
      const result = await fill(receiver);
      file.close();
      return { result, pack: await Deno.readFile(path) };
    } finally {
      try {
        file.close();
      } catch {
        // Closed above.
      }
      await Deno.remove(path).catch(() => undefined);
    }
  }

  /** Stores a pack with its index: the pack first, then the index, each atomically. */
  async add(indexed: Pick<IndexedPack, "pack" | "idx" | "checksum">): Promise<void> {
    const name = indexed.checksum;
    if (!this.#packs.has(name)) {
      await writeFileAtomic(this.#path(name, "pack"), indexed.pack);
      await writeFileAtomic(this.#path(name, "idx"), indexed.idx);
    }
    this.#register({ name, index: parsePackIndex(indexed.idx), bytes: indexed.pack.length });
  }

  /** The bytes of a stored pack. */
  readPack(name: string): Promise<Uint8Array> {
    return Deno.readFile(this.#path(name, "pack"));
  }

  /** Removes a pack: its index first, so no reader finds an index without its pack. */
  async remove(name: string): Promise<void> {
    const pack = this.#packs.get(name);
    this.#packs.delete(name);
    for (const oid of pack?.index.oids ?? []) {
      if (this.#objects.get(oid) === name) this.#objects.delete(oid);
    }
    // An object in two packs stays known through the other one.
    for (const other of this.#packs.values()) {
      for (const oid of other.index.oids) {
        if (!this.#objects.has(oid)) this.#objects.set(oid, other.name);
      }
    }
    await this.#removeFiles(name);
  }

  /** The commit a ref of the cache names (`serving`, `fetched`), if it names one. */
  async readRef(name: string): Promise<string | undefined> {
    try {
      const text = (await Deno.readTextFile(this.#refPath(name))).trim();
      return OID.test(text) ? text : undefined;
    } catch {
      return undefined;
    }
  }

  /** Points a ref of the cache at `oid`. */
  async writeRef(name: string, oid: string): Promise<void> {
    await writeFileAtomic(this.#refPath(name), new TextEncoder().encode(`${oid}\n`));
  }

  /** Removes a ref of the cache. */
  async deleteRef(name: string): Promise<void> {
    await Deno.remove(this.#refPath(name)).catch(() => undefined);
  }

  /** Commits held without their parents (Git's `shallow` file). */
  async readShallow(): Promise<Set<string>> {
    try {
      const text = await Deno.readTextFile(join(this.dir, "shallow"));
      return new Set(text.split("\n").filter((line) => OID.test(line)));
    } catch {
      return new Set();
    }
  }

  /** Replaces the `shallow` file. */
  async writeShallow(commits: Iterable<string>): Promise<void> {
    const list = [...new Set(commits)].sort();
    const path = join(this.dir, "shallow");
    if (list.length === 0) await Deno.remove(path).catch(() => undefined);
    else await writeFileAtomic(path, new TextEncoder().encode(list.map((c) => `${c}\n`).join("")));
  }

  #register(pack: StoredPack) {
    this.#packs.set(pack.name, pack);
    for (const oid of pack.index.oids) {
      if (!this.#objects.has(oid)) this.#objects.set(oid, pack.name);
    }
  }

  /** Checks one pack and its index; returns what was done about a problem, if any. */
  async #checkPack(name: string, hasIndex: boolean): Promise<string | undefined> {
    let pack: Uint8Array;
    try {
      pack = await this.readPack(name);
      if (checkPackChecksum(pack) !== name) throw new Error("named after another checksum");
    } catch (error) {
      await this.#removeFiles(name);
      return `removed pack ${name}: ${(error as Error).message}`;
    }
    if (hasIndex) {
      try {
        const index = parsePackIndex(await Deno.readFile(this.#path(name, "idx")));
        checkIndexFits(index, pack, name);
        this.#register({ name, index, bytes: pack.length });
        return undefined;
      } catch (error) {
        return await this.#reindex(
          name,
          pack,
          `its index is damaged (${(error as Error).message})`,
        );
      }
    }
    return await this.#reindex(name, pack, "its index is missing");
  }

  async #reindex(name: string, pack: Uint8Array, why: string): Promise<string> {
    try {
      const indexed = await indexPack(pack, {
        maxObjectBytes: this.#options.maxObjectBytes,
        maxTotalBytes: Math.max(this.#options.maxTotalBytes, pack.length * 64),
      });
      await writeFileAtomic(this.#path(name, "idx"), indexed.idx);
      this.#register({ name, index: parsePackIndex(indexed.idx), bytes: pack.length });
      return `rebuilt the index of pack ${name}: ${why}`;
    } catch (error) {
      await this.#removeFiles(name);
      return `removed pack ${name}: ${why}, and it cannot be indexed (${(error as Error).message})`;
    }
  }

  async #removeFiles(name: string) {
    for (const kind of ["idx", "pack"] as const) {
      await Deno.remove(this.#path(name, kind)).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }

  async #removeTemporary(dir: string, repairs: string[]) {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.startsWith(TEMPORARY_PREFIX)) {
        await Deno.remove(join(dir, entry.name)).catch(() => undefined);
        repairs.push(`removed ${entry.name}, left by an unfinished write`);
      }
    }
  }

  /** Writes a file Git's tools need when it is missing or not as expected. */
  async #ensureFile(name: string, text: string, valid: RegExp) {
    const path = join(this.dir, name);
    const current = await Deno.readTextFile(path).catch(() => "");
    if (!valid.test(current)) await writeFileAtomic(path, new TextEncoder().encode(text));
  }

  #path(name: string, kind: "pack" | "idx"): string {
    return join(this.#packDir, `pack-${name}.${kind}`);
  }

  #refPath(name: string): string {
    return join(this.dir, "refs", "gitfaas", name);
  }
}

function checkIndexFits(index: PackIndex, pack: Uint8Array, name: string) {
  if (index.packChecksum !== name) throw new Error("it belongs to another pack");
  // Fewer ids than entries is fine (a pack may hold an object twice); more is not.
  if (index.oids.length > packObjectCount(pack)) throw new Error("it lists more objects");
  const end = pack.length - 20;
  if (index.offsets.some((offset) => offset < 12 || offset >= end)) {
    throw new Error("it points outside the pack");
  }
}

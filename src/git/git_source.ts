/**
 * The Git side of syncing: ask the remote where the branch points (one small request), fetch
 * that commit into a bare clone cache, and read files from a commit's own objects. Reading from
 * objects, never from a work tree, is what lets one sync build an index from exactly one commit
 * while the next sync fetches another.
 *
 * A fetch asks for the commit alone (depth 1) and names the commits the cache holds, so the
 * server sends only the objects they do not reach: after a push, what changed; after a
 * force-push, what the new commit does not share with the old one (or everything, when the
 * server no longer knows the old one). Every fetch is capped in bytes and in object size before
 * anything is inflated, and the cache keeps only what the serving commit needs.
 * @module
 */

import nodeFs from "node:fs";
import { type Logger, silentLogger } from "../log/logger.ts";
import type { CommitFiles, RepoEntry, RevisionSource } from "../sync/source.ts";
import { describeGitFailure, GitError } from "./errors.ts";
import { type GitHttpTransport, gitHttpTransport } from "./http_transport.ts";
import { indexPack } from "./index_pack.ts";
import { PackCache } from "./pack_cache.ts";
import { type GitObject, type ObjectType, packObjectCount } from "./pack_index.ts";
import { repack } from "./repack.ts";
import { UploadPackClient } from "./upload_pack.ts";
import { parseCommit, parseTree, type TreeEntry } from "./git_objects.ts";
import { PackReader } from "./pack_reader.ts";

export { GitError, type GitErrorKind } from "./errors.ts";

/**
 * node:fs as isomorphic-git is given it, for the objects the cache's own packs do not hold (see
 * {@linkcode looseObjects}). isomorphic-git first probes the fs with `readFile()` and no path;
 * Deno's node:fs answers that with a Node TypeError that is costly to build, so this fs answers
 * the probe at once and is node:fs.promises otherwise.
 */
const fs = (() => {
  const p = nodeFs.promises;
  const probe = Promise.reject(new TypeError("readFile needs a path"));
  probe.catch(() => undefined);
  type ReadFile = typeof p.readFile;
  const readFile =
    ((path?: Parameters<ReadFile>[0], options?: Parameters<ReadFile>[1]) =>
      path === undefined ? probe : p.readFile(path, options ?? null)) as ReadFile;
  return { promises: { ...p, readFile } };
})();

/**
 * Objects of a bare repository that the cache's packs do not list, read by isomorphic-git: loose
 * objects and packs written by Git's own tools (a cache the router wrote holds neither, but one
 * repacked or written by `git` still reads). Undefined when the repository lacks `oid`.
 */
function looseObjects(gitdir: string): (oid: string) => Promise<GitObject | undefined> {
  const cache = {};
  return async (oid) => {
    // Imported on first need: a cache the router wrote never needs it, and the library costs an
    // idle router ~8 MB of resident memory once loaded (BENCHMARKS.md, "Footprint").
    const { default: git } = await import("isomorphic-git");
    try {
      const { type, object } = await git.readObject({ fs, gitdir, oid, format: "content", cache });
      return { type: type as ObjectType, content: object as Uint8Array };
    } catch (error) {
      if ((error as { code?: string }).code === "NotFoundError") return undefined;
      throw error;
    }
  };
}

/** Refs of the cache: the commit last served, and the commit last fetched. */
const SERVING = "serving";
const FETCHED = "fetched";

/**
 * The cache is repacked to what the serving commit needs once more than this many packs have
 * piled up (each fetch adds one), or once it holds more objects the serving commit does not
 * need than objects it needs. Until then, commits served a moment ago stay: a force-push back
 * to one of them needs no fetch.
 */
const MAX_PACKS = 8;

/** Where to fetch from and where to cache. */
export interface GitSourceOptions {
  url: string;
  branch: string;
  user?: string;
  token?: string;
  /** The bare clone cache directory (created when missing). */
  dir: string;
  /** Deadline for each HTTP request to the Git server. */
  timeoutMs?: number;
  /** Cap on one fetch: the pack downloaded, and what its objects inflate to. */
  maxFetchBytes: number;
  /** Cap on one object's inflated size. */
  maxBlobBytes: number;
  /** Where repairs of the cache and pruning are reported. */
  logger?: Logger;
}

/** What a source has done since it was made. */
export interface GitSourceStats {
  requests: number;
  bytesReceived: number;
  /** Packs fetched, and the objects they held as received. */
  fetches: number;
  objectsReceived: number;
}

/** One followed branch of one remote repository, cached in a bare clone. */
export class GitSource implements RevisionSource {
  readonly #options: GitSourceOptions;
  readonly #http: GitHttpTransport;
  readonly #remote: UploadPackClient;
  readonly #packs: PackCache;
  readonly #logger: Logger;
  readonly #maxFetchBytes: number;
  readonly #maxBlobBytes: number;
  /** Reads objects of the cache (keeping the packs it read); replaced after a prune. */
  #reader: PackReader;
  #opened: Promise<void> | undefined;
  /** A pack was lost at start, and no repack has happened since (see #holds). */
  #partial = false;
  /** A prune under way (it never rejects); the cache is used again once it is done. */
  #pruning: Promise<void> = Promise.resolve();
  #fetches = 0;
  #objectsReceived = 0;
  /** The last commit refused for its size: asked again, it is refused without a download. */
  #refused: { commit: string; error: GitError } | undefined;

  /** Prepares the source; nothing is fetched until asked. */
  constructor(options: GitSourceOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#maxFetchBytes = options.maxFetchBytes;
    this.#maxBlobBytes = options.maxBlobBytes;
    this.#http = gitHttpTransport({
      user: options.user,
      token: options.token,
      timeoutMs: options.timeoutMs,
    });
    this.#remote = new UploadPackClient(options.url, this.#http, {
      maxListingBytes: this.#maxFetchBytes,
    });
    this.#packs = new PackCache(options.dir, {
      branch: options.branch,
      maxObjectBytes: this.#maxBlobBytes,
      maxTotalBytes: this.#maxFetchBytes,
    });
    this.#reader = new PackReader(this.#packs, { fallback: looseObjects(options.dir) });
  }

  /** Requests made, bytes received, packs fetched and the objects they held. */
  get stats(): Readonly<GitSourceStats> {
    return {
      ...this.#http.stats,
      fetches: this.#fetches,
      objectsReceived: this.#objectsReceived,
    };
  }

  /**
   * The commit the remote branch points at now. Protocol v2 asks for this one branch only (one
   * request once the server's capabilities are known); a v0 server lists every ref.
   */
  async remoteHead(): Promise<string> {
    const oid = await this.#guard(() => this.#remote.lsRef(this.#ref));
    if (!oid) throw this.#noBranch();
    return oid;
  }

  /** Whether the cache already holds `commit` (so no fetch is needed to build from it). */
  async hasCommit(commit: string): Promise<boolean> {
    await this.#ready();
    return await this.#holds(commit);
  }

  /**
   * Fetches `commit` (default: the branch tip) and returns the commit fetched, which is the
   * branch tip instead when the server speaks protocol v0.
   */
  async fetch(commit?: string): Promise<string> {
    await this.#ready();
    const want = commit ?? await this.remoteHead();
    if (this.#refused?.commit === want) throw this.#refused.error;
    try {
      return await this.#fetch(want);
    } catch (error) {
      const failure = this.#describe(error, want);
      if (failure.kind === "too-large") this.#refused = { commit: want, error: failure };
      throw failure;
    }
  }

  /** The commit to serve now: the remote branch tip (for syncing). */
  head(): Promise<string> {
    return this.remoteHead();
  }

  /**
   * Records `commit` as the one serving, so a restart can serve it while Git is down, then
   * prunes what it does not need from the cache, in the background: the new index goes live
   * without waiting, and the next use of the cache waits for the prune.
   */
  async remember(commit: string): Promise<void> {
    await this.#ready();
    await this.#packs.writeRef(SERVING, commit);
    this.#pruning = this.#prune(commit).catch((error) => {
      this.#logger.warn("the clone cache was not pruned; it is tried again after the next sync", {
        error: (error as Error).message,
      });
    });
  }

  /** Resolves once a prune under way is done (before the process exits). */
  async settled(): Promise<void> {
    await this.#pruning;
  }

  /** The commit recorded by {@linkcode remember}, when the cache still has it. */
  async remembered(): Promise<string | undefined> {
    await this.#ready();
    const commit = await this.#packs.readRef(SERVING);
    return commit && await this.#holds(commit) ? commit : undefined;
  }

  /** The files of `commit`, fetching it first when the cache lacks it. */
  async load(commit: string): Promise<CommitFiles> {
    if (await this.hasCommit(commit)) return this.files(commit);
    return this.files(await this.fetch(commit));
  }

  /** The files of `commit`, which must be in the cache. */
  files(commit: string): CommitFiles {
    return new CachedCommitFiles(commit, this.#reader);
  }

  get #ref(): string {
    return `refs/heads/${this.#options.branch}`;
  }

  async #fetch(want: string): Promise<string> {
    const haves: string[] = [];
    for (const ref of [SERVING, FETCHED]) {
      const commit = await this.#packs.readRef(ref);
      if (commit && !haves.includes(commit) && await this.#holds(commit)) haves.push(commit);
    }
    // The server must know which held commits lack their parents, or it would leave out
    // objects it assumes their history brings.
    const shallows = new Set(
      [...await this.#packs.readShallow()].filter((c) => this.#packs.has(c)),
    );
    for (const have of haves) if (!(await this.#hasParents(have))) shallows.add(have);
    const { result: fetched, pack } = await this.#packs.receive(
      this.#maxFetchBytes,
      (receiver) =>
        this.#remote.fetch({
          want,
          haves,
          shallows: [...shallows],
          depth: 1,
          // The pack plus its framing (5 bytes per packet of up to 65,515).
          maxBytes: this.#maxFetchBytes + Math.ceil(this.#maxFetchBytes / 65_515) * 5 + 65_536,
        }, { ref: this.#ref, sink: (chunk) => receiver.write(chunk) }),
    );
    this.#fetches++;
    const count = pack.length > 0 ? packObjectCount(pack) : 0;
    this.#objectsReceived += count;
    if (count > 0) {
      const indexed = await indexPack(pack, {
        maxObjectBytes: this.#maxBlobBytes,
        maxTotalBytes: this.#maxFetchBytes,
        readObject: (oid) => this.#readObject(oid),
      });
      await this.#packs.add(indexed);
    }
    if (!this.#packs.has(fetched)) {
      throw new GitError("protocol", `the Git server's pack does not hold commit ${fetched}`);
    }
    await this.#packs.writeRef(FETCHED, fetched);
    if (!(await this.#hasParents(fetched))) shallows.add(fetched);
    await this.#packs.writeShallow(shallows);
    return fetched;
  }

  /**
   * Drops from the cache what `serving` does not need, once packs pile up or unneeded objects
   * outnumber needed ones (see {@linkcode MAX_PACKS}): the needed objects are copied into one
   * new pack and every other pack goes.
   */
  async #prune(serving: string): Promise<void> {
    const needed = await this.#closure(serving);
    const packs = this.#packs.packs();
    const garbage = this.#packs.objectCount - needed.size;
    if (packs.length <= MAX_PACKS && garbage <= needed.size) return;
    const sources = await Promise.all(
      packs.map(async (p) => ({ pack: await this.#packs.readPack(p.name), index: p.index })),
    );
    const built = await repack(sources, {
      keep: needed,
      readObject: (oid) => this.#readObject(oid),
    });
    await this.#packs.add(built);
    for (const pack of packs) {
      if (pack.name !== built.checksum) await this.#packs.remove(pack.name);
    }
    this.#logger.info("clone cache pruned", {
      packs: packs.length,
      removedObjects: garbage,
      keptObjects: needed.size,
    });
    // The reader keeps the packs it read: forget the removed ones.
    this.#reader = new PackReader(this.#packs, { fallback: looseObjects(this.#options.dir) });
    this.#partial = false;
    // Only the serving commit is left whole: a fetched commit other than it is gone.
    const fetched = await this.#packs.readRef(FETCHED);
    if (fetched && !this.#packs.has(fetched)) await this.#packs.deleteRef(FETCHED);
    const shallow = [...await this.#packs.readShallow()].filter((c) => this.#packs.has(c));
    if (!(await this.#hasParents(serving))) shallow.push(serving);
    await this.#packs.writeShallow(shallow);
  }

  /** Every object `commit` needs: itself, its trees and its files. */
  async #closure(commit: string): Promise<Set<string>> {
    const { tree } = parseCommit(await this.#object(commit, "commit"));
    const needed = new Set([commit, tree]);
    const trees = [tree];
    while (trees.length > 0) {
      for (const entry of parseTree(await this.#object(trees.pop()!, "tree"))) {
        if (entry.type === "commit" || needed.has(entry.oid)) continue; // submodule: not here
        needed.add(entry.oid);
        if (entry.type === "tree") trees.push(entry.oid);
      }
    }
    return needed;
  }

  /** Whether the cache holds every parent of `commit`. */
  async #hasParents(commit: string): Promise<boolean> {
    const { parents } = parseCommit(await this.#object(commit, "commit"));
    return parents.every((parent) => this.#packs.has(parent));
  }

  /** The content of `oid`, which must be in the cache and of type `type`. */
  async #object(oid: string, type: ObjectType): Promise<Uint8Array> {
    return objectOf(await this.#reader.read(oid), oid, type);
  }

  /** An object of the cache; throws when the cache lacks it. */
  async #readObject(oid: string): Promise<GitObject> {
    const object = await this.#reader.read(oid);
    if (!object) throw new GitError("protocol", `the clone cache has no object ${oid}`);
    return object;
  }

  /** The cache, checked at first use and not being pruned. */
  async #ready(): Promise<void> {
    await this.#open();
    await this.#pruning;
  }

  /** Checks the cache once, before its first use (see PackCache.open). */
  #open(): Promise<void> {
    this.#opened ??= this.#check().catch((error) => {
      this.#opened = undefined;
      throw error;
    });
    return this.#opened;
  }

  async #check(): Promise<void> {
    const repairs = await this.#packs.open();
    this.#partial = this.#packs.lostPacks;
    for (const repair of repairs) this.#logger.warn("clone cache repaired", { repair });
    if (repairs.length === 0) return;
    // A removed pack may have held part of a commit's tree: a ref to a commit whose tree is not
    // whole would make a fetch leave out what is missing, so it goes.
    for (const ref of [SERVING, FETCHED]) {
      const commit = await this.#packs.readRef(ref);
      if (commit && !(await this.#whole(commit))) {
        await this.#packs.deleteRef(ref);
        this.#logger.warn("clone cache repaired", {
          repair: `forgot commit ${commit}, which the cache no longer holds whole`,
        });
      }
    }
    const shallow = [...await this.#packs.readShallow()].filter((c) => this.#packs.has(c));
    await this.#packs.writeShallow(shallow);
  }

  /**
   * Whether the cache holds `commit` and so needs no fetch to build it. Normally a commit is
   * held whole or not at all (a fetch stores a commit with everything it needs); after a pack
   * was lost, until the next repack, that is checked object by object.
   */
  async #holds(commit: string): Promise<boolean> {
    return this.#partial ? await this.#whole(commit) : this.#packs.has(commit);
  }

  /** Whether the cache holds `commit` with every object it needs. */
  async #whole(commit: string): Promise<boolean> {
    if (!this.#packs.has(commit)) return false;
    try {
      const needed = await this.#closure(commit);
      return [...needed].every((oid) => this.#packs.has(oid));
    } catch {
      return false;
    }
  }

  #describe(error: unknown, commit?: string): GitError {
    return describeGitFailure(error, {
      url: this.#options.url,
      token: this.#options.token,
      commit,
      maxFetchBytes: this.#maxFetchBytes,
    });
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.#describe(error);
    }
  }

  #noBranch(): GitError {
    return new GitError(
      "not-found",
      `branch "${this.#options.branch}" does not exist in ${this.#options.url}`,
    );
  }
}

/** The content of `object` (read as `oid`), which must be of type `type`. */
function objectOf(object: GitObject | undefined, oid: string, type: ObjectType): Uint8Array {
  if (!object) throw new GitError("protocol", `the clone cache has no object ${oid}`);
  if (object.type !== type) {
    throw new GitError("protocol", `object ${oid} is a ${object.type}, not a ${type}`);
  }
  return object.content;
}

class CachedCommitFiles implements CommitFiles {
  readonly contentAddressed = true;
  readonly #trees = new Map<string, Promise<Map<string, TreeEntry>>>();
  readonly #reader: PackReader;
  constructor(readonly revision: string, reader: PackReader) {
    this.#reader = reader;
  }

  async entry(path: string): Promise<RepoEntry> {
    const segments = path.split("/");
    let tree = await this.#tree(await this.#rootTree());
    for (let i = 0; i < segments.length; i++) {
      const found = tree.get(segments[i]);
      if (!found) return { kind: "missing" };
      const last = i === segments.length - 1;
      if (found.mode === "120000") return { kind: "symlink" };
      if (found.mode === "160000") return { kind: "submodule" };
      if (found.type === "tree") {
        if (last) return { kind: "directory" };
        tree = await this.#tree(found.oid);
      } else {
        return last ? { kind: "file", oid: found.oid } : { kind: "missing" };
      }
    }
    return { kind: "missing" };
  }

  async read(oid: string): Promise<Uint8Array> {
    return objectOf(await this.#reader.read(oid), oid, "blob");
  }

  #root: Promise<string> | undefined;
  #rootTree(): Promise<string> {
    return this.#root ??= this.#reader.read(this.revision).then((object) =>
      parseCommit(objectOf(object, this.revision, "commit")).tree
    );
  }

  #tree(oid: string): Promise<Map<string, TreeEntry>> {
    let tree = this.#trees.get(oid);
    if (!tree) {
      tree = this.#reader.read(oid).then((object) =>
        new Map(parseTree(objectOf(object, oid, "tree")).map((e) => [e.path, e]))
      );
      this.#trees.set(oid, tree);
    }
    return tree;
  }
}

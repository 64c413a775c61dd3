/**
 * The Git side of syncing: ask the remote where the branch points (one cheap request), fetch
 * that commit into a bare clone cache, and read files from a commit's own objects. Reading from
 * objects, never from a work tree, is what lets one sync build an index from exactly one commit
 * while the next sync fetches another.
 * @module
 */

import nodeFs from "node:fs";
import { join } from "node:path";
import git from "isomorphic-git";
import type { CommitFiles, RepoEntry, RevisionSource } from "../sync/source.ts";
import { type GitHttpTransport, gitHttpTransport } from "./http_transport.ts";

/**
 * node:fs as isomorphic-git is given it. isomorphic-git wraps the fs again on every call and
 * first probes it with `readFile()` and no path; Deno's node:fs answers that with a Node
 * TypeError that is costly to build (a fifth of an index build's time). This fs answers the
 * probe at once and is node:fs.promises otherwise.
 */
const fs = (() => {
  const p = nodeFs.promises;
  const probe = Promise.reject(new TypeError("readFile needs a path"));
  probe.catch(() => undefined);
  type ReadFile = typeof p.readFile;
  const readFile =
    ((path?: Parameters<ReadFile>[0], options?: Parameters<ReadFile>[1]) =>
      path === undefined ? probe : p.readFile(path, options ?? null)) as ReadFile;
  const { writeFile, mkdir, rmdir, unlink, stat, lstat, readdir, readlink, symlink, rm } = p;
  return {
    promises: {
      readFile,
      writeFile,
      mkdir,
      rmdir,
      unlink,
      stat,
      lstat,
      readdir,
      readlink,
      symlink,
      rm,
    },
  };
})();

/**
 * The fs one commit's files are read through. For every object isomorphic-git stats the git
 * directory, tries the loose object's file and lists `objects/pack`: three runtime calls and a
 * Node error per blob, a tenth of a 10,000-manifest index build. A commit's objects are all in
 * the cache before its files are read, and nothing here deletes objects, so what `objects/`
 * and `objects/pack` held at the first read still holds every object of the commit: the
 * listings are taken once, and a loose object whose fan-out directory did not exist is missing
 * without a call.
 */
function commitObjectsFs(gitdir: string): typeof fs {
  // isomorphic-git calls these with a path and at most an options value; typed loosely here.
  const disk = fs.promises as unknown as Record<
    "readFile" | "readdir" | "stat",
    (path: unknown, options?: unknown) => Promise<unknown>
  >;
  const objects = join(gitdir, "objects");
  const packDir = join(objects, "pack");
  // Undefined when a listing fails: every call then goes to the disk, as without this fs.
  let listing: Promise<{ fanOut: Set<string>; packs: string[] } | undefined> | undefined;
  const list = () =>
    listing ??= Promise.all([disk.readdir(objects), disk.readdir(packDir)]).then(
      ([dirs, packs]) => ({
        fanOut: new Set((dirs as unknown[]).map(String)),
        packs: (packs as unknown[]).map(String),
      }),
      () => undefined,
    );
  let gitdirStat: Promise<unknown> | undefined;
  // A loose object's path: `objects/` + two hex digits + `/` + 38 more.
  const looseFanOut = (path: unknown) =>
    typeof path === "string" && path.length === objects.length + 42 &&
      path.startsWith(objects) && path[objects.length] === "/" && path[objects.length + 3] === "/"
      ? path.slice(objects.length + 1, objects.length + 3)
      : undefined;
  const promises = {
    ...fs.promises,
    readFile: async (path: unknown, options?: unknown) => {
      const fanOut = looseFanOut(path);
      if (fanOut && (await list())?.fanOut.has(fanOut) === false) throw MISSING;
      return disk.readFile(path, options);
    },
    readdir: async (path: unknown, options?: unknown) => {
      const listed = path === packDir && options === undefined ? await list() : undefined;
      return listed ? [...listed.packs] : disk.readdir(path, options);
    },
    stat: (path: unknown, options?: unknown) =>
      path === gitdir && options === undefined
        ? (gitdirStat ??= disk.stat(gitdir))
        : disk.stat(path, options),
  };
  return { promises } as unknown as typeof fs;
}

/** What a missing file reads as (isomorphic-git looks only at the code). */
const MISSING = Object.assign(new Error("no such loose object"), { code: "ENOENT" });

/** Why a Git operation failed, for `/status` and for choosing an HTTP status. */
export type GitErrorKind = "unreachable" | "auth" | "not-found" | "timeout" | "protocol";

/** A Git failure whose message is safe to show (no credentials). */
export class GitError extends Error {
  override name = "GitError";
  /** Wraps a failure of the given kind. */
  constructor(readonly kind: GitErrorKind, message: string) {
    super(message);
  }
}

/** The ref in the cache that names the commit last served. */
const SERVING_REF = "refs/gitfaas/serving";

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
}

/** One followed branch of one remote repository, cached in a bare clone. */
export class GitSource implements RevisionSource {
  readonly #options: GitSourceOptions;
  readonly #http: GitHttpTransport;
  readonly #cache: Record<string, unknown> = {};
  #initialized = false;

  /** Prepares the source; nothing is fetched until asked. */
  constructor(options: GitSourceOptions) {
    this.#options = options;
    this.#http = gitHttpTransport({
      user: options.user,
      token: options.token,
      timeoutMs: options.timeoutMs,
    });
  }

  /** Requests made and bytes received so far. */
  get stats(): Readonly<{ requests: number; bytesReceived: number }> {
    return this.#http.stats;
  }

  /** The commit the remote branch points at now: one request to the server. */
  async remoteHead(): Promise<string> {
    const ref = `refs/heads/${this.#options.branch}`;
    const refs = await this.#guard(() =>
      git.listServerRefs({
        http: this.#http,
        url: this.#options.url,
        prefix: ref,
        protocolVersion: 1,
      })
    );
    const found = refs.find((r) => r.ref === ref);
    if (!found) {
      throw new GitError(
        "not-found",
        `branch "${this.#options.branch}" does not exist in ${this.#options.url}`,
      );
    }
    return found.oid;
  }

  /** Whether the cache already holds `commit` (so no fetch is needed to build from it). */
  async hasCommit(commit: string): Promise<boolean> {
    await this.#init();
    try {
      await git.readCommit({ fs, gitdir: this.#options.dir, oid: commit, cache: this.#cache });
      return true;
    } catch {
      return false;
    }
  }

  /** Fetches the branch tip and returns its commit. */
  async fetch(): Promise<string> {
    await this.#init();
    const result = await this.#guard(() =>
      git.fetch({
        fs,
        http: this.#http,
        gitdir: this.#options.dir,
        url: this.#options.url,
        ref: this.#options.branch,
        singleBranch: true,
        tags: false,
        depth: 1,
        cache: this.#cache,
      })
    );
    if (!result.fetchHead) {
      throw new GitError(
        "not-found",
        `branch "${this.#options.branch}" does not exist in ${this.#options.url}`,
      );
    }
    return result.fetchHead;
  }

  /** The commit to serve now: the remote branch tip (for syncing). */
  head(): Promise<string> {
    return this.remoteHead();
  }

  /** Records `commit` as the one serving, so a restart can serve it while Git is down. */
  async remember(commit: string): Promise<void> {
    await this.#init();
    await git.writeRef({
      fs,
      gitdir: this.#options.dir,
      ref: SERVING_REF,
      value: commit,
      force: true,
    });
  }

  /** The commit recorded by {@linkcode remember}, when the cache still has it. */
  async remembered(): Promise<string | undefined> {
    await this.#init();
    try {
      const commit = await git.resolveRef({ fs, gitdir: this.#options.dir, ref: SERVING_REF });
      return (await this.hasCommit(commit)) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** The files of `commit`, fetching the branch first when the cache lacks it. */
  async load(commit: string): Promise<CommitFiles> {
    if (await this.hasCommit(commit)) return this.files(commit);
    return this.files(await this.fetch());
  }

  /** The files of `commit`, which must be in the cache. */
  files(commit: string): CommitFiles {
    return new CachedCommitFiles(this.#options.dir, commit, this.#cache);
  }

  async #init(): Promise<void> {
    if (this.#initialized) return;
    await fs.promises.mkdir(this.#options.dir, { recursive: true });
    // init is idempotent: it keeps an existing repository, so a warm DATA_DIR is reused.
    await git.init({
      fs,
      gitdir: this.#options.dir,
      bare: true,
      defaultBranch: this.#options.branch,
    });
    await git.addRemote({
      fs,
      gitdir: this.#options.dir,
      remote: "origin",
      url: this.#options.url,
      force: true,
    });
    this.#initialized = true;
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.#describe(error);
    }
  }

  #describe(error: unknown): GitError {
    if (error instanceof GitError) return error;
    const url = this.#options.url;
    const e = error as {
      code?: string;
      name?: string;
      message?: string;
      data?: { statusCode?: number };
    };
    const status = e.data?.statusCode;
    if (status === 401 || status === 403) {
      return new GitError(
        "auth",
        `the Git server refused the credentials (HTTP ${status}) for ${url}: check GIT_USER_NAME and GIT_PERSONAL_TOKEN`,
      );
    }
    if (status === 404) return new GitError("not-found", `no Git repository at ${url} (HTTP 404)`);
    if (status !== undefined) {
      return new GitError("protocol", `the Git server answered HTTP ${status} for ${url}`);
    }
    if (e.name === "TimeoutError" || e.name === "AbortError") {
      return new GitError("timeout", `the Git server at ${url} did not answer in time`);
    }
    if (e.name === "TypeError" || /connect|refused|reset|dns|network/i.test(e.message ?? "")) {
      return new GitError(
        "unreachable",
        `cannot reach the Git server at ${url}: ${this.#clean(e.message)}`,
      );
    }
    return new GitError("protocol", `Git fetch from ${url} failed: ${this.#clean(e.message)}`);
  }

  /** Error texts from libraries may quote request details; never let the token through. */
  #clean(message: string | undefined): string {
    let text = (message ?? "unknown error").split("\n")[0];
    if (this.#options.token) text = text.replaceAll(this.#options.token, "***");
    return text;
  }
}

type TreeEntry = { mode: string; path: string; oid: string; type: string };

class CachedCommitFiles implements CommitFiles {
  readonly contentAddressed = true;
  readonly #trees = new Map<string, Promise<Map<string, TreeEntry>>>();
  readonly #fs: typeof fs;
  constructor(
    readonly gitdir: string,
    readonly revision: string,
    readonly cache: Record<string, unknown>,
  ) {
    this.#fs = commitObjectsFs(gitdir);
  }

  async entry(path: string): Promise<RepoEntry> {
    const segments = path.split("/");
    let tree = await this.#tree(this.revision);
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
    const { blob } = await git.readBlob({
      fs: this.#fs,
      gitdir: this.gitdir,
      oid,
      cache: this.cache,
    });
    return blob;
  }

  #tree(oid: string): Promise<Map<string, TreeEntry>> {
    let tree = this.#trees.get(oid);
    if (!tree) {
      tree = git.readTree({ fs: this.#fs, gitdir: this.gitdir, oid, cache: this.cache })
        .then((result) => new Map(result.tree.map((e) => [e.path, e as TreeEntry])));
      this.#trees.set(oid, tree);
    }
    return tree;
  }
}

/**
 * A folder on disk as a revision source, for development and for `validate`: every read takes
 * a snapshot of the whole tree into memory, and the snapshot's content hash is its revision.
 * An index is therefore still built from one consistent set of files, even while an editor
 * is saving.
 * @module
 */

import type { CommitFiles, RepoEntry, RevisionSource } from "../sync/source.ts";
import { debounce } from "../lib/async.ts";
import { encodeHex } from "../lib/bytes.ts";
import { sha256 } from "../lib/crypto.ts";

/** Folders never read: version control and dependencies. */
const SKIPPED = new Set([".git", "node_modules", ".data"]);
/** Files larger than this are left out of a snapshot (manifests are small). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** One consistent read of a folder. */
class Snapshot implements CommitFiles {
  /** Builds a snapshot from the entries read. */
  constructor(
    readonly revision: string,
    readonly entries: ReadonlyMap<string, RepoEntry>,
    readonly contents: ReadonlyMap<string, Uint8Array>,
  ) {}

  entry(path: string): Promise<RepoEntry> {
    return Promise.resolve(this.entries.get(path) ?? { kind: "missing" });
  }

  read(oid: string): Promise<Uint8Array> {
    const bytes = this.contents.get(oid);
    if (!bytes) return Promise.reject(new Error(`no file ${oid} in the snapshot`));
    return Promise.resolve(bytes);
  }
}

/** A folder read as successive snapshots. */
export class DirectorySource implements RevisionSource {
  readonly #root: string;
  #last: Snapshot | undefined;

  /** A source reading `root`. */
  constructor(root: string) {
    this.#root = root.replace(/\/+$/, "") || "/";
  }

  /** The folder read. */
  get root(): string {
    return this.#root;
  }

  /** Reads the folder now; the revision is `dir-` and a hash of every path and content. */
  async head(): Promise<string> {
    this.#last = await this.#read();
    return this.#last.revision;
  }

  /** The snapshot of `revision` (the last one read, or a fresh read). */
  async load(revision: string): Promise<CommitFiles> {
    if (this.#last?.revision === revision) return this.#last;
    return this.#last = await this.#read();
  }

  async #read(): Promise<Snapshot> {
    const entries = new Map<string, RepoEntry>();
    const contents = new Map<string, Uint8Array>();
    // What the revision hashes: every path and kind, and each file's length and bytes.
    const hashed: (string | Uint8Array)[] = [];
    const walk = async (dir: string, prefix: string) => {
      const names: Deno.DirEntry[] = [];
      for await (const entry of Deno.readDir(dir)) names.push(entry);
      names.sort((a, b) => a.name < b.name ? -1 : 1);
      for (const entry of names) {
        if (SKIPPED.has(entry.name)) continue;
        const path = prefix ? `${prefix}/${entry.name}` : entry.name;
        const full = `${dir}/${entry.name}`;
        if (entry.isSymlink) {
          entries.set(path, { kind: "symlink" });
          hashed.push(`l ${path}\0`);
        } else if (entry.isDirectory) {
          entries.set(path, { kind: "directory" });
          await walk(full, path);
        } else if (entry.isFile) {
          const info = await Deno.stat(full);
          if (info.size > MAX_FILE_BYTES) continue;
          const bytes = await Deno.readFile(full);
          entries.set(path, { kind: "file", oid: path });
          contents.set(path, bytes);
          hashed.push(`f ${path}\0${bytes.length}\0`, bytes);
        }
      }
    };
    await walk(this.#root, "");
    const revision = `dir-${encodeHex(sha256(hashed)).slice(0, 12)}`;
    return new Snapshot(revision, entries, contents);
  }
}

/** Calls `onChange` (debounced) whenever something under `root` changes, until aborted. */
export function watchDirectory(
  root: string,
  onChange: () => void,
  options: { signal: AbortSignal; debounceMs?: number },
): void {
  const watcher = Deno.watchFs(root, { recursive: true });
  options.signal.addEventListener("abort", () => watcher.close(), { once: true });
  const changed = debounce(onChange, options.debounceMs ?? 100, { signal: options.signal });
  (async () => {
    try {
      for await (const event of watcher) {
        if (event.paths.every((p) => p.split("/").some((part) => SKIPPED.has(part)))) continue;
        changed();
      }
    } catch {
      // closed
    } finally {
      changed.clear();
    }
  })();
}

/**
 * A commit held in memory, as the index build reads one (`CommitFiles`): for in-process tests
 * of the index build and of what is built on it, without a Git server.
 * @module
 */

import type { CommitFiles, RepoEntry } from "../../src/sync/source.ts";

/** Options for {@linkcode memoryCommit}. */
export interface MemoryCommitOptions {
  /**
   * Blob ids are SHA-1 hashes of the content, as Git's are (default); false: they are the
   * paths, as a development folder's are, so nothing built from a blob is reused.
   */
  contentAddressed?: boolean;
}

/** A commit of `files` (path → text) named `revision`; `reads` lists every blob read, in order. */
export async function memoryCommit(
  revision: string,
  files: Record<string, string>,
  options: MemoryCommitOptions = {},
): Promise<CommitFiles & { reads: string[] }> {
  const contentAddressed = options.contentAddressed ?? true;
  const blobs = new Map<string, Uint8Array>();
  const paths = new Map<string, string>();
  for (const [path, text] of Object.entries(files)) {
    const bytes = new TextEncoder().encode(text);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
    const oid = contentAddressed
      ? Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")
      : path;
    blobs.set(oid, bytes);
    paths.set(path, oid);
  }
  const reads: string[] = [];
  return {
    revision,
    contentAddressed,
    reads,
    entry(path: string): Promise<RepoEntry> {
      const oid = paths.get(path);
      return Promise.resolve(oid ? { kind: "file", oid } : { kind: "missing" });
    },
    read(oid: string): Promise<Uint8Array> {
      reads.push(oid);
      const bytes = blobs.get(oid);
      return bytes ? Promise.resolve(bytes) : Promise.reject(new Error(`no blob ${oid}`));
    },
  };
}

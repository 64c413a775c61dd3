/**
 * The contents of commits and trees (gitformat-object): the tree and parents a commit names,
 * and a tree's entries. Pure functions on an object's bytes.
 * @module
 */

import { encodeHex } from "../lib/bytes.ts";
import { PackError } from "./pack_index.ts";

/** One entry of a tree. */
export interface TreeEntry {
  /** The mode as Git writes it in a tree, six digits (`040000` for a folder). */
  mode: string;
  /** The entry's name (one path segment). */
  path: string;
  oid: string;
  /** `tree`, `commit` (a submodule) or `blob`. */
  type: "tree" | "commit" | "blob";
}

/** The tree and parent ids in a commit's headers. */
export function parseCommit(content: Uint8Array): { tree: string; parents: string[] } {
  const text = DECODER.decode(content);
  const headerEnd = text.indexOf("\n\n");
  const lines = (headerEnd === -1 ? text : text.slice(0, headerEnd)).split("\n");
  let tree: string | undefined;
  const parents: string[] = [];
  for (const line of lines) {
    if (line.startsWith("tree ")) tree ??= line.slice(5);
    else if (line.startsWith("parent ")) parents.push(line.slice(7));
  }
  if (tree === undefined || !OID.test(tree) || !parents.every((p) => OID.test(p))) {
    throw new PackError("a commit object names no valid tree or parents");
  }
  return { tree, parents };
}

/** The entries of a tree, in the tree's order. */
export function parseTree(content: Uint8Array): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(0x20, at);
    const nul = space === -1 ? -1 : content.indexOf(0, space + 1);
    if (nul === -1 || nul + 21 > content.length) throw new PackError("a tree object is cut short");
    const rawMode = DECODER.decode(content.subarray(at, space));
    const mode = rawMode.padStart(6, "0");
    const path = DECODER.decode(content.subarray(space + 1, nul));
    const oid = encodeHex(content.subarray(nul + 1, nul + 21));
    const type = mode === "040000" ? "tree" : mode === "160000" ? "commit" : "blob";
    entries.push({ mode, path, oid, type });
    at = nul + 21;
  }
  return entries;
}

const DECODER = new TextDecoder();
const OID = /^[0-9a-f]{40}$/;

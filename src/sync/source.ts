/**
 * What the syncer and the index build read revisions through. The Git remote
 * (`git/git_source.ts`) and a folder in development (`dev/directory_source.ts`) implement these;
 * the consumers (`Syncer`, `buildTopicIndex`) own them, so the adapters depend on the
 * consumers' contract and not the other way round.
 * @module
 */

/** Where revisions come from: a Git remote, or a directory in development. */
export interface RevisionSource {
  /** The revision to serve now (for Git, the remote branch's commit: one cheap request). */
  head(): Promise<string>;
  /** The files of `revision`, fetching it if needed. Returns the files actually obtained. */
  load(revision: string): Promise<CommitFiles>;
  /** Records the revision now serving (for a restart while the source is unreachable). */
  remember?(revision: string): Promise<void>;
  /** The revision recorded by `remember`, if it can still be loaded. */
  remembered?(): Promise<string | undefined>;
  /** Resolves once work the source does in the background is done (before the process exits). */
  settled?(): Promise<void>;
}

/** What a path names in a commit. */
export type RepoEntry =
  | { kind: "file"; oid: string }
  | { kind: "missing" }
  | { kind: "directory" }
  | { kind: "symlink" }
  | { kind: "submodule" };

/** Read access to the files of one commit. */
export interface CommitFiles {
  readonly revision: string;
  /**
   * True when an oid names one content forever (Git object ids), so what was built from a blob
   * may be reused for the same oid in another commit.
   */
  readonly contentAddressed?: boolean;
  /** What `path` (relative, `/`-separated) names in this commit. */
  entry(path: string): Promise<RepoEntry>;
  /** The bytes of a file entry. */
  read(oid: string): Promise<Uint8Array>;
}

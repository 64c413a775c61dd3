/**
 * How large a manifest template may be. Every limit is checked while the template compiles, so
 * the work done on a file that breaks one stops there: no file of a commit can make the index
 * build, or a publish, take memory or time out of proportion to what it is allowed to be.
 * @module
 */

/** Limits on one manifest template file. */
export interface TemplateLimits {
  /** Bytes of the file (UTF-8). */
  maxBytes: number;
  /** YAML documents in the file, empty ones (a lone `---`) included. */
  maxDocuments: number;
  /**
   * Mappings, sequences, keys and scalar values it renders to, aliases and merge keys
   * expanded: what one publish of the file builds.
   */
  maxNodes: number;
  /** Characters of keys and literal string values it renders to, aliases expanded. */
  maxText: number;
  /** Mappings and sequences nested in one another. */
  maxDepth: number;
}

/**
 * The limits the router and `validate` apply (README "Limits").
 *
 * - 1 MiB of file: the API server stores no object over 1.5 MiB and a ConfigMap holds at most
 *   1 MiB, so a larger template could only ever be refused by the cluster.
 * - 1,000 documents: ten times the default MAX_OBJECTS_PER_PUBLISH (100), still a small parse.
 * - 50,000 nodes and 4 Mi characters: a Job is ~60 nodes and 1 KB, a 10,000-key ConfigMap
 *   20,000 nodes. The YAML parser's memory grows with the nodes of the document it reads, and
 *   a file at the limit compiles (in the compile worker) and renders well within the 512 MiB
 *   pod (measured: BENCHMARKS.md, "Adversarial templates and the index build"). The same
 *   bound applies to all the files of a topic together, since a publish renders them all.
 * - 100 levels: real manifests (CRDs' schemas included) nest a few dozen levels at most.
 */
export const TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDocuments: 1000,
  maxNodes: 50_000,
  maxText: 4 * 1024 * 1024,
  maxDepth: 100,
});

/**
 * Characters the strings that values are set in may hold over all the objects of one publish
 * (16 Mi): room for a 1 MiB body (1.4 MB as MESSAGE) several times over, while a template that
 * writes `{{MESSAGE}}` thousands of times is refused at publish instead of rendering gigabytes.
 */
export const PUBLISH_VALUE_TEXT_LIMIT = 16 * 1024 * 1024;

/** `n` with thousands separators, for messages. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** `bytes` in B, KiB or MiB, for messages. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${round(bytes / 1024)} KiB`;
  return `${round(bytes / 1024 / 1024)} MiB`;
}

function round(n: number): string {
  return String(Math.round(n * 10) / 10);
}

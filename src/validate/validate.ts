/**
 * `validate`: checks a pipeline repository offline with exactly the index build the router
 * runs (schema, files, templates, object rules, policy), so a commit that passes here is a
 * commit the router will serve. One manifest template can also be checked on its own.
 * @module
 */

import path from "node:path";
import { DirectorySource } from "../dev/directory_source.ts";
import type { CommitFiles, RepoEntry } from "../sync/source.ts";
import { type BuildOptions, buildTopicIndex, IndexBuildError } from "../topics/topic_index.ts";

/** What validating a folder or a file found. */
export interface ValidationResult {
  ok: boolean;
  /**
   * Every problem found, one line each. Each starts with the path of its file relative to
   * the folder validated (then a line or a JSON path), so a caller can prefix the folder.
   */
  problems: string[];
  topics: number;
  manifests: number;
}

/** Validates the pipeline repository in `dir` (its working tree, as the router would read it). */
export async function validateRepository(
  dir: string,
  options: BuildOptions,
): Promise<ValidationResult> {
  const source = new DirectorySource(dir);
  return await validateFiles(await source.load(await source.head()), options);
}

/** The config a lone manifest is checked with: one topic listing only that file. */
const LONE_CONFIG = "(validate)";

/**
 * Validates one manifest template on its own, as the only file of one topic: it compiles, each
 * object passes the object rules and the policy, and a publish stays within the limits.
 */
export async function validateManifest(
  file: string,
  options: Omit<BuildOptions, "configPath">,
): Promise<ValidationResult> {
  const name = path.basename(file);
  const config = JSON.stringify({ topics: [{ name: "manifest", configs: [name] }] });
  const contents = new Map([[LONE_CONFIG, new TextEncoder().encode(config)], [
    name,
    await Deno.readFile(file),
  ]]);
  const files: CommitFiles = {
    revision: "file",
    entry: (p: string): Promise<RepoEntry> =>
      Promise.resolve(contents.has(p) ? { kind: "file", oid: p } : { kind: "missing" }),
    read: (oid: string) => Promise.resolve(contents.get(oid)!),
  };
  const result = await validateFiles(files, { ...options, configPath: LONE_CONFIG });
  // Problems the build finds with the file as a topic are the file's own.
  const problems = result.problems.map((problem) =>
    problem.startsWith(`${LONE_CONFIG}: topics[0].configs[0]: `)
      ? problem.slice(`${LONE_CONFIG}: topics[0].configs[0]: `.length)
      : problem.startsWith(`${LONE_CONFIG}: topics[0]`)
      ? `${name}${problem.slice(`${LONE_CONFIG}: topics[0]`.length)}`
      : problem
  );
  return { ...result, problems, topics: 0 };
}

async function validateFiles(files: CommitFiles, options: BuildOptions): Promise<ValidationResult> {
  try {
    const index = await buildTopicIndex(files, options);
    const topics = [...index.topics.values()];
    const problems = [...new Set(topics.flatMap((t) => t.problems))].sort();
    return {
      ok: problems.length === 0,
      problems,
      topics: topics.length,
      manifests: new Set(topics.flatMap((t) => t.manifests.map((m) => m.path))).size,
    };
  } catch (error) {
    if (error instanceof IndexBuildError) {
      return { ok: false, problems: error.problems, topics: 0, manifests: 0 };
    }
    throw error;
  }
}

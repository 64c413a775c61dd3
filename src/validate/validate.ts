/**
 * `validate`: checks a pipeline repository offline with exactly the index build the router
 * runs (schema, files, templates, object rules, policy), so a commit that passes here is a
 * commit the router will serve.
 * @module
 */

import { DirectorySource } from "../dev/directory_source.ts";
import { type BuildOptions, buildTopicIndex, IndexBuildError } from "../topics/topic_index.ts";

/** What validating a folder found. */
export interface ValidationResult {
  ok: boolean;
  /** One line per problem, each naming its file (and line or JSON path). */
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
  const files = await source.load(await source.head());
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

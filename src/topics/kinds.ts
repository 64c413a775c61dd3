/**
 * The kinds a topic creates, read from its compiled templates: `apiVersion` and `kind` are
 * written out in every document (the index build refuses templated ones), so they are known
 * without rendering anything.
 * @module
 */

import type { CompiledTemplate } from "../render/template.ts";
import type { Topic } from "./topic_index.ts";

/** A kind as a template writes it. */
export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** The kinds `template`'s documents create, in order of first appearance. */
export function templateKinds(template: CompiledTemplate): KindRef[] {
  const kinds: KindRef[] = [];
  for (const doc of template.documents) {
    const root = doc.root;
    if (typeof root !== "object" || root === null || Array.isArray(root)) continue;
    const { apiVersion, kind } = root as Record<string, unknown>;
    if (typeof apiVersion === "string" && typeof kind === "string") {
      kinds.push({ apiVersion, kind });
    }
  }
  return unique(kinds);
}

/** The kinds a publish to `topic` creates, over all of its manifest files. */
export function topicKinds(topic: Topic): KindRef[] {
  return unique(topic.manifests.flatMap((m) => templateKinds(m.template)));
}

function unique(kinds: KindRef[]): KindRef[] {
  const seen = new Map<string, KindRef>();
  for (const k of kinds) seen.set(`${k.apiVersion}\0${k.kind}`, k);
  return [...seen.values()];
}

/**
 * `GET /topics`: the topics of the live index, their manifests, the kinds they create, the query
 * values they use, and whether each can be used.
 * @module
 */

import { BUILT_IN_NAMES } from "../../publish/values.ts";
import { topicKinds } from "../../topics/kinds.ts";
import type { TopicIndex } from "../../topics/topic_index.ts";
import { HttpError } from "../http_error.ts";
import { json } from "../json.ts";
import { nextTicks } from "./status.ts";
import { readRoute } from "../read_route.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";

/** The `/topics` route over the live index. */
export function topicsRoute(options: { index: () => TopicIndex | null }): Route {
  return readRoute("/topics", () => {
    const index = options.index();
    if (!index) throw new HttpError(STATUS_CODE.ServiceUnavailable, "no topic index loaded yet");
    const ticks = nextTicks(index, new Date());
    const topics = [...index.topics.values()].map((t) => ({
      name: t.name,
      manifests: t.manifests.map((m) => m.path),
      kinds: topicKinds(t),
      // The query values its templates use (what a caller may set).
      values: [...new Set(t.manifests.flatMap((m) => m.template.valueNames))]
        .filter((name) => !BUILT_IN_NAMES.has(name)),
      usable: t.problems.length === 0,
      ...(t.problems.length > 0 ? { problems: t.problems } : {}),
      ...(ticks[t.name] ?? {}),
    }));
    return json({ revision: index.revision, topics });
  });
}

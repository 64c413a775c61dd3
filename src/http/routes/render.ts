/**
 * `POST /render/<topic>`: a publish rendered and checked, with nothing applied. It takes what
 * a publish takes (body, query values) and answers the objects and the problems that would
 * refuse them: the web page's playground.
 * @module
 */

import { type PreviewOptions, previewPublish } from "../../publish/preview.ts";
import type { TopicIndex } from "../../topics/topic_index.ts";
import { json } from "../json.ts";
import { parsePublishRequest, type PublishLimits } from "../publish_request.ts";
import type { Route } from "../route.ts";

/** What the render route needs. */
export interface RenderRouteOptions {
  /** The live index, read once per render. */
  index: () => TopicIndex | null;
  /** Namespace and policy, as a publish has them. */
  preview: PreviewOptions;
  /** The publish's limits on body and query. */
  limits: PublishLimits;
}

/** The render route. */
export function renderRoute(options: RenderRouteOptions): Route {
  return {
    pattern: new URLPattern({ pathname: "/render/*" }),
    method: "POST",
    handler: async (request, params) => {
      const rawTopic = params?.pathname.groups["0"] ?? "";
      const parsed = await parsePublishRequest(request, rawTopic, options.limits);
      try {
        return json(previewPublish(options.index(), parsed, options.preview));
      } finally {
        options.limits.bodyBudget?.give(parsed.body.byteLength);
      }
    },
  };
}

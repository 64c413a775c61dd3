/**
 * A preview of a publish: the objects it would apply, through the publish's own render and
 * local settle steps (values, labels, namespaces, derived names), and every problem the index
 * build's checks and the policy find in them. Pure: no API server is asked and nothing is
 * applied, so it is safe to call as often as someone types (the web page's playground).
 * @module
 */

import type { KubeObject } from "../kube/apply.ts";
import type { Policy } from "../policy/policy.ts";
import { checkRenderedObject } from "../topics/checks.ts";
import type { TopicIndex } from "../topics/topic_index.ts";
import { describeRendered } from "./check.ts";
import { PublishError } from "./errors.ts";
import { execLimitProblems } from "./exec_limits.ts";
import type { PublishRequest } from "./publisher.ts";
import { renderTopic } from "./render.ts";
import { settleLocally } from "./settle.ts";
import { publishSeed, requestDigest } from "./values.ts";

/** One object a publish would apply. */
export interface PreviewObject {
  manifest: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  object: KubeObject;
}

/** What {@linkcode previewPublish} answers (the body of `POST /render/<topic>`). */
export interface Preview {
  topic: string;
  revision: string;
  objects: PreviewObject[];
  /**
   * Why a publish with these values would be refused, each naming its file: the topic's
   * problems from the index build (as `validate` reports them), then those of the rendered
   * objects. Empty when it would be accepted.
   */
  problems: string[];
}

/** Where preview objects go and what may be applied. */
export interface PreviewOptions {
  /** Namespace for objects that name none. */
  namespace: string;
  policy: Policy;
}

/**
 * Renders `request.topic` from `index` as a publish would, without applying anything. Throws
 * {@linkcode PublishError} (`no-index`, `unknown-topic`) when there is nothing to render. A kind
 * is taken as namespaced unless it is a well-known cluster-scoped one, as in a publish without
 * a cluster.
 */
export function previewPublish(
  index: TopicIndex | null,
  request: Pick<PublishRequest, "topic" | "body" | "query" | "idempotencyKey">,
  options: PreviewOptions,
): Preview {
  if (!index) {
    throw new PublishError("no topic index is loaded yet: the first Git sync has not succeeded", {
      reason: "no-index",
      retryAfterSeconds: 5,
    });
  }
  const topic = index.topics.get(request.topic);
  if (!topic) {
    throw new PublishError(`unknown topic "${request.topic}"`, { reason: "unknown-topic" });
  }
  const requestUuid = publishSeed(topic.name, request.idempotencyKey);
  const digest = request.idempotencyKey !== undefined
    ? requestDigest(topic.name, request.body, request.query)
    : undefined;
  const rendered = renderTopic(topic, { ...request, requestUuid, requestDigest: digest });
  const namespaced = settleLocally(rendered, { namespace: options.namespace, requestUuid });
  const problems = [...topic.problems];
  const objects = rendered.map((item, i): PreviewObject => {
    const { object } = item;
    const name = object.metadata?.name;
    const namespace = object.metadata?.namespace;
    const at = describeRendered(item);
    const found = [
      ...checkRenderedObject(object, options.policy, { namespaced: namespaced[i] }),
      ...execLimitProblems(object),
    ];
    for (const problem of found) problems.push(`${at}: ${problem}`);
    return {
      manifest: item.manifest,
      apiVersion: object.apiVersion,
      kind: object.kind,
      ...(namespace ? { namespace } : {}),
      ...(name ? { name } : {}),
      object,
    };
  });
  return { topic: topic.name, revision: index.revision, objects, problems: [...new Set(problems)] };
}

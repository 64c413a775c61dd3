/**
 * The render step of a publish: every manifest of the topic, with the request's values, into
 * labelled objects. Nothing here talks to the cluster.
 * @module
 */

import type { KubeObject } from "../kube/apply.ts";
import { PUBLISH_VALUE_TEXT_LIMIT, renderBudget, renderTemplate } from "../render/template.ts";
import type { Topic } from "../topics/topic_index.ts";
import { addAnnotations, addLabels, ANNOTATIONS, type RequestLabels } from "./labels.ts";
import { BUILT_IN_NAMES, manifestValues, requestValues } from "./values.ts";

/** One rendered object and where it came from. */
export interface Rendered {
  /** The manifest file's path. */
  manifest: string;
  object: KubeObject;
  /** `file:document`, which keeps derived names distinct within one publish. */
  where: string;
}

/** What a render needs from the request. */
export interface RenderInput {
  body: Uint8Array;
  query: Iterable<[string, string]>;
  /** The publish's REQUEST_UUID, the seed of every derived value. */
  requestUuid: string;
  /** Labels beyond topic and request: run, parent, revision. */
  labels?: Omit<RequestLabels, "topic" | "requestUuid">;
  /** The built-ins `TRACEPARENT` and `REQUEST_TOKEN`. */
  traceparent?: string;
  requestToken?: string;
  /**
   * The request's digest (`requestDigest`), set on every object as an annotation: with an
   * Idempotency-Key, the cluster's memory of what the key was first used for.
   */
  requestDigest?: string;
}

/** Renders every manifest of `topic`, in order, each object labelled with the request. */
export function renderTopic(topic: Topic, input: RenderInput): Rendered[] {
  const { requestUuid } = input;
  const values = requestValues(topic.name, input.body, {
    query: input.query,
    requestUuid,
    traceparent: input.traceparent,
    requestToken: input.requestToken,
  });
  const labels = { ...input.labels, topic: topic.name, requestUuid };
  // One budget for the whole publish: throws RenderLimitError (413) past it (README "Limits").
  const budget = renderBudget(PUBLISH_VALUE_TEXT_LIMIT);
  return topic.manifests.flatMap((manifest, i) => {
    const fileValues = manifestValues(values, i);
    const fileLabels = { ...labels, functionUid: fileValues.FUNCTION_UID };
    return renderTemplate(manifest.template, fileValues, { stringNames: BUILT_IN_NAMES, budget })
      .map(
        (object, j) => {
          const kubeObject = object as KubeObject;
          addLabels(kubeObject, fileLabels);
          if (input.requestDigest !== undefined) {
            addAnnotations(kubeObject, { [ANNOTATIONS.requestDigest]: input.requestDigest });
          }
          return { manifest: manifest.path, object: kubeObject, where: `${i}:${j}` };
        },
      );
  });
}

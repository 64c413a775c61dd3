/**
 * `POST /publish/<topic>`: parse the request, publish, answer with the report. Every answer is
 * counted in the metrics, refusals and 500s included: the route answers its own errors through
 * the same error boundary as the router, so it knows the status it sends.
 * @module
 */

import type { Logger } from "../../log/logger.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import type { PublishRequest, PublishResult } from "../../publish/publisher.ts";
import type { TopicIndex } from "../../topics/topic_index.ts";
import { callerOf } from "../auth.ts";
import { errorBoundary } from "../error_response.ts";
import { HttpError } from "../http_error.ts";
import { json } from "../json.ts";
import { parsePublishRequest, type PublishLimits, topicOf } from "../publish_request.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";
import { waitOf } from "../wait.ts";
import { type RunsApi, withResult } from "./runs.ts";
import { isFinal } from "../../runs/status.ts";

/** What the publish route needs. */
export interface PublishRouteOptions {
  publisher: { publish(request: PublishRequest): Promise<PublishResult> };
  /** The live index, which bounds the metrics' topic label to configured topics. */
  index: () => TopicIndex | null;
  limits: PublishLimits;
  /** The runs API, for `?wait=<seconds>`; absent: waiting is refused. */
  runs?: Pick<RunsApi, "wait" | "getResult">;
  /** Where publishes are counted, by topic and status. */
  metrics?: Pick<Metrics, "published">;
  /** Where a failure that is a bug is logged. */
  logger?: Logger;
}

/** The publish route. */
export function publishRoute(options: PublishRouteOptions): Route {
  const publish = errorBoundary(async (request: Request, rawTopic: string) => {
    const waitMs = waitOf(new URL(request.url));
    if (waitMs !== undefined && !options.runs) {
      throw new HttpError(
        STATUS_CODE.BadRequest,
        "wait needs the runs API, which follows requests in the cluster (GITFAAS_APPLY is off)",
      );
    }
    const parsed = await parsePublishRequest(request, rawTopic, options.limits);
    let result: PublishResult;
    try {
      const caller = callerOf(request);
      if (caller.kind === "request") parsed.caller = caller.claims;
      result = await options.publisher.publish(parsed);
    } finally {
      // The body is held until the objects are applied, not while the caller waits.
      options.limits.bodyBudget?.give(parsed.body.byteLength);
    }
    const { requestUuid, runId } = result.report;
    const report = {
      ...result.report,
      links: { request: `/requests/${requestUuid}`, run: `/runs/${runId}` },
    };
    if (waitMs === undefined || result.status !== STATUS_CODE.Accepted || parsed.dryRun) {
      return json(report, result.status);
    }
    // Synchronous invocation: hold the answer until the request ends, or the wait runs out.
    // The server's requests never abort their signal (app/fetch_adapter.ts): a waiter that
    // outlives its caller is bounded by the wait and MAX_WAITERS.
    const view = await options.runs!.wait(requestUuid, { timeoutMs: waitMs });
    if (!view) return json(report, result.status);
    const final = isFinal(view.status);
    const body = { ...report, request: await withResult(options.runs!, view, { full: final }) };
    return json(body, final ? STATUS_CODE.OK : STATUS_CODE.Accepted);
  }, { logger: options.logger });

  return {
    pattern: new URLPattern({ pathname: "/publish/*" }),
    method: "POST",
    handler: async (request, params) => {
      const started = performance.now();
      const rawTopic = params?.pathname.groups["0"] ?? "";
      const response = await publish(request, rawTopic);
      const seconds = (performance.now() - started) / 1000;
      options.metrics?.published(topicLabel(options, rawTopic), response.status, seconds);
      return response;
    },
  };
}

/** A topic name for metrics: only names in the live index, so label values stay bounded. */
function topicLabel(options: PublishRouteOptions, rawTopic: string): string {
  const topic = topicOf(rawTopic);
  return topic !== undefined && options.index()?.topics.has(topic) ? topic : "unknown";
}

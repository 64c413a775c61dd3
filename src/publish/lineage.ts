/**
 * Where a publish sits in its run: a publish with no parent starts a run; one whose
 * `traceparent` names an earlier request (or that comes with that request's token) is its
 * child. Pure but for `parentOf`, the lookup of a span in the cluster.
 * @module
 */

import type { RequestTokenClaims } from "../runs/request_token.ts";
import { formatTraceparent, runIdOf, spanIdOf, type TraceParent } from "../runs/trace_context.ts";
import { PublishError } from "./errors.ts";

/** A request's place in its run. */
export interface Lineage {
  runId: string;
  /** The parent request's uuid; null for a run's first request. */
  parent: string | null;
  /** `00-<runId>-<this request's span id>-01`: what a step forwards to publish a child. */
  traceparent: string;
}

/** What decides the lineage of a publish. */
export interface LineageInput {
  /** The `traceparent` header, parsed. */
  traceparent?: TraceParent;
  /** Set when the caller authenticated with a request token: the request it acts for. */
  caller?: RequestTokenClaims;
}

/** Finds the request of run `traceId` whose span is `parentId`, in the cluster. */
export type ParentLookup = (traceId: string, parentId: string) => string | undefined;

/**
 * The lineage of request `requestUuid`. A request token publishes only children of its own
 * request: a `traceparent` naming anything else is refused (403), and none means its own.
 */
export function lineageOf(
  input: LineageInput,
  requestUuid: string,
  options: { parentOf?: ParentLookup } = {},
): Lineage {
  const span = spanIdOf(requestUuid);
  const { traceparent, caller } = input;
  if (caller) {
    const own = traceparent === undefined ||
      (traceparent.traceId === caller.runId &&
        traceparent.parentId === spanIdOf(caller.requestUuid));
    if (!own) {
      throw new PublishError(
        "a request token publishes only children of its own request: send the TRACEPARENT " +
          "its Job was given, or none",
        { reason: "forbidden" },
      );
    }
    return lineage(caller.runId, caller.requestUuid, span);
  }
  if (traceparent) {
    const parent = options.parentOf?.(traceparent.traceId, traceparent.parentId) ?? null;
    return lineage(traceparent.traceId, parent, span);
  }
  return lineage(runIdOf(requestUuid), null, span);
}

function lineage(runId: string, parent: string | null, span: string): Lineage {
  return { runId, parent, traceparent: formatTraceparent(runId, span) };
}

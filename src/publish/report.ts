/**
 * What a publish answers: one report line per object, and the HTTP status the lines add up to.
 * @module
 */

import { STATUS_CODE } from "../http/status.ts";
import type { KubeObject } from "../kube/apply.ts";
import { isRetryableStatus, KubeApiError } from "../kube/errors.ts";
import { GaveUpError } from "../kube/retry.ts";
import type { Rendered } from "./render.ts";

/**
 * What happened to one object; `dry-run`: nothing stored, either because the publish asked for a
 * server-side dry run (`?dryRun=true`, validated by the API server) or because the router runs
 * render-only (no cluster). The name is part of the API, so both keep it.
 */
export type ObjectOutcome =
  | "created"
  | "configured"
  | "unchanged"
  | "failed"
  | "skipped"
  | "dry-run";

/** One object in a publish report. */
export interface ObjectReport {
  manifest: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  outcome: ObjectOutcome;
  error?: string;
  /** The API server's Status reason, such as `AlreadyExists` or `Invalid`. */
  reason?: string;
  /** The API server's HTTP status for a failed object (0: no usable answer). */
  code?: number;
  /** How often it was tried, when it was given up on after retries. */
  attempts?: number;
  /** In a dry run or render-only, the object that would be applied. */
  object?: KubeObject;
}

/** The body of a publish answer. */
export interface PublishReport {
  requestUuid: string;
  /** The run (W3C trace id) this request belongs to. */
  runId: string;
  /** The request that published this one, or null for a run's first. */
  parent: string | null;
  /** What the request's steps forward to publish its children. */
  traceparent: string;
  topic: string;
  revision: string;
  idempotencyKey?: string;
  dryRun?: boolean;
  objects: ObjectReport[];
}

/** A publish answer: HTTP status and report. */
export interface PublishResult {
  status: number;
  report: PublishReport;
}

/**
 * HTTP statuses of a publish that was not refused: 202 every object applied; 422 the API server
 * refused an object; 502 it could not be reached or kept failing; 504 the publish ran out of time.
 */
export const PUBLISH_STATUS = {
  applied: STATUS_CODE.Accepted,
  refused: STATUS_CODE.UnprocessableEntity,
  apiFailed: STATUS_CODE.BadGateway,
  timedOut: STATUS_CODE.GatewayTimeout,
} as const;

/** The identifying fields of `item`'s report line. */
export function identity(item: Rendered): Omit<ObjectReport, "outcome"> {
  return {
    manifest: item.manifest,
    apiVersion: item.object.apiVersion,
    kind: item.object.kind,
    namespace: item.object.metadata?.namespace,
    name: item.object.metadata?.name ?? item.object.metadata?.generateName,
  };
}

/**
 * The report line of an object the API server refused or failed. Anything but a
 * {@linkcode KubeApiError} is not the API server's doing but a bug of ours, and is thrown on:
 * reported as a failed object it would read as "API server unreachable" and invite a retry.
 */
export function failure(item: Rendered, error: unknown): ObjectReport {
  if (!(error instanceof KubeApiError)) throw error;
  return {
    ...identity(item),
    outcome: "failed",
    error: error.message,
    reason: error.reason,
    code: error.status,
    ...(error instanceof GaveUpError ? { attempts: error.attempts } : {}),
  };
}

/** The report line of an object left alone because of another object's failure. */
export function skipped(item: Rendered, why: string): ObjectReport {
  return { ...identity(item), outcome: "skipped", error: `not applied: ${why}` };
}

/** The status the report lines add up to: the worst failure wins. */
export function statusOf(objects: ObjectReport[]): number {
  const failed = objects.filter((o) => o.outcome === "failed");
  if (failed.length === 0) return PUBLISH_STATUS.applied;
  if (failed.some((o) => o.reason === "Timeout")) return PUBLISH_STATUS.timedOut;
  if (failed.some((o) => isRetryableStatus(o.code ?? 0))) return PUBLISH_STATUS.apiFailed;
  return PUBLISH_STATUS.refused;
}

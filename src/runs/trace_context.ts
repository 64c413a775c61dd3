/**
 * W3C Trace Context for runs: a publish with no parent starts a run whose id is a trace id; each
 * request is a span of it. The `traceparent` a Job forwards names its run and its request, so the
 * next publish becomes that request's child. https://www.w3.org/TR/trace-context/#traceparent-header
 * @module
 */

import { createHash } from "node:crypto";

/** The parts of a `traceparent` gitfaas reads: the run (trace id) and the parent span id. */
export interface TraceParent {
  /** 32 lowercase hex characters, not all zero. */
  traceId: string;
  /** 16 lowercase hex characters, not all zero. */
  parentId: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Parses a `traceparent` header, or returns undefined when it is malformed (the specification
 * says to then ignore it and start a new trace). Version `ff` is invalid; a future version may
 * carry more fields after the four of version `00`, which are read as such.
 */
export function parseTraceparent(header: string | null | undefined): TraceParent | undefined {
  if (!header) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, , rest] = match;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId };
}

/** The `traceparent` of a request: its run, its own span id, sampled. */
export function formatTraceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

/**
 * A request's span id, derived from its uuid: any replica can name the span of any request, and a
 * retried publish (same Idempotency-Key, same uuid) gets the same one.
 */
export function spanIdOf(requestUuid: string): string {
  return nonZeroHex(hashHex(`gitfaas-span\0${requestUuid}`).slice(0, 16));
}

/** The run id of a publish that starts a run: derived from its request uuid, like its span. */
export function runIdOf(requestUuid: string): string {
  return nonZeroHex(hashHex(`gitfaas-run\0${requestUuid}`).slice(0, 32));
}

/** True for a string that can be a run id (a W3C trace id). */
export function isRunId(value: string): boolean {
  return /^[0-9a-f]{32}$/.test(value) && !/^0+$/.test(value);
}

function hashHex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** All-zero ids are invalid in Trace Context; a 2^-64 chance, but cheap to rule out. */
function nonZeroHex(hex: string): string {
  return /^0+$/.test(hex) ? hex.slice(0, -1) + "1" : hex;
}

/**
 * Turns an HTTP publish request into a {@linkcode PublishRequest}: the topic from the path,
 * values from the query (also in the seed's `/publish/topic&name=value` form), and a body of an
 * accepted type within the size limit.
 * @module
 */

import { utf8Length } from "../lib/bytes.ts";
import { parseTraceparent } from "../runs/trace_context.ts";
import type { PublishRequest } from "../publish/publisher.ts";
import { type BodyBudget, mediaType, parseJsonBody, readBody } from "./body.ts";
import { HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";

/** Limits on what a publish request may carry. */
export interface PublishLimits {
  maxBodyBytes: number;
  /**
   * Bytes of bodies held at once (MAX_BODY_BYTES_IN_FLIGHT). A parsed request's body stays
   * taken from it: give back `body.byteLength` once the body is no longer held.
   */
  bodyBudget?: BodyBudget;
  /** Time allowed to receive the body (BODY_TIMEOUT). */
  bodyTimeoutMs?: number;
  /** Most query parameters (MAX_QUERY_PARAMS). */
  maxQueryParams: number;
  /** Longest query parameter value in UTF-8 bytes (MAX_QUERY_VALUE_BYTES). */
  maxQueryValueBytes: number;
}

/** Idempotency keys: printable ASCII, at most 255 characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Body types a publish takes; MESSAGE is the body's bytes in base64, whatever the type. Form
 * encoding is refused: it is what `curl -d` sends when no type is given, and its `&` and `=`
 * would read as values that are not there.
 */
const ACCEPTED_TYPES = new Set(["", "application/json", "text/plain", "application/octet-stream"]);
// Control characters have no business in a value and are the raw material of injection
// attempts against text templating; refusing them keeps reports and logs clean too.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The topic named by `rawTopic`, the path after `/publish/`: up to the first `&` (the seed's
 * `/publish/topic&name=value` form), percent-decoded; undefined when it cannot be decoded.
 */
export function topicOf(rawTopic: string): string | undefined {
  const ampersand = rawTopic.indexOf("&");
  try {
    return decodeURIComponent(ampersand === -1 ? rawTopic : rawTopic.slice(0, ampersand));
  } catch {
    return undefined;
  }
}

/**
 * Parses a publish request whose path after `/publish/` is `rawTopic`. Everything but the body
 * is checked before the body is read; the body's bytes stay taken from `limits.bodyBudget`.
 */
export async function parsePublishRequest(
  request: Request,
  rawTopic: string,
  limits: PublishLimits,
): Promise<PublishRequest> {
  const topic = topicOf(rawTopic);
  if (topic === undefined) {
    throw new HttpError(
      STATUS_CODE.BadRequest,
      "the topic in the path is not valid percent-encoding",
    );
  }
  if (topic === "") {
    throw new HttpError(STATUS_CODE.NotFound, "no topic given: POST /publish/<topic>");
  }
  const query = queryOf(request, rawTopic, limits);
  const idempotencyKey = request.headers.get("idempotency-key") ?? undefined;
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new HttpError(
      STATUS_CODE.BadRequest,
      "the Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces",
    );
  }
  const body = await bodyOf(request, limits);
  const dryRun = query.some(([name, value]) =>
    name === "dryRun" && (value === "" || value === "true" || value === "All")
  );
  const traceparent = parseTraceparent(request.headers.get("traceparent"));
  return {
    topic,
    body,
    query,
    dryRun,
    idempotencyKey,
    ...(traceparent ? { traceparent } : {}),
  };
}

/** The values after the topic's `&` and in the query string, within the limits. */
function queryOf(request: Request, rawTopic: string, limits: PublishLimits): [string, string][] {
  const ampersand = rawTopic.indexOf("&");
  const query: [string, string][] = [];
  if (ampersand !== -1) query.push(...new URLSearchParams(rawTopic.slice(ampersand + 1)));
  // `Request.url` is already serialized (its query percent-encoded): the query, up to any
  // fragment, is parsed as is, without parsing the whole URL again.
  const url = request.url;
  const fragment = url.indexOf("#");
  const search = url.indexOf("?");
  if (search !== -1 && (fragment === -1 || search < fragment)) {
    const end = fragment === -1 ? url.length : fragment;
    query.push(...new URLSearchParams(url.slice(search + 1, end)));
  }

  const maxParams = limits.maxQueryParams;
  if (query.length > maxParams) {
    throw new HttpError(
      STATUS_CODE.BadRequest,
      `${query.length} query parameters, more than the limit of ${maxParams}`,
    );
  }
  const maxValueBytes = limits.maxQueryValueBytes;
  for (const [name, value] of query) {
    if (CONTROL.test(name) || CONTROL.test(value)) {
      throw new HttpError(
        STATUS_CODE.BadRequest,
        `query parameter "${name.replace(CONTROL, "?")}" contains a control character`,
      );
    }
    const bytes = utf8Length(value);
    if (bytes > maxValueBytes || name.length > 256) {
      throw new HttpError(
        STATUS_CODE.BadRequest,
        `query parameter "${name.slice(0, 64)}" is longer than the limit of ${maxValueBytes} bytes`,
      );
    }
  }
  return query;
}

/** The body, of an accepted type, within the limits, and valid JSON when it says it is. */
async function bodyOf(request: Request, limits: PublishLimits): Promise<Uint8Array> {
  const type = mediaType(request);
  if (!ACCEPTED_TYPES.has(type)) {
    throw new HttpError(
      STATUS_CODE.UnsupportedMediaType,
      `unsupported content type "${type}": send application/json, text/plain, ` +
        `application/octet-stream or no content type`,
    );
  }
  const body = await readBody(request, limits.maxBodyBytes, {
    budget: limits.bodyBudget,
    timeoutMs: limits.bodyTimeoutMs,
  });
  try {
    if (type === "application/json" && body.byteLength > 0) parseJsonBody(body);
  } catch (error) {
    limits.bodyBudget?.give(body.byteLength);
    throw error;
  }
  return body;
}

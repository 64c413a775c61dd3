/**
 * The one place errors become HTTP answers: a table from error class to status, body fields
 * and headers. A handler throws; the error boundary answers through this table. An error no
 * row knows is a bug in gitfaas: it is logged with its stack and answered 500, saying so, so
 * that nobody mistakes it for a fault of the request, of Git or of the API server and retries.
 * @module
 */

import { GitError } from "../git/git_source.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { PublishError, type PublishRefusal } from "../publish/errors.ts";
import { IndexBuildError } from "../topics/topic_index.ts";
import { RenderLimitError } from "../render/template.ts";
import { TooManyWaitersError } from "../runs/runs.ts";
import { HttpError, RequestAbortedError } from "./http_error.ts";
import { json } from "./json.ts";
import { STATUS_CODE } from "./status.ts";

/** An error as an HTTP answer: status, JSON body and headers. */
export interface ErrorAnswer {
  status: number;
  body: { error: string; [field: string]: unknown };
  headers: Record<string, string>;
}

type Answer = {
  status: number;
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
};
type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;
type Row = { type: ErrorClass<Error>; answer: (error: Error) => Answer };

function row<E extends Error>(type: ErrorClass<E>, answer: (error: E) => Answer): Row {
  return { type, answer: answer as (error: Error) => Answer };
}

/** The status of each reason a publish may be refused for. */
const PUBLISH_REFUSED: Record<PublishRefusal, number> = {
  "no-index": STATUS_CODE.ServiceUnavailable,
  "unknown-topic": STATUS_CODE.NotFound,
  "unusable-topic": STATUS_CODE.Forbidden,
  "policy": STATUS_CODE.Forbidden,
  "invalid-object": STATUS_CODE.UnprocessableEntity,
  "too-large": STATUS_CODE.ContentTooLarge,
  "idempotency-key-reused": STATUS_CODE.UnprocessableEntity,
  "busy": STATUS_CODE.ServiceUnavailable,
  "forbidden": STATUS_CODE.Forbidden,
};

/** Error class → answer; the first row whose class the error is an instance of wins. */
const ANSWERS: Row[] = [
  row(HttpError, (e) => ({ status: e.status, details: e.details, headers: e.headers })),
  // Nobody receives this answer; the status is for the log and the metrics.
  row(RequestAbortedError, () => ({ status: STATUS_CODE.ClientClosedRequest })),
  row(PublishError, (e) => ({
    status: PUBLISH_REFUSED[e.reason],
    details: e.details,
    headers: retryAfter(e.retryAfterSeconds),
  })),
  // A sync (GET /refresh) of a commit that cannot serve, or that Git could not deliver.
  row(IndexBuildError, (e) => ({
    status: STATUS_CODE.UnprocessableEntity,
    details: { revision: e.revision, problems: e.problems },
  })),
  row(GitError, (e) => ({ status: STATUS_CODE.BadGateway, details: { kind: e.kind } })),
  // A publish whose values would fill its templates past PUBLISH_VALUE_TEXT_LIMIT.
  row(RenderLimitError, () => ({ status: STATUS_CODE.ContentTooLarge })),
  // `?wait` beyond MAX_WAITERS.
  row(TooManyWaitersError, () => ({
    status: STATUS_CODE.ServiceUnavailable,
    headers: retryAfter(1),
  })),
];

/** Whether the table has a row for `error`; an error it does not know is answered as a bug. */
export function isKnownError(error: unknown): boolean {
  return ANSWERS.some((r) => error instanceof r.type);
}

function retryAfter(seconds: number | undefined): Record<string, string> {
  return seconds ? { "retry-after": String(seconds) } : {};
}

/** Options for {@linkcode errorAnswer} and {@linkcode errorResponse}. */
export interface ErrorResponseOptions {
  /** Where an unexpected error is logged, with its stack. */
  logger?: Logger;
  /** The request that failed, named in the log line. */
  request?: Request;
}

/**
 * The answer for `error`; `unexpected` is true for an error no row of the table knows, which
 * is logged with its stack to `options.logger`.
 */
export function errorAnswer(
  error: unknown,
  options: ErrorResponseOptions = {},
): ErrorAnswer & { unexpected: boolean } {
  const found = ANSWERS.find((r) => error instanceof r.type);
  if (found) {
    const { status, details = {}, headers = {} } = found.answer(error as Error);
    const body = { error: (error as Error).message, ...details };
    return { status, body, headers, unexpected: false };
  }
  logUnexpected(error, options);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return {
    status: STATUS_CODE.InternalServerError,
    body: {
      error: `internal error: this is a bug in gitfaas, please report it (the router's log ` +
        `has the stack trace): ${message}`,
    },
    headers: {},
    unexpected: true,
  };
}

/** The JSON response for `error`; an unexpected error is logged with its stack first. */
export function errorResponse(error: unknown, options: ErrorResponseOptions = {}): Response {
  const answer = errorAnswer(error, options);
  return json(answer.body, answer.status, answer.headers);
}

/**
 * `handler` made total: whatever it throws is answered through {@linkcode errorResponse}.
 * This is the router's error boundary.
 */
export function errorBoundary<Rest extends unknown[]>(
  handler: (request: Request, ...rest: Rest) => Response | Promise<Response>,
  options: Omit<ErrorResponseOptions, "request"> = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  return async (request, ...rest) => {
    try {
      return await handler(request, ...rest);
    } catch (error) {
      return errorResponse(error, { ...options, request });
    }
  };
}

function logUnexpected(error: unknown, options: ErrorResponseOptions): void {
  const { logger = silentLogger, request } = options;
  logger.error("request failed: a bug in gitfaas", {
    ...(request ? { method: request.method, path: new URL(request.url).pathname } : {}),
    error: (error as Error)?.stack ?? String(error),
  });
}

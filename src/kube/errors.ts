/**
 * Errors from the API server, in one shape: the HTTP status, the Status reason and the API
 * server's own message, plus whether retrying may help. Whatever keeps a request from getting
 * an answer (a refused connection, a TLS failure, the publish's deadline) becomes a
 * `KubeApiError` too, with the original error as its `cause`; any other exception raised while
 * talking to the API server is a bug and is left as it is.
 * @module
 */

import { STATUS_CODE } from "../http/status.ts";

/** Options for {@linkcode KubeApiError}. */
export interface KubeApiErrorOptions extends ErrorOptions {
  /** HTTP status, or 0 when no usable answer came. */
  status: number;
  /** The Status reason (`AlreadyExists`, `Invalid`...), or `Unreachable`/`Timeout`/`BadAnswer`. */
  reason: string;
  /** The server's Retry-After, when it sent one. */
  retryAfterSeconds?: number;
}

/** The API server refused or failed a request, or could not be reached. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  /** HTTP status, or 0 when no usable answer came. */
  readonly status: number;
  /** The Status reason, or `Unreachable`/`Timeout`/`BadAnswer`. */
  readonly reason: string;
  /** The server's Retry-After, when it sent one. */
  readonly retryAfterSeconds?: number;

  /** An API failure described by `options`. */
  constructor(message: string, options: KubeApiErrorOptions) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Whether trying again later may succeed (no answer, 429, 5xx). */
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

/** Whether an API answer with `status` (0: none) may succeed when tried again later. */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === STATUS_CODE.TooManyRequests ||
    status >= STATUS_CODE.InternalServerError;
}

/** The error for a non-2xx answer, from its `Status` body when it has one. */
export function statusError(
  response: { status: number; headers: Headers; text: string },
): KubeApiError {
  const body = response.text;
  let message = body.trim() || `HTTP ${response.status}`;
  let reason = "Error";
  try {
    const status = JSON.parse(body);
    if (status?.kind === "Status") {
      message = status.message ?? message;
      reason = status.reason ?? reason;
    }
  } catch {
    // Not a Status body (a proxy in the way, say): keep the raw text.
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return new KubeApiError(message, {
    status: response.status,
    reason,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  });
}

/** Whether `error` is the abort of a request: its deadline passed, or it was called off. */
export function isAbort(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === "TimeoutError" || name === "AbortError";
}

/** The error for a request that got no answer: `Timeout` for an abort, else `Unreachable`. */
export function transportError(error: unknown, server: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (isAbort(error)) {
    return new KubeApiError(`the API server at ${server} did not answer in time`, {
      status: 0,
      reason: "Timeout",
      cause: error,
    });
  }
  const message = (error as { message?: string } | null)?.message ?? String(error);
  return new KubeApiError(
    `cannot reach the API server at ${server}: ${message.split("\n")[0]}`,
    { status: 0, reason: "Unreachable", cause: error },
  );
}

/**
 * The JSON body of a successful answer to `path`; a body that is not JSON (a proxy in the way)
 * is a `BadAnswer` error, not a bug of ours.
 */
export function answerJson<T>(response: { status: number; text: string }, path: string): T {
  try {
    return JSON.parse(response.text) as T;
  } catch (error) {
    throw new KubeApiError(
      `the API server answered ${
        path.split("?")[0]
      } with HTTP ${response.status} and a body that is not JSON`,
      { status: 0, reason: "BadAnswer", cause: error },
    );
  }
}

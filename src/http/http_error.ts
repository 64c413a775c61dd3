/**
 * The error a request handler throws to answer with a status other than success, shaped like
 * the Deno standard library's `HttpError(status, message, { cause })`. The answer itself is
 * built in one place, `error_response.ts`.
 * @module
 */

/** Options for {@linkcode HttpError}. */
export interface HttpErrorOptions extends ErrorOptions {
  /** Fields added beside `error` in the JSON body (e.g. `limitBytes`). */
  details?: Record<string, unknown>;
  /** Headers of the answer (e.g. `Retry-After`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
}

/** An answer other than success, as an exception a handler can throw. */
export class HttpError extends Error {
  override name = "HttpError";
  /** The HTTP status to answer with. */
  readonly status: number;
  /** Fields added beside `error` in the JSON body. */
  readonly details: Record<string, unknown>;
  /** Headers of the answer. */
  readonly headers: Record<string, string>;

  /** An error answered with `status` and `{"error": message, ...details}`. */
  constructor(status: number, message: string, options: HttpErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

/**
 * The client went away before its request was received: nobody is left to answer. Answered
 * (for logs and metrics only) with 499, the status proxies such as nginx record for it.
 */
export class RequestAbortedError extends Error {
  override name = "RequestAbortedError";
}

/**
 * JSON answers, and the error type handlers throw to answer with a status and
 * `{"error": "..."}`.
 * @module
 */

/** An answer other than success, as an exception a handler can throw. */
export class HttpError extends Error {
  override name = "HttpError";
  /** An error answer; `extra` fields are added beside `error` in the body. */
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A JSON response. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The response for an {@linkcode HttpError}. */
export function errorResponse(error: HttpError): Response {
  return json({ error: error.message, ...error.extra }, error.status, error.headers);
}

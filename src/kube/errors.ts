/**
 * Errors from the API server, in one shape: the HTTP status, the Status reason and the API
 * server's own message, plus whether retrying may help.
 * @module
 */

/** The API server refused or failed a request, or could not be reached. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  /**
   * @param status HTTP status, or 0 when no answer came.
   * @param reason The Status reason (`AlreadyExists`, `Invalid`...), or `Unreachable`/`Timeout`.
   * @param retryAfterSeconds The server's Retry-After, when it sent one.
   */
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** Whether trying again later may succeed (no answer, 429, 5xx). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
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
  return new KubeApiError(
    message,
    response.status,
    reason,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}

/** The error for a request that got no answer. */
export function transportError(error: unknown, server: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const e = error as { name?: string; message?: string };
  if (e.name === "TimeoutError" || e.name === "AbortError") {
    return new KubeApiError(`the API server at ${server} did not answer in time`, 0, "Timeout");
  }
  return new KubeApiError(
    `cannot reach the API server at ${server}: ${(e.message ?? String(error)).split("\n")[0]}`,
    0,
    "Unreachable",
  );
}

/**
 * Why a publish was refused before anything was applied. The reason, not an HTTP status, is
 * what the publisher knows; `http/error_response.ts` turns each reason into an answer.
 * @module
 */

/**
 * `no-index`: no Git sync has succeeded yet; `unknown-topic`: the index has no such topic;
 * `unusable-topic`: the topic's templates failed the checks; `policy`: an object is refused by
 * the policy; `invalid-object`: a rendered object's name or namespace cannot be used;
 * `too-large`: a rendered value is larger than a container can start with;
 * `idempotency-key-reused`: the Idempotency-Key was used before with another request; `busy`: too many requests wait for the API server; `forbidden`: a request token
 * asked for more than its own request's children.
 */
export type PublishRefusal =
  | "no-index"
  | "unknown-topic"
  | "unusable-topic"
  | "policy"
  | "invalid-object"
  | "too-large"
  | "idempotency-key-reused"
  | "busy"
  | "forbidden";

/** Options for {@linkcode PublishError}. */
export interface PublishErrorOptions extends ErrorOptions {
  reason: PublishRefusal;
  /** Seconds after which trying again may succeed (`no-index`, `busy`). */
  retryAfterSeconds?: number;
  /** Fields added beside `error` in the answer (e.g. `problems`). */
  details?: Record<string, unknown>;
}

/** A publish that was refused before anything was applied. */
export class PublishError extends Error {
  override name = "PublishError";
  /** Why it was refused. */
  readonly reason: PublishRefusal;
  /** Seconds after which trying again may succeed. */
  readonly retryAfterSeconds?: number;
  /** Fields added beside `error` in the answer. */
  readonly details: Record<string, unknown>;

  /** A refusal for `options.reason`. */
  constructor(message: string, options: PublishErrorOptions) {
    super(message, { cause: options.cause });
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details ?? {};
  }
}

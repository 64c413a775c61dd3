/**
 * Git failures as the router reports them: a kind (for `/status` and for choosing an HTTP
 * status) and a message that is safe to show (no credentials), made from whatever the
 * transport, the protocol client or the pack indexing threw.
 * @module
 */

import { AnswerTooLargeError, HttpStatusError } from "./http_transport.ts";
import { PackTooLargeError } from "./pack_cache.ts";
import { ObjectTooLargeError, PackError } from "./pack_index.ts";
import { PktLineError } from "./pkt_line.ts";
import { UploadPackError } from "./upload_pack.ts";

/** Why a Git operation failed, for `/status` and for choosing an HTTP status. */
export type GitErrorKind =
  | "unreachable"
  | "auth"
  | "not-found"
  | "timeout"
  | "protocol"
  | "too-large";

/** A Git failure whose message is safe to show (no credentials). */
export class GitError extends Error {
  override name = "GitError";
  /** Wraps a failure of the given kind. */
  constructor(readonly kind: GitErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** What {@linkcode describeGitFailure} needs to know to word a failure. */
export interface FailureContext {
  /** The repository URL (without credentials). */
  url: string;
  /** The token, never to be repeated from a library's message. */
  token?: string;
  /** The commit being fetched, if any. */
  commit?: string;
  /** The GIT_MAX_FETCH_BYTES in force. */
  maxFetchBytes: number;
}

/** A {@linkcode GitError} for anything a Git operation threw. */
export function describeGitFailure(error: unknown, context: FailureContext): GitError {
  if (error instanceof GitError) return error;
  const { url } = context;
  const options = { cause: error };
  const subject = context.commit ? `commit ${context.commit.slice(0, 12)}` : "the fetch";
  const clean = (message: string | undefined) => {
    let text = (message ?? "unknown error").split("\n")[0];
    if (context.token) text = text.replaceAll(context.token, "***");
    return text;
  };
  if (error instanceof HttpStatusError) {
    const status = error.status;
    if (status === 401 || status === 403) {
      return new GitError(
        "auth",
        `the Git server refused the credentials (HTTP ${status}) for ${url}: check GIT_USER_NAME and GIT_PERSONAL_TOKEN`,
        options,
      );
    }
    if (status === 404) {
      return new GitError("not-found", `no Git repository at ${url} (HTTP 404)`, options);
    }
    return new GitError("protocol", `the Git server answered HTTP ${status} for ${url}`, options);
  }
  if (error instanceof PackTooLargeError || error instanceof AnswerTooLargeError) {
    return new GitError(
      "too-large",
      `${subject} is not fetched: the Git server's answer is larger than GIT_MAX_FETCH_BYTES (${context.maxFetchBytes} bytes)`,
      options,
    );
  }
  if (error instanceof ObjectTooLargeError) {
    const what = error.type === "delta" ? "file" : error.type;
    return new GitError(
      "too-large",
      error.limit === "object"
        ? `${subject} is refused: it holds a ${what} of ${error.size} bytes, more than GIT_MAX_BLOB_BYTES (${error.max} bytes)`
        : `${subject} is refused: its objects inflate to more than GIT_MAX_FETCH_BYTES (${error.max} bytes)`,
      options,
    );
  }
  if (
    error instanceof UploadPackError || error instanceof PktLineError ||
    error instanceof PackError
  ) {
    if (context.commit && /not our ref/.test(error.message)) {
      return new GitError("not-found", `${subject} is no longer on the Git server`, options);
    }
    return new GitError(
      "protocol",
      `Git fetch from ${url} failed: ${clean(error.message)}`,
      options,
    );
  }
  const e = error as { name?: string; message?: string };
  if (e.name === "TimeoutError" || e.name === "AbortError") {
    return new GitError("timeout", `the Git server at ${url} did not answer in time`, options);
  }
  if (e.name === "TypeError" || /connect|refused|reset|dns|network/i.test(e.message ?? "")) {
    return new GitError(
      "unreachable",
      `cannot reach the Git server at ${url}: ${clean(e.message)}`,
      options,
    );
  }
  return new GitError("protocol", `Git fetch from ${url} failed: ${clean(e.message)}`, options);
}

/**
 * The HTTP client the Git protocol client talks through: plain `fetch`, with basic auth set here
 * (so the token never sits in a URL that an error message could repeat), a deadline on every
 * request (a server that hangs mid-pack must not stall syncing forever), a cap on the bytes of
 * each answer (counted as they arrive, so an oversized answer is cut off, never buffered) and
 * counters for `/status` and the benchmarks.
 * @module
 */

/** Options for {@linkcode gitHttpTransport}. */
export interface GitHttpTransportOptions {
  user?: string;
  token?: string;
  /** Deadline for one request, body included. */
  timeoutMs?: number;
}

/** What the transport has done since it was made. */
export interface GitHttpStats {
  requests: number;
  bytesReceived: number;
}

/** One request to the Git server. */
export interface GitHttpRequest {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer>;
  /** The answer's body is cut off with {@linkcode AnswerTooLargeError} past this many bytes. */
  maxBytes?: number;
}

/** An answer with a 2xx status; its body is read as it arrives. */
export interface GitHttpResponse {
  status: number;
  headers: Headers;
  /** The body; ending the iteration early aborts the request. */
  body: AsyncIterable<Uint8Array>;
}

/** The server answered with a status other than 2xx. */
export class HttpStatusError extends Error {
  override name = "HttpStatusError";
  /** Wraps the status of `url`'s answer. */
  constructor(readonly status: number, url: string) {
    super(`HTTP ${status} from ${url}`);
  }
}

/** An answer's body went past the request's `maxBytes`. */
export class AnswerTooLargeError extends Error {
  override name = "AnswerTooLargeError";
  /** The cap that was passed. */
  constructor(readonly maxBytes: number) {
    super(`the Git server's answer is larger than ${maxBytes} bytes`);
  }
}

/** A client for the Git server, with counters. */
export interface GitHttpTransport {
  readonly stats: GitHttpStats;
  /** Sends a request; throws {@linkcode HttpStatusError} on a status other than 2xx. */
  request(request: GitHttpRequest): Promise<GitHttpResponse>;
}

/** Makes the transport. */
export function gitHttpTransport(options: GitHttpTransportOptions = {}): GitHttpTransport {
  const stats: GitHttpStats = { requests: 0, bytesReceived: 0 };
  const authorization = options.user !== undefined || options.token !== undefined
    ? "Basic " + btoa(unescape(encodeURIComponent(`${options.user ?? ""}:${options.token ?? ""}`)))
    : undefined;
  const timeoutMs = options.timeoutMs ?? 60_000;
  return {
    stats,
    async request(request: GitHttpRequest): Promise<GitHttpResponse> {
      stats.requests++;
      const headers = new Headers(request.headers ?? {});
      if (authorization) headers.set("authorization", authorization);
      const abort = new AbortController();
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), abort.signal]);
      const response = await fetch(request.url, {
        method: request.method ?? "GET",
        headers,
        body: request.body,
        signal,
        redirect: "follow",
      });
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel().catch(() => undefined);
        throw new HttpStatusError(response.status, new URL(request.url).pathname);
      }
      return {
        status: response.status,
        headers: response.headers,
        body: counted(response.body, { stats, maxBytes: request.maxBytes, abort }),
      };
    },
  };
}

async function* counted(
  body: ReadableStream<Uint8Array> | null,
  options: { stats: GitHttpStats; maxBytes?: number; abort: AbortController },
): AsyncIterableIterator<Uint8Array> {
  if (!body) return;
  let received = 0;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      received += value.length;
      options.stats.bytesReceived += value.length;
      if (options.maxBytes !== undefined && received > options.maxBytes) {
        throw new AnswerTooLargeError(options.maxBytes);
      }
      yield value;
    }
  } finally {
    // Reached early (a cap, an error, or the reader stopped): drop the connection now rather
    // than letting the server stream the rest into a buffer nobody reads.
    options.abort.abort();
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

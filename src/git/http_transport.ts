/**
 * The HTTP client isomorphic-git talks through: plain `fetch`, with basic auth set here (so the
 * token never sits in a URL that an error message could repeat), a deadline on every request
 * (a server that hangs mid-pack must not stall syncing forever) and counters for `/status` and
 * the benchmarks.
 * @module
 */

import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import { concatBytes } from "../lib/bytes.ts";

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

/** An isomorphic-git HTTP client with counters. */
export interface GitHttpTransport extends HttpClient {
  readonly stats: GitHttpStats;
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
      const signals = [AbortSignal.timeout(timeoutMs)];
      if (request.signal) signals.push(request.signal as AbortSignal);
      const response = await fetch(request.url, {
        method: request.method ?? "GET",
        headers,
        body: request.body ? await collect(request.body) : undefined,
        signal: AbortSignal.any(signals),
        redirect: "follow",
      });
      return {
        url: response.url,
        method: request.method,
        statusCode: response.status,
        statusMessage: response.statusText,
        headers: Object.fromEntries(response.headers),
        body: counted(response.body, stats),
      };
    },
  };
}

async function collect(body: AsyncIterableIterator<Uint8Array> | Iterable<Uint8Array>) {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(chunk);
  // Chunks from isomorphic-git are plain ArrayBuffer views, which fetch accepts as a body.
  return concatBytes(chunks) as Uint8Array<ArrayBuffer>;
}

async function* counted(
  body: ReadableStream<Uint8Array> | null,
  stats: GitHttpStats,
): AsyncIterableIterator<Uint8Array> {
  if (!body) return;
  for await (const chunk of body) {
    stats.bytesReceived += chunk.length;
    yield chunk;
  }
}

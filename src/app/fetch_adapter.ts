/**
 * `node:http` requests as web `Request`s and web `Response`s written back, so the handlers
 * written for `Deno.serve` run unchanged on the server of `serve.ts`.
 *
 * The body is a stream that reads from the connection only as the handler reads it (one chunk
 * ahead at most), so a body nobody reads is never buffered. It errors when the client goes
 * away before sending all of it. A request's `signal` never aborts (no handler uses it).
 * Answers are written whole, with their Content-Length: none is a stream.
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { jsonTextOf } from "../http/json.ts";

const encoder = new TextEncoder();

/** The request as a web `Request`, or a 400 `Response` when it cannot be one. */
export function toRequest(req: IncomingMessage): Request | Response {
  const method = req.method ?? "GET";
  try {
    const headers = headersOf(req.rawHeaders);
    const hasBody = method !== "GET" && method !== "HEAD" && declaresBody(req);
    return new Request(urlOf(req), {
      method,
      headers,
      body: hasBody ? bodyOf(req) : null,
      duplex: "half",
    } as RequestInit);
  } catch (error) {
    return Response.json(
      { error: `malformed HTTP request: ${(error as Error).message}` },
      { status: 400 },
    );
  }
}

/**
 * Writes `response` to `res`; `close` asks the client to close the connection after it. Does
 * nothing when the client is gone.
 */
export async function sendResponse(
  res: ServerResponse,
  response: Response,
  options: { close: boolean },
): Promise<void> {
  // An answer of `json()` is written from its text: no body stream is made to read it.
  const text = jsonTextOf(response);
  const body = text !== undefined
    ? encoder.encode(text)
    : response.body
    ? await response.bytes()
    : undefined;
  if (res.destroyed) return;
  const headers: string[] = [];
  response.headers.forEach((value, name) => headers.push(name, value));
  if (body && !response.headers.has("content-length")) {
    headers.push("content-length", String(body.byteLength));
  }
  if (options.close) headers.push("connection", "close");
  res.writeHead(response.status, headers);
  res.end(body);
}

/**
 * The request's headers as the Request's init. A record, not pairs or a Headers object: the
 * Request checks and copies a record with half the garbage of pairs (each pair is an array
 * the conversion iterates) and a third of a Headers object's. Repeated names are joined with
 * ", " as Headers does; a name a record cannot hold as data (`__proto__`) or that Headers keeps
 * apart (`set-cookie`) falls back to pairs.
 */
function headersOf(raw: string[]): Record<string, string> | [string, string][] {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "__proto__" || name === "set-cookie") return pairsOf(raw);
    const seen = Object.hasOwn(headers, name) ? headers[name] : undefined;
    headers[name] = seen === undefined ? raw[i + 1] : `${seen}, ${raw[i + 1]}`;
  }
  return headers;
}

function pairsOf(raw: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i], raw[i + 1]]);
  return pairs;
}

function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined ||
    (length !== undefined && length !== "0");
}

/** The URL from the request target and Host (node has checked both are well-formed). */
function urlOf(req: IncomingMessage): string {
  const target = req.url ?? "/";
  if (!target.startsWith("/")) return new URL(target).href; // absolute-form
  return originOf(req.headers.host) + target;
}

/** The last Host seen and its origin: clients send the same one request after request. */
let lastOrigin: { host: string | undefined; origin: string } = {
  host: undefined,
  origin: "http://localhost",
};

function originOf(host: string | undefined): string {
  if (host === lastOrigin.host) return lastOrigin.origin;
  const origin = host && URL.canParse(`http://${host}`) ? `http://${host}` : "http://localhost";
  lastOrigin = { host, origin };
  return origin;
}

/** The request body as a stream that pulls from the connection as it is read. */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once("end", () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      const abort = (error?: Error) => {
        if (settled) return;
        settled = true;
        controller.error(error ?? new Error("aborted"));
      };
      req.once("error", abort);
      req.once("aborted", () => abort(new Error("the client closed the connection")));
      // A connection closed before the body ended, without an error event.
      req.once("close", () => {
        if (!req.complete) abort(new Error("the connection closed before the body ended"));
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      // Nobody wants the rest: let it flow past, so the connection can serve the next request.
      settled = true;
      req.resume();
    },
  }, { highWaterMark: 1 });
}

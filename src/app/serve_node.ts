/**
 * Serving with `node:http`, where Deno cannot serve connection by connection (`serve.ts`).
 * `Deno.serve` alone has no header, idle or request timeout and no cap on connections, so a
 * client that sends its headers slowly, or keeps a connection idle, holds it for ever;
 * `node:http` has all four (`headersTimeout`, `keepAliveTimeout`, `requestTimeout`,
 * `maxConnections`). `fetch_adapter.ts` turns its requests into web `Request`s, so every
 * handler is the same as under Deno's own server.
 *
 * What a client sees at each limit:
 * - headers not complete within `headerTimeoutMs` of the request's start: 408, closed;
 * - body not complete within `bodyTimeoutMs` of the headers: 408 from the route that reads it;
 *   a body no route reads is discarded, and the connection closed once the request as a whole
 *   has taken longer than both timeouts and a margin;
 * - a kept-alive connection idle for `idleTimeoutMs`: closed;
 * - an answer sent before the whole body arrived (413, 503, 408…) closes the connection, so
 *   the rest of the body is never read;
 * - a connection beyond `maxConnections`: closed at once, without an answer. When the cap is
 *   reached, the connection idle the longest is closed to make room first, so clients that
 *   keep connections idle cannot fill it.
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { deadline } from "../lib/async.ts";
import { silentLogger } from "../log/logger.ts";
import { sendResponse, toRequest } from "./fetch_adapter.ts";
import { bugAnswer, type ServeOptions, type Server } from "./server_options.ts";

/** Time beyond both timeouts after which a request whose body nobody read is cut off. */
const BACKSTOP_MS = 5_000;

/** Serves `handler` with `node:http` and resolves once it listens. */
export async function serveNode(
  handler: (request: Request) => Promise<Response>,
  options: ServeOptions,
): Promise<Server> {
  const logger = options.logger ?? silentLogger;
  const connections = new Connections(options);
  let draining = false;
  const server = createServer({
    headersTimeout: options.headerTimeoutMs,
    requestTimeout: options.headerTimeoutMs + options.bodyTimeoutMs + BACKSTOP_MS,
    keepAliveTimeout: options.idleTimeoutMs,
    // How often the two timeouts above are checked: they fire up to this much late.
    connectionsCheckingInterval: Math.min(1000, options.headerTimeoutMs / 2),
  }, (req: IncomingMessage, res: ServerResponse) => {
    connections.busy(req.socket);
    res.once("finish", () => connections.idle(req.socket));
    answer(req, res).catch((error) => {
      logger.error("cannot answer a request", { error: (error as Error)?.stack ?? String(error) });
      res.destroy();
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = toRequest(req);
    if (request instanceof Response) return await sendResponse(res, request, { close: true });
    let response: Response;
    try {
      response = await handler(request);
    } catch (error) {
      logger.error("request failed: a bug in gitfaas", { error: (error as Error)?.stack });
      response = bugAnswer();
    }
    // Answered before the whole body arrived: the rest is not worth reading (nor, for a
    // stalled client, waiting for).
    const unread = !req.complete;
    // Once the answer is out, the connection goes at once: node would read the rest first.
    if (unread) res.once("finish", () => req.socket.destroy());
    await sendResponse(res, response, { close: draining || unread });
  }

  server.on("clientError", answerClientError);

  // After node's own listener, which has only attached its parser: no byte was read yet.
  server.on("connection", (socket: Socket) => connections.accept(socket));

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, options)));
    server.listen({ host: options.hostname, port: options.port }, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : options.port);
    });
  });
  // Listening: an error now (out of file descriptors, say) is reported, never a crash.
  server.on(
    "error",
    (error: Error) => logger.error("the HTTP server failed", { error: String(error) }),
  );

  return {
    port,
    shutdown: async (graceMs) => {
      draining = true;
      // close() stops accepting and closes idle connections; busy ones close after answering.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const inTime = await deadline(closed, graceMs).then(() => true, () => false);
      if (!inTime) server.closeAllConnections();
      return inTime;
    },
  };
}

/**
 * The open connections, each busy (a request under way, or none yet) or idle (kept alive after
 * an answer), in the order they became so; at most `maxConnections` of them.
 */
class Connections {
  readonly #open = new Map<Socket, { idle: boolean }>();
  readonly #options: ServeOptions;

  constructor(options: ServeOptions) {
    this.#options = options;
  }

  /** Keeps `socket`, closing the longest idle one to make room; or closes it when full. */
  accept(socket: Socket): void {
    if (this.#open.size >= this.#options.maxConnections) this.#closeLongestIdle();
    if (this.#open.size >= this.#options.maxConnections) {
      socket.destroy();
      this.#options.onRefused?.();
      return;
    }
    this.#open.set(socket, { idle: false });
    socket.once("close", () => {
      if (this.#open.delete(socket)) this.#options.onConnections?.(this.#open.size);
    });
    this.#options.onConnections?.(this.#open.size);
  }

  busy(socket: Socket): void {
    this.#move(socket, false);
  }

  idle(socket: Socket): void {
    this.#move(socket, true);
  }

  /** Re-inserts `socket`, so the map stays in the order connections changed state. */
  #move(socket: Socket, idle: boolean): void {
    const state = this.#open.get(socket);
    if (!state || state.idle === idle) return;
    this.#open.delete(socket);
    this.#open.set(socket, { idle });
  }

  #closeLongestIdle(): void {
    for (const [socket, state] of this.#open) {
      if (!state.idle) continue;
      this.#open.delete(socket);
      socket.destroy();
      this.#options.onConnections?.(this.#open.size);
      return;
    }
  }
}

/**
 * The answer to a request that never reached a handler: its headers were too slow, too large
 * or malformed. Written only when nothing of a response went out on the connection yet (as
 * node's own default does), then the connection is closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, message] = error.code === "ERR_HTTP_REQUEST_TIMEOUT"
    ? [408, "Request Timeout", "the request did not arrive in time"]
    : error.code === "HPE_HEADER_OVERFLOW"
    ? [431, "Request Header Fields Too Large", "the request headers are too large"]
    : [400, "Bad Request", `malformed HTTP request (${error.code ?? error.message})`];
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `content-length: ${new TextEncoder().encode(body).byteLength}\r\nconnection: close\r\n\r\n` +
      body,
  );
}

/** The error of a failed listen, as `Deno.serve` would throw it (main.ts names the port). */
function listenError(error: NodeJS.ErrnoException, options: ServeOptions): Error {
  if (error.code === "EADDRINUSE") {
    return new Deno.errors.AddrInUse(
      `port ${options.port} is already in use on ${options.hostname}`,
      { cause: error },
    );
  }
  if (error.code === "EACCES") {
    return new Deno.errors.PermissionDenied(error.message, { cause: error });
  }
  return error;
}

/**
 * Serving with Deno's own HTTP server, connection by connection, so that the limits
 * `Deno.serve` lacks (no header or idle timeout, no cap on connections in Deno 2.9) are kept
 * around it: each connection is accepted here (`Deno.listen`), counted, timed, and handed to the
 * server `Deno.serve` runs on every connection (`serveHttpOnConnection`, kept among Deno's
 * internals). Where Deno has no such function, `nativeServing()` is false and `serve.ts` falls
 * back to `node:http`.
 *
 * Why: the same publish costs 10–20 % less CPU than under `node:http` and its adapter
 * (BENCHMARKS.md, issue 19), with a dozen fewer objects per request for the garbage collector.
 *
 * What a client sees at each limit:
 * - no complete request head within `headerTimeoutMs` of connecting, or within `idleTimeoutMs`
 *   of the last answer on a kept-alive connection: closed. No answer is possible: Deno's server
 *   holds the partial head, and a slow head looks the same as an idle connection from here;
 * - body not complete within `bodyTimeoutMs` of the head: 408 from the route that reads it;
 * - an error answer (4xx, 5xx) to a request that has a body says `connection: close`, and the
 *   connection is cut `LINGER_MS` later if the client has not sent the rest of its body by then
 *   (Deno's server would wait for it, from a stalled client for ever);
 * - a head larger than Deno's limit (64 KiB): 400, closed;
 * - a connection beyond `maxConnections`: closed at once, without an answer. When the cap is
 *   reached, the connection idle the longest is closed to make room first.
 * @module
 */

import { deadline } from "../lib/async.ts";
import { silentLogger } from "../log/logger.ts";
import { bugAnswer, type ServeOptions, type Server } from "./server_options.ts";

/** How long a connection told to close may take to send the rest of a body nobody reads. */
const LINGER_MS = 1_000;

/** What Deno's `serveHttpOnConnection` returns. */
interface ConnectionServer {
  finished: Promise<void>;
  /** Closes once the requests under way are answered (it waits for a body nobody reads). */
  shutdown(): Promise<void>;
}

/**
 * Where Deno's server listens for the abort of its connection. Only `addEventListener` is
 * called, so this stands in for an `AbortSignal`, and the abort runs where its error can be
 * caught: through a real signal, cutting a connection that has just ended on its own throws an
 * uncaught error from the signal's listener.
 */
interface CancelHook {
  addEventListener(type: "abort", listener: () => void): void;
}

type ServeOnConnection = (
  connection: Deno.Conn,
  signal: CancelHook,
  handler: (request: Request, info: { completed: Promise<void> }) => Promise<Response>,
  onError: (error: unknown) => Response,
  onListen: () => void,
) => ConnectionServer;

function serveOnConnection(): ServeOnConnection | undefined {
  const internal = (Deno as unknown as { internal?: symbol }).internal;
  if (internal === undefined) return undefined;
  const internals = (Deno as unknown as Record<symbol, Record<string, unknown> | undefined>)[
    internal
  ];
  const found = internals?.serveHttpOnConnection;
  return typeof found === "function" ? found as ServeOnConnection : undefined;
}

/** Whether this Deno can serve connection by connection (see the module's notes). */
export function nativeServing(): boolean {
  return serveOnConnection() !== undefined;
}

/** Serves `handler` with Deno's HTTP server and resolves once it listens. */
export async function serveNative(
  handler: (request: Request) => Promise<Response>,
  options: ServeOptions,
): Promise<Server> {
  const serveOn = serveOnConnection();
  if (!serveOn) throw new Error("this Deno cannot serve connection by connection");
  const logger = options.logger ?? silentLogger;
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const connections = new Connections(options);
  let draining = false;
  // Tells pooling clients when an idle connection will be closed, as node:http does.
  const keepAlive = `timeout=${Math.floor(options.idleTimeoutMs / 1000)}`;

  const answer = async (request: Request): Promise<Response> => {
    try {
      return await handler(request);
    } catch (error) {
      logger.error("request failed: a bug in gitfaas", { error: (error as Error)?.stack });
      return bugAnswer();
    }
  };
  // Deno's server calls this when a response cannot be sent as given.
  const onError = (error: unknown): Response => {
    logger.error("cannot answer a request", { error: (error as Error)?.stack ?? String(error) });
    return bugAnswer();
  };

  const serveConnection = (conn: Deno.Conn) => {
    const connection = connections.accept(conn);
    if (!connection) return;
    const served = serveOn(
      conn,
      connection,
      async (request, info) => {
        connection.busy();
        const response = await answer(request);
        const close = response.status >= 400 && declaresBody(request);
        setConnectionHeader(response, close || draining ? "close" : undefined, keepAlive);
        const done = () => connection.answered(close);
        info.completed.then(done, done);
        return response;
      },
      onError,
      () => {},
    );
    connection.attach(served);
  };

  const accepting = (async () => {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return; // closed by shutdown
        // Out of file descriptors, say: reported, never a crash; accepting goes on shortly.
        logger.error("the HTTP server failed", { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      serveConnection(conn);
    }
  })();

  // Listening already; the caller gets the server on the next turn, as from `node:http`.
  await Promise.resolve();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    shutdown: async (graceMs) => {
      draining = true;
      listener.close();
      await accepting;
      const inTime = await deadline(connections.closeAll(), graceMs).then(() => true, () => false);
      if (!inTime) connections.cancelAll();
      return inTime;
    },
  };
}

/**
 * `Connection: close` on `response` when the connection ends after it, `Keep-Alive` with the
 * idle timeout otherwise (when its headers can be changed).
 */
function setConnectionHeader(
  response: Response,
  connection: "close" | undefined,
  keepAlive: string,
): void {
  try {
    if (connection) response.headers.set("connection", connection);
    else response.headers.set("keep-alive", keepAlive);
  } catch {
    // Immutable headers (a response made elsewhere): a closing connection is cut all the same.
  }
}

function declaresBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  return request.headers.has("transfer-encoding") || (length !== null && length !== "0");
}

/**
 * One connection: busy while a request is under way (or before the first), idle once every
 * request on it was answered, and cut by its timer when either lasts too long.
 */
class Connection implements CancelHook {
  /** When every request on it had been answered; undefined while busy. */
  idleSince: number | undefined;
  #inFlight = 0;
  #closing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #server: ConnectionServer | undefined;
  #cancel: (() => void) | undefined;
  readonly #owner: Connections;

  constructor(owner: Connections, headerTimeoutMs: number) {
    this.#owner = owner;
    this.#arm(headerTimeoutMs);
  }

  /** Deno's server hands over how to cut this connection. */
  addEventListener(_type: "abort", listener: () => void): void {
    this.#cancel = listener;
  }

  attach(server: ConnectionServer): void {
    this.#server = server;
    server.finished.catch(() => {}).finally(() => {
      clearTimeout(this.#timer);
      this.#owner.ended(this);
    });
  }

  busy(): void {
    this.#inFlight++;
    if (this.#closing) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.idleSince = undefined;
  }

  /** A request's answer is out; after `close`, the connection is cut unless it ends first. */
  answered(close: boolean): void {
    this.#inFlight--;
    if (this.#closing) return;
    if (close) {
      this.#closing = true;
      this.#arm(LINGER_MS);
    } else if (this.#inFlight === 0) {
      this.idleSince = performance.now();
      this.#arm(this.#owner.idleTimeoutMs);
    }
  }

  /** Closes the connection once the requests under way are answered; resolves when closed. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#server?.shutdown().catch(() => {});
    await this.#server?.finished.catch(() => {});
  }

  /** Cuts the connection at once, whatever it is doing. */
  cancel(): void {
    clearTimeout(this.#timer);
    try {
      this.#cancel?.();
    } catch {
      // It has just ended on its own: nothing is left to cut.
    }
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.cancel(), ms);
  }
}

/** The open connections; at most `maxConnections`. */
class Connections {
  readonly #open = new Set<Connection>();
  readonly #options: ServeOptions;

  constructor(options: ServeOptions) {
    this.#options = options;
  }

  get idleTimeoutMs(): number {
    return this.#options.idleTimeoutMs;
  }

  /** A new connection, or undefined when it was closed because the cap is reached. */
  accept(conn: Deno.Conn): Connection | undefined {
    if (this.#open.size >= this.#options.maxConnections) this.#cancelLongestIdle();
    if (this.#open.size >= this.#options.maxConnections) {
      conn.close();
      this.#options.onRefused?.();
      return undefined;
    }
    const connection = new Connection(this, this.#options.headerTimeoutMs);
    this.#open.add(connection);
    this.#options.onConnections?.(this.#open.size);
    return connection;
  }

  ended(connection: Connection): void {
    if (this.#open.delete(connection)) this.#options.onConnections?.(this.#open.size);
  }

  /** Closes every connection once its requests are answered; resolves when all are closed. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open].map((connection) => connection.close()));
  }

  cancelAll(): void {
    for (const connection of this.#open) connection.cancel();
  }

  /** Only when the cap is reached, so requests pay nothing to keep connections in order. */
  #cancelLongestIdle(): void {
    let longest: Connection | undefined;
    for (const connection of this.#open) {
      const since = connection.idleSince;
      if (since !== undefined && (longest === undefined || since < longest.idleSince!)) {
        longest = connection;
      }
    }
    if (!longest) return;
    this.ended(longest);
    longest.cancel();
  }
}

/**
 * Serving HTTP with limits no client can get around (header, body and idle timeouts, a cap on
 * connections), and stopping gracefully: new connections are refused while requests in flight
 * get a grace period to finish.
 *
 * Deno's own server where this Deno can serve connection by connection (`serve_native.ts`),
 * otherwise `node:http` (`serve_node.ts`); handlers take and give web `Request`s and
 * `Response`s under both.
 * @module
 */

import { nativeServing, serveNative } from "./serve_native.ts";
import { serveNode } from "./serve_node.ts";
import type { ServeOptions, Server } from "./server_options.ts";

export type { ServeOptions, Server };

/** Serves `handler` and resolves once it listens. */
export function serve(
  handler: (request: Request) => Promise<Response>,
  options: ServeOptions,
): Promise<Server> {
  if (nativeServing()) return serveNative(handler, options);
  options.logger?.warn(
    "this Deno cannot serve connection by connection: serving with node:http, " +
      "which costs more CPU per request (the Deno this router is tested on is 2.9.6)",
  );
  return serveNode(handler, options);
}

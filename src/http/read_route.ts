/**
 * Routes that only read. They answer GET, and HEAD like GET without the body (RFC 9110 §9.3.2),
 * so a load balancer or a probe that sends HEAD to `/healthz` gets the status it asks about
 * instead of a 405.
 * @module
 */

import type { Handler, Route } from "./route.ts";

/** A GET route on `pathname` that answers HEAD too. */
export function readRoute(pathname: string, handler: Handler): Route {
  return { pattern: new URLPattern({ pathname }), method: ["GET", "HEAD"], handler };
}

/** `handler`, with the body of every answer to a HEAD request dropped. */
export function withoutHeadBodies<Rest extends unknown[]>(
  handler: (request: Request, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Promise<Response> {
  return async (request, ...rest) => {
    const response = await handler(request, ...rest);
    if (request.method !== "HEAD" || response.body === null) return response;
    await response.body.cancel();
    return new Response(null, { status: response.status, headers: response.headers });
  };
}

/**
 * Routing on `URLPattern`, with the name, signature and behaviour of the Deno standard
 * library's `route` (`@std/http/unstable-route`, 1.0), which cannot be imported here because
 * JSR is not reachable from every build machine. Routes are data: a list of
 * `{ method, pattern, handler }`, tried in order.
 * @module
 */

/** Request handler for {@linkcode Route}: the request, the pattern's match, the connection. */
export type Handler = (
  request: Request,
  params?: URLPatternResult,
  info?: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

/** Route configuration for {@linkcode route}. */
export interface Route {
  /** Request URL pattern. */
  pattern: URLPattern;
  /** Request method, or methods. @default {"GET"} */
  method?: string | string[];
  /** Request handler. */
  handler: Handler;
}

/**
 * Routes requests to the handler of the first route whose pattern and method match, or to
 * `defaultHandler` (which answers 404 or 405) when none does.
 *
 * @example Usage
 * ```ts
 * import { route } from "./route.ts";
 * const handler = route([
 *   { pattern: new URLPattern({ pathname: "/healthz" }), handler: () => new Response("ok") },
 * ], () => new Response("not found", { status: 404 }));
 * const response = await handler(new Request("http://localhost/healthz"));
 * console.assert(response.status === 200);
 * ```
 *
 * @param routes Route configurations
 * @param defaultHandler Handler for requests no route matches
 * @returns Request handler
 */
export function route(
  routes: Route[],
  defaultHandler: (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>,
): (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  return (request, info) => {
    for (const route of routes) {
      const match = route.pattern.exec(request.url);
      if (match && methodMatches(route, request.method)) {
        return route.handler(request, match, info);
      }
    }
    return defaultHandler(request, info);
  };
}

/** The methods `route` answers, its default included. */
export function routeMethods(route: Route): string[] {
  return Array.isArray(route.method) ? route.method : [route.method ?? "GET"];
}

function methodMatches(route: Route, method: string): boolean {
  return routeMethods(route).includes(method);
}

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
  const prefixes = routes.map((route) => literalPrefix(route.pattern));
  return (request, info) => {
    const path = pathOf(request.url);
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i];
      // A path that does not start with the pattern's literal start cannot match: skip the
      // `exec`, which parses the URL again and allocates its result (each request tried the
      // routes before its own).
      if (path !== undefined && !path.startsWith(prefixes[i])) continue;
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

/**
 * The start of `pattern`'s pathname that every matching path begins with: its characters
 * before the first one with a meaning in pattern syntax. `""` for a pattern that matches paths
 * without regard to case, or that constrains no pathname.
 */
function literalPrefix(pattern: URLPattern): string {
  if ((pattern as { ignoreCase?: boolean }).ignoreCase) return "";
  const special = /[:*(){}\\?+]/.exec(pattern.pathname);
  return special ? pattern.pathname.slice(0, special.index) : pattern.pathname;
}

/** The pathname of an absolute URL as `Request.url` writes it, or undefined for another form. */
function pathOf(url: string): string | undefined {
  const scheme = url.indexOf("://");
  if (scheme === -1) return undefined;
  const start = url.indexOf("/", scheme + 3);
  if (start === -1) return undefined;
  const query = url.indexOf("?", start);
  const fragment = url.indexOf("#", start);
  const end = query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment);
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

/**
 * Bearer-token checks for the endpoints that change or reveal things. The comparison takes the
 * same time whatever the token, so a caller cannot guess it byte by byte.
 * @module
 */

import { sha256, timingSafeEqual } from "../lib/crypto.ts";
import { HttpError } from "./http_error.ts";
import type { Route } from "./route.ts";
import { STATUS_CODE } from "./status.ts";

/** A check that throws 401 unless the request carries `Authorization: Bearer <token>`. */
export function bearerCheck(token: string): (request: Request) => void {
  const expected = sha256(token);
  return (request) => {
    const header = request.headers.get("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    const given = sha256(match?.[1] ?? "");
    if (!match || !timingSafeEqual(given, expected)) {
      throw new HttpError(
        STATUS_CODE.Unauthorized,
        "missing or wrong bearer token: send Authorization: Bearer <PUBLISH_TOKEN>",
        { headers: { "www-authenticate": 'Bearer realm="gitfaas"' } },
      );
    }
  };
}

/** `routes` with `authorize` checked before each handler runs. */
export function guarded(routes: Route[], authorize: (request: Request) => void): Route[] {
  return routes.map((route) => ({
    ...route,
    handler: (request, params, info) => {
      authorize(request);
      return route.handler(request, params, info);
    },
  }));
}

/**
 * Who is calling. With PUBLISH_TOKEN set, the endpoints that change or reveal things need
 * `Authorization: Bearer <PUBLISH_TOKEN>` (the operator), or a request token (`{{REQUEST_TOKEN}}`),
 * which a route accepts only for what that request may do: post its own result, publish its own
 * children. The comparison takes the same time whatever the token, so a caller cannot guess it
 * byte by byte.
 * @module
 */

import { sha256, timingSafeEqual } from "../lib/crypto.ts";
import {
  looksLikeRequestToken,
  type RequestTokenClaims,
  verifyRequestToken,
} from "../runs/request_token.ts";
import { HttpError } from "./http_error.ts";
import type { Route } from "./route.ts";
import { STATUS_CODE } from "./status.ts";

/** The caller of a guarded route. */
export type Caller =
  | { kind: "operator" }
  | { kind: "request"; claims: RequestTokenClaims };

/** What authentication checks against. */
export interface AuthOptions {
  /** PUBLISH_TOKEN; absent: every caller is the operator. */
  publishToken?: string;
  /** The key request tokens are signed with; absent: request tokens are not accepted. */
  requestTokenKey?: Uint8Array;
  /** The clock, in seconds (tests). */
  nowSeconds?: () => number;
}

/**
 * A check that names the caller, or throws 401. Without PUBLISH_TOKEN every caller is the
 * operator, except one that sends a valid request token: it acts for that request (so its
 * publishes become that request's children).
 */
export function authenticator(options: AuthOptions): (request: Request) => Caller {
  const expected = options.publishToken === undefined ? undefined : sha256(options.publishToken);
  return (request) => {
    const header = request.headers.get("authorization") ?? "";
    const token = /^Bearer\s+(.+)$/i.exec(header.trim())?.[1];
    if (token !== undefined && options.requestTokenKey && looksLikeRequestToken(token)) {
      const nowSeconds = options.nowSeconds?.() ?? Date.now() / 1000;
      const claims = verifyRequestToken(token, options.requestTokenKey, { nowSeconds });
      if (claims) return { kind: "request", claims };
      if (expected) throw unauthorized("the request token is invalid or expired");
    }
    if (!expected) return { kind: "operator" };
    const given = sha256(token ?? "");
    if (token === undefined || !timingSafeEqual(given, expected)) {
      throw unauthorized(
        "missing or wrong bearer token: send Authorization: Bearer <PUBLISH_TOKEN>",
      );
    }
    return { kind: "operator" };
  };
}

/** What a request token may do on a route: given its claims and the route's match. */
export type TokenScope = (claims: RequestTokenClaims, params?: URLPatternResult) => boolean;

const callers = new WeakMap<Request, Caller>();

/** The caller a guarded route authenticated for `request`. */
export function callerOf(request: Request): Caller {
  return callers.get(request) ?? { kind: "operator" };
}

/**
 * `routes` with the caller authenticated before each handler runs. A request token passes only
 * the routes `scopes` lists, and there only where the scope allows; elsewhere it gets 403.
 */
export function guarded(
  routes: Route[],
  authenticate: (request: Request) => Caller,
  scopes: ReadonlyMap<Route, TokenScope> = new Map(),
): Route[] {
  return routes.map((route) => ({
    ...route,
    handler: (request, params, info) => {
      const caller = authenticate(request);
      if (caller.kind === "request" && !scopes.get(route)?.(caller.claims, params)) {
        throw new HttpError(
          STATUS_CODE.Forbidden,
          "a request token may only post its own request's result and publish its children",
        );
      }
      callers.set(request, caller);
      return route.handler(request, params, info);
    },
  }));
}

function unauthorized(message: string): HttpError {
  return new HttpError(STATUS_CODE.Unauthorized, message, {
    headers: { "www-authenticate": 'Bearer realm="gitfaas"' },
  });
}

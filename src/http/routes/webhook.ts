/**
 * `POST /webhook/git`: signed push deliveries, handed to the webhook receiver; 404 with what to
 * do when webhooks are off.
 * @module
 */

import { HttpError } from "../http_error.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";

/** The webhook route; `receiver` absent means webhooks are off. */
export function webhookRoute(
  receiver: { handle(request: Request): Promise<Response> } | undefined,
): Route {
  return {
    pattern: new URLPattern({ pathname: "/webhook/git" }),
    method: "POST",
    handler: (request) => {
      if (receiver) return receiver.handle(request);
      throw new HttpError(
        STATUS_CODE.NotFound,
        "webhooks are off: set WEBHOOK_SECRET to turn on POST /webhook/git",
      );
    },
  };
}

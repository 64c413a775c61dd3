/**
 * `GET` or `POST /refresh`: sync with Git now and answer with the result. A commit that cannot
 * serve (422) or a Git failure (502) is answered through the error table like any error.
 * @module
 */

import type { SyncResult } from "../../sync/syncer.ts";
import { isKnownError } from "../error_response.ts";
import { HttpError } from "../http_error.ts";
import { json } from "../json.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";

/** The `/refresh` route over `options.sync` (the Syncer's). */
export function refreshRoute(options: { sync: () => Promise<SyncResult> }): Route {
  return {
    pattern: new URLPattern({ pathname: "/refresh" }),
    // GET for curl and old callers; it is not safe, so it does not answer HEAD.
    method: ["GET", "POST"],
    handler: async () => {
      try {
        return json(await options.sync());
      } catch (error) {
        throw syncFailure(error);
      }
    },
  };
}

/**
 * A sync that failed for a reason the error table does not know (the folder of `deno task dev`
 * went away, say) is not known to be a bug: it is answered as "sync failed", with its cause.
 */
function syncFailure(error: unknown): unknown {
  if (isKnownError(error)) return error;
  return new HttpError(
    STATUS_CODE.InternalServerError,
    `sync failed: ${(error as Error).message}`,
    { cause: error },
  );
}

/**
 * `GET /` and `/assets/<file>`: the web page's files, answered to HEAD too. They are open even
 * with `PUBLISH_TOKEN` set: they hold no data, and the page asks for the token when the API
 * answers 401.
 * @module
 */

import type { WebPage } from "../../web/page.ts";
import { HttpError } from "../http_error.ts";
import { readRoute } from "../read_route.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";

/** The page's routes. */
export function webPageRoutes(page: WebPage): Route[] {
  const serve = (request: Request) => {
    const answer = page.serve(request);
    if (answer) return answer;
    throw new HttpError(STATUS_CODE.NotFound, `no such file: ${new URL(request.url).pathname}`);
  };
  return [readRoute("/", serve), readRoute("/assets/*", serve)];
}

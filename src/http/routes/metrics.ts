/**
 * `GET /metrics`: the Prometheus text exposition.
 * @module
 */

import type { Metrics } from "../../metrics/metrics.ts";
import { HttpError } from "../http_error.ts";
import { readRoute } from "../read_route.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";

/** The `/metrics` route; `metrics` absent means metrics are off (404). */
export function metricsRoute(metrics: Pick<Metrics, "text" | "contentType"> | undefined): Route {
  return readRoute("/metrics", async () => {
    if (!metrics) throw new HttpError(STATUS_CODE.NotFound, "metrics are off");
    return new Response(await metrics.text(), { headers: { "content-type": metrics.contentType } });
  });
}

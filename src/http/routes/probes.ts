/**
 * `GET /healthz` (the process answers) and `GET /readyz` (it has an index to serve and is not
 * shutting down): the probes of the Deployment, answered to HEAD too.
 * @module
 */

import { json } from "../json.ts";
import { readRoute } from "../read_route.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";

/** What the probes look at. */
export interface ProbeOptions {
  /** The live index, or null before the first good sync. */
  index: () => { readonly revision: string } | null;
  /** True while shutting down: /readyz answers 503 so no new traffic is sent here. */
  draining?: () => boolean;
}

/** The liveness and readiness routes. */
export function probeRoutes(options: ProbeOptions): Route[] {
  return [
    readRoute("/healthz", () => json({ status: "ok" })),
    readRoute("/readyz", () => readiness(options)),
  ];
}

function readiness(options: ProbeOptions): Response {
  if (options.draining?.()) {
    return json({ ready: false, error: "shutting down" }, STATUS_CODE.ServiceUnavailable);
  }
  const index = options.index();
  return index
    ? json({ ready: true, revision: index.revision })
    : json({ ready: false, error: "no topic index loaded yet" }, STATUS_CODE.ServiceUnavailable);
}

/**
 * The last fired tick of each scheduled topic, kept in one ConfigMap of the router's namespace
 * (`gitfaas-schedules`, one data key per topic) so a replica that starts after every replica was
 * down knows which ticks ran.
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import { statusError } from "../kube/errors.ts";
import { resourcePath } from "../kube/paths.ts";
import type { TickRecord } from "./scheduler.ts";

/** The ConfigMap's name. */
export const SCHEDULES_OBJECT = "gitfaas-schedules";

/** A {@linkcode TickRecord} on the API server. */
export function clusterTickRecord(
  kube: KubeConnection,
  options: { namespace: string },
): TickRecord {
  const path = resourcePath("v1", "configmaps", {
    namespace: options.namespace,
    name: SCHEDULES_OBJECT,
  });
  return {
    async lastFired(topic) {
      const response = await kube.request("GET", path);
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw statusError(response);
      const data = (JSON.parse(response.text) as { data?: Record<string, string> }).data ?? {};
      const time = Date.parse(data[`${topic}.last-tick`] ?? "");
      return Number.isNaN(time) ? undefined : new Date(time);
    },
    async recordFired(topic, tick) {
      const body = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: SCHEDULES_OBJECT,
          namespace: options.namespace,
          labels: { "app.kubernetes.io/managed-by": "gitfaas" },
        },
        data: { [`${topic}.last-tick`]: tick.toISOString() },
      };
      // One field manager per topic: applying one topic's key never removes another's.
      const response = await kube.request(
        "PATCH",
        `${path}?fieldManager=${encodeURIComponent(`gitfaas-schedule-${topic}`)}&force=true`,
        { body: JSON.stringify(body), contentType: "application/apply-patch+yaml" },
      );
      if (response.status >= 300) throw statusError(response);
    },
  };
}

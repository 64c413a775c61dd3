/**
 * The start-up lines: where the router listens, what it follows, where it applies, and which
 * protections are on, each with the setting that changes it. An operator reads these first,
 * so every "off" says how to turn it on.
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import type { Logger } from "../log/logger.ts";
import type { Settings } from "../settings/settings.ts";

/** What the router started with, beyond its settings. */
export interface StartupFacts {
  settings: Settings;
  /** The port it listens on. */
  port: number;
  /** The cluster; none in the render-only mode. */
  kube?: Pick<KubeConnection, "description">;
  /** The effective default namespace. */
  namespace: string;
  /** Whether `POST /webhook/git` is served. */
  webhooks: boolean;
}

/** Logs the start-up lines. */
export function logStartup(logger: Logger, facts: StartupFacts): void {
  const { settings, kube } = facts;
  logger.info("gitfaas listening", {
    address: settings.listenAddress,
    port: facts.port,
    mode: kube ? "apply" : "render-only",
    ...(settings.sourceDir
      ? { folder: settings.sourceDir }
      : { git: settings.gitUrl, branch: settings.gitBranch }),
    kubernetes: kube?.description ?? "none: publishes render and validate, nothing is applied",
    namespace: facts.namespace,
    pollIntervalSeconds: settings.sourceDir ? undefined : settings.pollIntervalMs / 1000,
  });
  if (!kube) {
    logger.info(
      "render-only mode: each publish renders, checks and reports its objects; " +
        "set GITFAAS_APPLY=true (with a kubeconfig) to apply them to a cluster",
    );
  } else if (settings.sourceDir) {
    logger.warn(`applying to ${kube.description}: GITFAAS_APPLY is true`);
  }
  if (facts.webhooks) logger.info("webhooks on: POST /webhook/git syncs on signed pushes");
  else logger.info("webhooks off: POST /webhook/git answers 404 until WEBHOOK_SECRET is set");
  if (settings.publishToken) {
    logger.info("auth on: /publish, /render, /refresh, /status and /topics need the PUBLISH_TOKEN");
  } else {
    logger.warn(
      "auth off: anyone who reaches this port can publish; set PUBLISH_TOKEN to require a token",
    );
  }
}

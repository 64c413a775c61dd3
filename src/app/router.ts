/**
 * Starts the router: wires its parts from the settings, serves HTTP at once, logs how it is
 * set up, then syncs in the background. `main.ts` calls it and stops it on a signal.
 * @module
 */

import type { Settings } from "../settings/settings.ts";
import type { Syncer } from "../sync/syncer.ts";
import { type ComponentOptions, createComponents } from "./components.ts";
import { serve } from "./serve.ts";
import { logStartup } from "./startup_log.ts";

/** A running router. */
export interface Router {
  /** The port it listens on (useful with PORT=0). */
  port: number;
  syncer: Syncer;
  /** Stops serving and syncing, waiting for requests in flight. */
  close(): Promise<void>;
}

/** Options for {@linkcode startRouter}. */
export type StartOptions = ComponentOptions;

/** Starts the router: serves HTTP at once and syncs in the background. */
export async function startRouter(settings: Settings, options: StartOptions = {}): Promise<Router> {
  const components = await createComponents(settings, options);
  const { logger } = components;
  const server = await serve(components.handler, {
    hostname: settings.listenAddress,
    port: settings.port,
    headerTimeoutMs: settings.headerTimeoutMs,
    bodyTimeoutMs: settings.bodyTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    maxConnections: settings.maxConnections,
    logger,
    onConnections: (open) => components.metrics.openConnections(open),
    onRefused: () => components.metrics.refusedConnection(),
  }).catch(
    async (error) => {
      await components.close();
      throw error;
    },
  );
  logStartup(logger, {
    settings,
    port: server.port,
    kube: components.kube,
    namespace: components.namespace,
    webhooks: components.webhook !== undefined,
  });
  components.startSyncing();
  return {
    port: server.port,
    syncer: components.syncer,
    async close() {
      // Stop taking new requests, let the ones in flight finish within the grace period.
      components.drain();
      if (await server.shutdown(settings.shutdownGraceMs)) {
        logger.info("stopped: every request in flight was answered");
      } else logger.warn("grace period over: stopping with requests still in flight");
      await components.close();
    },
  };
}

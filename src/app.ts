/**
 * Wires the router together from its settings: Git source, syncer, Kubernetes connection,
 * publisher and HTTP server. `main.ts` calls it; tests can too.
 * @module
 */

import type { Settings } from "./config/settings.ts";
import { GitSource } from "./git/git_source.ts";
import { createHandler } from "./http/handler.ts";
import { connectKube } from "./kube/connection.ts";
import { jsonLogger, type Logger } from "./log/logger.ts";
import { Publisher } from "./publish/publisher.ts";
import { Syncer } from "./sync/syncer.ts";

/** A running router. */
export interface Router {
  /** The port it listens on (useful with PORT=0). */
  port: number;
  syncer: Syncer;
  /** Stops serving and syncing, waiting for requests in flight. */
  close(): Promise<void>;
}

/** Options for {@linkcode startRouter}. */
export interface StartOptions {
  logger?: Logger;
  /** Environment for the Kubernetes login (defaults to the process's). */
  env?: Record<string, string | undefined>;
}

/** Starts the router: serves HTTP at once and syncs in the background. */
export async function startRouter(settings: Settings, options: StartOptions = {}): Promise<Router> {
  const logger = options.logger ??
    jsonLogger({ level: settings.logLevel, secrets: settings.gitToken ? [settings.gitToken] : [] });
  const kube = await connectKube({
    kubeconfig: settings.kubeconfig,
    serviceAccountPrefix: settings.serviceAccountPrefix,
    namespace: settings.namespace,
    env: options.env,
  });
  const dataDir = settings.dataDir ?? await Deno.makeTempDir({ prefix: "gitfaas-" });
  const source = new GitSource({
    url: settings.gitUrl,
    branch: settings.gitBranch,
    user: settings.gitUser,
    token: settings.gitToken,
    dir: `${dataDir}/${await cacheName(settings.gitUrl, settings.gitBranch)}`,
  });
  const syncer = new Syncer(source, { configPath: settings.configPath, logger });
  const publisher = new Publisher({
    index: () => syncer.index,
    kube,
    namespace: kube.defaultNamespace,
    logger,
  });
  const handler = createHandler({
    syncer,
    publisher,
    maxBodyBytes: settings.maxBodyBytes,
    source: { url: settings.gitUrl, branch: settings.gitBranch, configPath: settings.configPath },
    logger,
  });

  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    port: settings.port,
    onListen: ({ port }) => listening.resolve(port),
  }, handler);
  const port = await listening.promise;
  logger.info("gitfaas listening", {
    port,
    git: settings.gitUrl,
    branch: settings.gitBranch,
    kubernetes: kube.description,
    pollIntervalSeconds: settings.pollIntervalSeconds,
  });
  syncer.startPolling(settings.pollIntervalSeconds * 1000);

  return {
    port,
    syncer,
    async close() {
      await server.shutdown();
      await syncer.stop();
      kube.close();
    },
  };
}

/** One cache folder per repository and branch, so a changed GIT_URL never reuses old objects. */
async function cacheName(url: string, branch: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${url}#${branch}`),
  );
  const hex = Array.from(
    new Uint8Array(digest).slice(0, 8),
    (b) => b.toString(16).padStart(2, "0"),
  );
  return `repo-${hex.join("")}.git`;
}

/**
 * Wires the router together from its settings: Git source, syncer, Kubernetes connection,
 * publisher and HTTP server. `main.ts` calls it; tests can too.
 * @module
 */

import type { Settings } from "./config/settings.ts";
import { DirectorySource, watchDirectory } from "./dev/directory_source.ts";
import { GitSource } from "./git/git_source.ts";
import { FileTemplateStore } from "./topics/template_store.ts";
import { createHandler } from "./http/handler.ts";
import { connectKube } from "./kube/connection.ts";
import { jsonLogger, type Logger } from "./log/logger.ts";
import { Metrics } from "./metrics/metrics.ts";
import type { Policy } from "./policy/policy.ts";
import { Publisher } from "./publish/publisher.ts";
import { Syncer } from "./sync/syncer.ts";
import { WebhookReceiver } from "./webhook/receiver.ts";

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
    jsonLogger({
      level: settings.logLevel,
      secrets: [settings.gitToken, settings.webhookSecret].filter((s): s is string => !!s),
    });
  // Render-only (development) never touches a cluster, so it needs no login at all.
  const kube = settings.applyMode === "apply"
    ? await connectKube({
      kubeconfig: settings.kubeconfig,
      serviceAccountPrefix: settings.serviceAccountPrefix,
      namespace: settings.namespace,
      env: options.env,
      maxInflight: settings.kubeMaxInflight,
    })
    : undefined;
  const namespace = kube?.defaultNamespace ?? settings.namespace ?? "default";
  const policy = policyFrom(settings, namespace);
  const stopWatching = new AbortController();
  // Without DATA_DIR the cache lives in a temporary folder that goes when the router stops.
  const temporaryDir = settings.sourceDir || settings.dataDir
    ? undefined
    : await Deno.makeTempDir({ prefix: "gitfaas-" });
  const gitDir = `${settings.dataDir ?? temporaryDir}/${await cacheName(
    settings.gitUrl,
    settings.gitBranch,
  )}`;
  const source = settings.sourceDir ? new DirectorySource(settings.sourceDir) : new GitSource({
    url: settings.gitUrl,
    branch: settings.gitBranch,
    user: settings.gitUser,
    token: settings.gitToken,
    timeoutMs: settings.gitTimeoutSeconds * 1000,
    dir: gitDir,
  });
  // Compiled templates next to the Git objects they came from, for a fast warm restart; a
  // temporary cache does not outlive the process, so it keeps none.
  const templateStore = settings.dataDir && !settings.sourceDir
    ? new FileTemplateStore(`${gitDir}/gitfaas-templates.json`, {
      onError: (error) =>
        logger.warn("compiled templates not kept or not read; they are compiled from Git", {
          error: error.message,
        }),
    })
    : undefined;
  const metrics = new Metrics();
  const syncer = new Syncer(source, {
    configPath: settings.configPath,
    policy,
    maxManifestsPerTopic: settings.maxManifestsPerTopic,
    maxObjectsPerPublish: settings.maxObjectsPerPublish,
    templateStore,
    logger,
    onSync: ({ result, durationMs }) =>
      metrics.synced(
        result ? (result.changed ? "changed" : "unchanged") : "failed",
        durationMs / 1000,
        result?.revision,
      ),
  });
  const publisher = new Publisher({
    index: () => syncer.index,
    kube,
    namespace,
    policy,
    kubeTimeoutMs: settings.kubeTimeoutSeconds * 1000,
    publishTimeoutMs: settings.publishTimeoutSeconds * 1000,
    maxQueue: settings.kubeMaxQueue,
    logger,
    onRetry: (error) => metrics.retried(error.reason),
    onApplied: (kind, outcome, seconds) => metrics.applied(kind, outcome, seconds),
  });
  let draining = false;
  const webhook = settings.webhookSecret
    ? WebhookReceiver.create({
      secret: settings.webhookSecret,
      syncer,
      followed: { repoUrl: settings.gitUrl, branch: settings.gitBranch },
      maxBodyBytes: settings.webhookMaxBytes,
      logger,
      onDelivery: (record) => metrics.webhook(record.provider ?? "unknown", record.outcome),
    })
    : undefined;
  const handler = createHandler({
    syncer,
    webhook,
    publisher,
    maxBodyBytes: settings.maxBodyBytes,
    maxQueryParams: settings.maxQueryParams,
    maxQueryValueBytes: settings.maxQueryValueBytes,
    publishToken: settings.publishToken,
    draining: () => draining,
    metrics,
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
    mode: kube ? "apply" : "dry-run",
    ...(settings.sourceDir
      ? { folder: settings.sourceDir }
      : { git: settings.gitUrl, branch: settings.gitBranch }),
    kubernetes: kube?.description ?? "none: publishes render and validate, nothing is applied",
    namespace,
    pollIntervalSeconds: settings.sourceDir ? undefined : settings.pollIntervalSeconds,
  });
  if (!kube) {
    logger.info(
      "dry-run mode: each publish renders, checks and reports its objects; " +
        "set GITFAAS_APPLY=true (with a kubeconfig) to apply them to a cluster",
    );
  } else if (settings.sourceDir) {
    logger.warn(`applying to ${kube.description}: GITFAAS_APPLY is true`);
  }
  if (webhook) logger.info("webhooks on: POST /webhook/git syncs on signed pushes");
  else logger.info("webhooks off: POST /webhook/git answers 404 until WEBHOOK_SECRET is set");
  if (settings.publishToken) {
    logger.info("auth on: /publish, /refresh, /status and /topics need the PUBLISH_TOKEN");
  } else {
    logger.warn(
      "auth off: anyone who reaches this port can publish; set PUBLISH_TOKEN to require a token",
    );
  }
  if (source instanceof DirectorySource) {
    // Development: the folder is read again whenever something in it changes.
    syncer.startPolling(0);
    watchDirectory(source.root, () => syncer.sync().catch(() => undefined), {
      signal: stopWatching.signal,
    });
  } else syncer.startPolling(settings.pollIntervalSeconds * 1000);

  return {
    port,
    syncer,
    async close() {
      // Stop taking new requests, let the ones in flight finish within the grace period.
      draining = true;
      const graceMs = settings.shutdownGraceSeconds * 1000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finished = await Promise.race([
        server.shutdown().then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), graceMs)),
      ]);
      clearTimeout(timer);
      if (!finished) logger.warn("grace period over: stopping with requests still in flight");
      else logger.info("stopped: every request in flight was answered");
      stopWatching.abort();
      await webhook?.stop();
      await syncer.stop();
      kube?.close();
      if (temporaryDir) await Deno.remove(temporaryDir, { recursive: true }).catch(() => undefined);
    },
  };
}

function policyFrom(settings: Settings, namespace: string): Policy {
  const namespaces = settings.allowedNamespaces ?? [namespace];
  return {
    deniedKinds: settings.deniedKinds,
    allowedClusterKinds: settings.allowedClusterKinds,
    allowedNamespaces: namespaces === "*" ? "*" : new Set(namespaces),
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

/**
 * The router's parts, wired from its settings: Kubernetes connection, revision source (a Git
 * remote, or a folder in development), syncer, publisher, webhook receiver, metrics and the
 * HTTP handler. Nothing here listens on a port; `router.ts` serves the handler.
 * @module
 */

import { DirectorySource, watchDirectory } from "../dev/directory_source.ts";
import { GitSource } from "../git/git_source.ts";
import { BodyBudget } from "../http/body.ts";
import { createHandler } from "../http/handler.ts";
import { connectKube, type KubeConnection } from "../kube/connection.ts";
import { encodeHex } from "../lib/bytes.ts";
import { sha256 } from "../lib/crypto.ts";
import { jsonLogger, type Logger } from "../log/logger.ts";
import { Metrics } from "../metrics/metrics.ts";
import type { Policy } from "../policy/policy.ts";
import { Publisher, type RequestTokenSigning } from "../publish/publisher.ts";
import { requestTokenKey } from "../runs/request_token.ts";
import { type RunsFollower, startRuns } from "../runs/start.ts";
import { type Settings, settingsPolicy } from "../settings/settings.ts";
import { TemplateWorker } from "../topics/template_worker.ts";
import { silenceYamlDebugSwitches } from "../render/yaml_debug_switches.ts";
import { type BuildJournal, FileBuildJournal } from "../sync/build_journal.ts";
import { Syncer } from "../sync/syncer.ts";
import { FileTemplateStore, type TemplateStore } from "../topics/template_store.ts";
import { loadWebPage } from "../web/page.ts";
import { WebhookReceiver } from "../webhook/receiver.ts";
import { replicaIdentity } from "../replicas/identity.ts";
import { Replicas } from "../replicas/replicas.ts";
import { Scheduler } from "../schedule/scheduler.ts";
import { type MemoryRelease, memoryRelease } from "./memory_release.ts";
import { clusterTickRecord } from "../schedule/tick_record.ts";

/** Options for {@linkcode createComponents}. */
export interface ComponentOptions {
  /** Defaults to JSON lines on stdout at LOG_LEVEL, scrubbing the Git token and webhook secret. */
  logger?: Logger;
  /** Environment for the Kubernetes login (defaults to the process's). */
  env?: Record<string, string | undefined>;
}

/** The wired router, not yet serving or syncing. */
export interface Components {
  logger: Logger;
  /** The cluster; none in the render-only mode. */
  kube?: KubeConnection;
  /** Namespace for objects that name none. */
  namespace: string;
  syncer: Syncer;
  /** `POST /webhook/git`; none without WEBHOOK_SECRET. */
  webhook?: WebhookReceiver;
  /** Every HTTP route. */
  handler: (request: Request) => Promise<Response>;
  /** Served on `/metrics`; the server records its connections in it. */
  metrics: Metrics;
  /** Syncs now, then polls (Git) or watches the folder (development). */
  startSyncing(): void;
  /** From now on `/readyz` answers 503, so that no new traffic is sent here. */
  drain(): void;
  /** Stops syncing and following pushes, and releases the connection and caches. */
  close(): Promise<void>;
}

/** Wires every part from `settings`; logs in to the cluster unless in the render-only mode. */
export async function createComponents(
  settings: Settings,
  options: ComponentOptions = {},
): Promise<Components> {
  silenceYamlDebugSwitches();
  const logger = options.logger ?? jsonLogger({
    level: settings.logLevel,
    flushAfterMs: settings.logFlushMs,
    secrets: [
      settings.gitToken,
      settings.webhookSecret,
      settings.publishToken,
      settings.requestTokenSecret,
    ].filter((s): s is string => !!s),
  });
  // Render-only (development) never touches a cluster, so it needs no login at all.
  const kube = settings.applyMode === "apply" ? await connect(settings, options.env) : undefined;
  const namespace = kube?.defaultNamespace ?? settings.namespace ?? "default";
  const policy = settingsPolicy(settings, namespace, {
    routerNamespace: kube?.serviceAccountNamespace,
  });
  const source = await openSource(settings, logger);
  const metrics = new Metrics();
  // The heap a build leaves is given back once the router is quiet (memory_release.ts).
  const memory = memoryRelease();
  // A new index re-reads the schedules and tells the other replicas at once (their /status).
  const onIndexChange = () => {
    scheduler?.refresh();
    replicas?.beatNow();
    memory.soon();
  };
  // Large templates compile in a worker, so that no build holds the event loop (README "Limits").
  const compiler = new TemplateWorker();
  const syncer = createSyncer(settings, {
    source,
    policy,
    metrics,
    logger,
    onIndexChange,
    compiler,
  });
  const follower = kube &&
    followRuns(settings, { kube, namespace, syncer, metrics, logger, memory });
  const tokenSecret = settings.requestTokenSecret ?? settings.publishToken;
  const requestTokens = tokenSecret
    ? { key: requestTokenKey(tokenSecret), ttlSeconds: settings.requestTokenTtlMs / 1000 }
    : undefined;
  const publisher = createPublisher(settings, {
    kube,
    namespace,
    policy,
    syncer,
    metrics,
    logger,
    follower,
    requestTokens,
  });
  const replicas = kube && new Replicas({
    kube,
    identity: replicaIdentity(
      { POD_NAME: settings.podName, POD_NAMESPACE: settings.podNamespace },
      { hostname: Deno.hostname(), pid: Deno.pid, namespace },
    ),
    syncer,
    logger,
  });
  const scheduler = kube &&
    createScheduler({ kube, replicas: replicas!, syncer, publisher, logger });
  const webhook = createWebhook(settings, { syncer, metrics, logger, replicas });
  let draining = false;
  const handler = createHandler({
    syncer,
    webhook,
    publisher,
    maxBodyBytes: settings.maxBodyBytes,
    bodyBudget: new BodyBudget(settings.maxBodyBytesInFlight),
    bodyTimeoutMs: settings.bodyTimeoutMs,
    maxQueryParams: settings.maxQueryParams,
    maxQueryValueBytes: settings.maxQueryValueBytes,
    publishToken: settings.publishToken,
    requestTokenKey: requestTokens?.key,
    runs: follower?.runs,
    maxResultBytes: settings.maxResultBytes,
    draining: () => draining,
    replicas: replicas && (() => replicas.status()),
    metrics,
    source: { url: settings.gitUrl, branch: settings.gitBranch, configPath: settings.configPath },
    runtime: {
      mode: kube ? "apply" : "render-only",
      namespace,
      pollIntervalSeconds: settings.sourceDir ? null : settings.pollIntervalMs / 1000,
    },
    preview: { namespace, policy },
    page: await loadWebPage(),
    logger,
  });
  const stopWatching = new AbortController();
  return {
    logger,
    kube,
    namespace,
    syncer,
    webhook,
    handler,
    metrics,
    startSyncing() {
      replicas?.start().catch((error) =>
        logger.warn("cannot follow the other replicas", { error: String(error) })
      );
      scheduler?.start().catch((error) =>
        logger.warn("cannot start the schedules", { error: String(error) })
      );
      const folder = source.source;
      if (!(folder instanceof DirectorySource)) return syncer.startPolling(settings.pollIntervalMs);
      // Development: the folder is read again whenever something in it changes.
      syncer.startPolling(0);
      watchDirectory(folder.root, () => syncer.sync().catch(() => undefined), {
        signal: stopWatching.signal,
      });
    },
    drain() {
      draining = true;
    },
    async close() {
      stopWatching.abort();
      scheduler?.stop();
      await replicas?.stop();
      await webhook?.stop();
      await syncer.stop();
      compiler.close();
      memory.stop();
      follower?.close();
      kube?.close();
      await source.remove();
    },
  };
}

/** Logs in to the cluster as kubectl would, or in-cluster with the service account. */
function connect(
  settings: Settings,
  env: Record<string, string | undefined> | undefined,
): Promise<KubeConnection> {
  return connectKube({
    kubeconfig: settings.kubeconfig,
    serviceAccountPrefix: settings.serviceAccountPrefix,
    namespace: settings.namespace,
    env,
    maxInflight: settings.kubeMaxInflight,
  });
}

/**
 * The source of revisions, the store of compiled templates and the build journal beside it, and
 * their clean-up.
 */
interface OpenedSource {
  source: GitSource | DirectorySource;
  templateStore?: TemplateStore;
  /** A commit whose build stops the process is not built again by the next one. */
  buildJournal?: BuildJournal;
  /** Removes a temporary clone cache. */
  remove(): Promise<void>;
}

/** A folder in development; otherwise the followed Git branch, cached in DATA_DIR. */
async function openSource(settings: Settings, logger: Logger): Promise<OpenedSource> {
  if (settings.sourceDir) {
    return { source: new DirectorySource(settings.sourceDir), remove: () => Promise.resolve() };
  }
  // Without DATA_DIR the cache lives in a temporary folder that goes when the router stops.
  const temporary = settings.dataDir ? undefined : await Deno.makeTempDir({ prefix: "gitfaas-" });
  const gitDir = `${settings.dataDir ?? temporary}/${cacheName(settings)}`;
  const source = new GitSource({
    url: settings.gitUrl,
    branch: settings.gitBranch,
    user: settings.gitUser,
    token: settings.gitToken,
    timeoutMs: settings.gitTimeoutMs,
    maxFetchBytes: settings.gitMaxFetchBytes,
    maxBlobBytes: settings.gitMaxBlobBytes,
    dir: gitDir,
    logger,
  });
  // Compiled templates next to the Git objects they came from, for a fast warm restart; a
  // temporary cache does not outlive the process, so it keeps none.
  const templateStore = temporary ? undefined : new FileTemplateStore(
    `${gitDir}/gitfaas-templates.json`,
    {
      onError: (error) =>
        logger.warn("compiled templates not kept or not read; they are compiled from Git", {
          error: error.message,
        }),
    },
  );
  const buildJournal = temporary ? undefined : new FileBuildJournal(gitDir);
  const remove = async () => {
    if (temporary) await Deno.remove(temporary, { recursive: true }).catch(() => undefined);
  };
  return { source, templateStore, buildJournal, remove };
}

/** One cache folder per repository and branch, so a changed GIT_URL never reuses old objects. */
function cacheName(settings: Pick<Settings, "gitUrl" | "gitBranch">): string {
  const digest = sha256(`${settings.gitUrl}#${settings.gitBranch}`);
  return `repo-${encodeHex(digest.subarray(0, 8))}.git`;
}

function createSyncer(
  settings: Settings,
  parts: {
    source: OpenedSource;
    policy: Policy;
    metrics: Metrics;
    logger: Logger;
    onIndexChange: () => void;
    compiler: TemplateWorker;
  },
): Syncer {
  const { metrics, compiler } = parts;
  return new Syncer(parts.source.source, {
    configPath: settings.configPath,
    policy: parts.policy,
    maxManifestsPerTopic: settings.maxManifestsPerTopic,
    maxObjectsPerPublish: settings.maxObjectsPerPublish,
    templateStore: parts.source.templateStore,
    buildJournal: parts.source.buildJournal,
    compiler: (text, options) => compiler.compileChecked(text, options),
    logger: parts.logger,
    onSync: ({ result, durationMs }) => {
      metrics.synced(
        result ? (result.changed ? "changed" : "unchanged") : "failed",
        durationMs / 1000,
        result?.revision,
      );
      if (result?.changed) parts.onIndexChange();
    },
  });
}

function createPublisher(
  settings: Settings,
  parts: {
    kube?: KubeConnection;
    namespace: string;
    policy: Policy;
    syncer: Syncer;
    metrics: Metrics;
    logger: Logger;
    follower?: RunsFollower;
    requestTokens?: RequestTokenSigning;
  },
): Publisher {
  const { follower } = parts;
  const { syncer, metrics } = parts;
  return new Publisher({
    index: () => syncer.index,
    kube: parts.kube,
    namespace: parts.namespace,
    policy: parts.policy,
    kubeTimeoutMs: settings.kubeTimeoutMs,
    publishTimeoutMs: settings.publishTimeoutMs,
    maxQueue: settings.kubeMaxQueue,
    logger: parts.logger,
    onRetry: (error) => metrics.retried(error.reason),
    onApplied: (kind, outcome, seconds) => metrics.applied(kind, outcome, seconds),
    parentOf: follower && ((traceId, parentId) => follower.runs.parentOf(traceId, parentId)),
    requestTokens: parts.requestTokens,
  });
}

/** Runs are followed in the cluster: a watch of the router's Jobs and pods (none render-only). */
function followRuns(
  settings: Settings,
  parts: {
    kube: KubeConnection;
    namespace: string;
    syncer: Syncer;
    metrics: Metrics;
    logger: Logger;
    memory: MemoryRelease;
  },
): RunsFollower {
  const { metrics, syncer } = parts;
  return startRuns(parts.kube, {
    scope: settings.allowedNamespaces ?? [parts.namespace],
    index: () => syncer.index,
    maxWaiters: settings.maxWaiters,
    logger: parts.logger,
    onJobFinished: (topic, status) =>
      metrics.jobFinished(topic, status.status as "succeeded" | "failed", status.reason),
    onRunFinished: (run) => metrics.runFinished(run.topic, run.status, run.durationSeconds ?? 0),
    // Listing many Jobs leaves garbage as a build does: give it back once quiet.
    onListed: () => parts.memory.soon(),
  });
}

/** The webhook receiver, when WEBHOOK_SECRET is set. */
function createWebhook(
  settings: Settings,
  parts: { syncer: Syncer; metrics: Metrics; logger: Logger; replicas?: Replicas },
): WebhookReceiver | undefined {
  if (!settings.webhookSecret) return undefined;
  const { metrics } = parts;
  return WebhookReceiver.create({
    secret: settings.webhookSecret,
    syncer: parts.syncer,
    followed: { repoUrl: settings.gitUrl, branch: settings.gitBranch },
    maxBodyBytes: settings.webhookMaxBytes,
    logger: parts.logger,
    onDelivery: (record) => metrics.webhook(record.provider ?? "unknown", record.outcome),
    // Push fan-out: every replica watches the recorded revision and syncs to it.
    onPush: parts.replicas && ((push) => parts.replicas!.requestSync(push.revision)),
  });
}

/**
 * Scheduled topics: every replica fires every tick with the tick's Idempotency-Key, so the API
 * server keeps one request per tick; the last fired tick is kept beside the sync requests.
 */
function createScheduler(
  parts: {
    kube: KubeConnection;
    replicas: Replicas;
    syncer: Syncer;
    publisher: Publisher;
    logger: Logger;
  },
): Scheduler {
  const { syncer, publisher } = parts;
  return new Scheduler({
    topics: () => syncer.index?.topics.values() ?? [],
    publish: async (topic, idempotencyKey) => {
      const result = await publisher.publish({
        topic,
        body: new Uint8Array(),
        query: [],
        idempotencyKey,
      });
      if (result.status >= 300) {
        throw new Error(`answered ${result.status}: ${JSON.stringify(result.report.objects)}`);
      }
    },
    record: clusterTickRecord(parts.kube, { namespace: parts.replicas.namespace }),
    logger: parts.logger,
  });
}

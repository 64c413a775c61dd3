/**
 * A publish: render every manifest of a topic from one index, settle and check every object,
 * then apply them in order and report each one. Nothing is applied unless every object rendered,
 * was found in discovery and passed the policy. The steps live in their own modules:
 * `render.ts` → `settle.ts` → `check.ts` → `apply.ts`, with `report.ts` for the answer.
 * @module
 */

import type { KubeApiError, KubeObject } from "../kube/apply.ts";
import type { KubeConnection } from "../kube/connection.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import type { Policy } from "../policy/policy.ts";
import type { Topic, TopicIndex } from "../topics/topic_index.ts";
import { applyAll } from "./apply.ts";
import { checkExecLimits, checkIdentities, checkPolicy } from "./check.ts";
import { PublishError } from "./errors.ts";
import { type Rendered, renderTopic } from "./render.ts";
import {
  identity,
  type ObjectOutcome,
  type ObjectReport,
  PUBLISH_STATUS,
  type PublishReport,
  type PublishResult,
  statusOf,
} from "./report.ts";
import { settleInCluster, settleLocally } from "./settle.ts";
import { publishSeed, requestDigest } from "./values.ts";
import { checkKeyReuse, type KeyedRequest, readExisting } from "./idempotency.ts";
import { type Lineage, lineageOf, type ParentLookup } from "./lineage.ts";
import type { RequestTokenClaims } from "../runs/request_token.ts";
import { signRequestToken } from "../runs/request_token.ts";
import type { TraceParent } from "../runs/trace_context.ts";

export { PublishError, type PublishRefusal } from "./errors.ts";
export {
  type ObjectOutcome,
  type ObjectReport,
  PUBLISH_STATUS,
  type PublishReport,
  type PublishResult,
} from "./report.ts";

/** A publish request after HTTP parsing. */
export interface PublishRequest {
  topic: string;
  body: Uint8Array;
  query: [string, string][];
  dryRun?: boolean;
  idempotencyKey?: string;
  /** The `traceparent` header, parsed: it may name the parent request. */
  traceparent?: TraceParent;
  /** Set when the caller authenticated with a request token: the request it acts for. */
  caller?: RequestTokenClaims;
}

/** How `{{REQUEST_TOKEN}}` is signed; absent: tokens are off and it renders empty. */
export interface RequestTokenSigning {
  key: Uint8Array;
  /** How long a token stays valid. */
  ttlSeconds: number;
}

/** What a publisher needs. */
export interface PublisherOptions {
  /** The live index (read once per publish, so a publish sees one index). */
  index: () => TopicIndex | null;
  /** The cluster; without one every publish is render-only (development). */
  kube?: KubeConnection;
  /** Namespace for objects that name none. */
  namespace: string;
  policy: Policy;
  /** Time for the API calls of one publish, retries included (KUBE_TIMEOUT). */
  kubeTimeoutMs: number;
  /** Time for the whole publish (PUBLISH_TIMEOUT). */
  publishTimeoutMs: number;
  /** Requests waiting for the API server beyond which publishes are turned away (503). */
  maxQueue: number;
  logger?: Logger;
  onRetry?: (error: KubeApiError) => void;
  /** Called for each object applied or failed, with the time it took (metrics). */
  onApplied?: (kind: string, outcome: ObjectOutcome, seconds: number) => void;
  /** Finds the request a `traceparent` names, in the cluster (the runs view). */
  parentOf?: ParentLookup;
  requestTokens?: RequestTokenSigning;
  /** The clock, in seconds (tests). */
  nowSeconds?: () => number;
}

/** Publishes to topics of the live index. */
export class Publisher {
  readonly #options: PublisherOptions;
  readonly #logger: Logger;

  /** A publisher over `options.index()` applying through `options.kube`. */
  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /**
   * Renders, settles, checks and applies every manifest of `request.topic`. Throws a
   * {@linkcode PublishError} when the publish is refused before anything is applied.
   */
  async publish(request: PublishRequest): Promise<PublishResult> {
    const { index, topic } = this.#admit(request);
    const requestUuid = publishSeed(topic.name, request.idempotencyKey);
    const lineage = lineageOf(request, requestUuid, { parentOf: this.#options.parentOf });
    const digest = request.idempotencyKey !== undefined
      ? requestDigest(topic.name, request.body, request.query)
      : undefined;
    const rendered = renderTopic(topic, {
      ...request,
      requestUuid,
      requestDigest: digest,
      labels: { runId: lineage.runId, parent: lineage.parent, revision: index.revision },
      traceparent: lineage.traceparent,
      requestToken: this.#requestToken(requestUuid, lineage),
    });
    // Names become request paths: none is sent unless every object's can be.
    checkIdentities(rendered);
    checkExecLimits(rendered);
    const report: PublishReport = {
      requestUuid,
      runId: lineage.runId,
      parent: lineage.parent,
      traceparent: lineage.traceparent,
      topic: topic.name,
      revision: index.revision,
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      ...(request.dryRun || !this.#options.kube ? { dryRun: true } : {}),
      objects: [],
    };
    const keyed = request.idempotencyKey !== undefined
      ? { requestUuid, digest: digest!, idempotencyKey: request.idempotencyKey }
      : undefined;
    report.objects = this.#options.kube
      ? await this.#inCluster(this.#options.kube, rendered, { request, requestUuid, keyed })
      : this.#renderOnly(rendered, report);
    return this.#finish(report);
  }

  /**
   * The request's token. Its expiry is rounded up to the hour, so a retried publish (same
   * Idempotency-Key) within the hour renders the very same objects.
   */
  #requestToken(requestUuid: string, lineage: Lineage): string {
    const signing = this.#options.requestTokens;
    if (!signing) return "";
    const now = this.#options.nowSeconds?.() ?? Date.now() / 1000;
    const expiresAt = Math.ceil((now + signing.ttlSeconds) / 3600) * 3600;
    return signRequestToken({ requestUuid, runId: lineage.runId, expiresAt }, signing.key);
  }

  /** The index and topic to publish from, or the refusal; read once per publish. */
  #admit(request: PublishRequest): { index: TopicIndex; topic: Topic } {
    const index = this.#options.index();
    if (!index) {
      throw new PublishError(
        "no topic index is loaded yet: the first Git sync has not succeeded",
        { reason: "no-index", retryAfterSeconds: 5 },
      );
    }
    const topic = index.topics.get(request.topic);
    if (!topic) {
      throw new PublishError(`unknown topic "${request.topic}"`, { reason: "unknown-topic" });
    }
    if (topic.problems.length > 0) {
      throw new PublishError(`topic "${topic.name}" is unusable: ${topic.problems.join("; ")}`, {
        reason: "unusable-topic",
        details: { problems: topic.problems },
      });
    }
    const kube = this.#options.kube;
    if (kube && kube.queued >= this.#options.maxQueue) {
      throw new PublishError("too many requests are waiting for the API server", {
        reason: "busy",
        retryAfterSeconds: 1,
      });
    }
    return { index, topic };
  }

  /**
   * With a cluster: settle every object (discovery included), check, then, with an
   * Idempotency-Key, read every object and refuse a key used for another request, and apply in
   * order.
   */
  async #inCluster(
    kube: KubeConnection,
    rendered: Rendered[],
    publish: { request: PublishRequest; requestUuid: string; keyed?: KeyedRequest },
  ): Promise<ObjectReport[]> {
    const { request, requestUuid, keyed } = publish;
    const options = this.#options;
    const budgetMs = Math.min(options.kubeTimeoutMs, options.publishTimeoutMs);
    const started = performance.now();
    const deadline = AbortSignal.timeout(budgetMs);
    const remainingMs = () => budgetMs - (performance.now() - started);
    const { namespace, onRetry } = options;
    const settling = { namespace, requestUuid, deadline, remainingMs, onRetry };
    const settled = await settleInCluster(kube, rendered, settling);
    if ("failed" in settled) return settled.failed;
    checkPolicy(options.policy, rendered, settled.settled.map((s) => s.resource.namespaced));
    let existing: (KubeObject | null)[] | undefined;
    if (keyed) {
      const read = await readExisting(kube, { rendered, settled: settled.settled }, settling);
      if ("failed" in read) return read.failed;
      checkKeyReuse(rendered, read.existing, keyed);
      existing = read.existing;
    }
    return await applyAll(kube, rendered, settled.settled, {
      requestUuid,
      dryRun: request.dryRun,
      ...(keyed ? { keyed: { request: keyed, existing: existing! } } : {}),
      deadline,
      remainingMs,
      budgetMs,
      onRetry,
      onApplied: options.onApplied,
    });
  }

  /** Without a cluster: settle names and namespaces locally, check, and report the objects. */
  #renderOnly(rendered: Rendered[], report: PublishReport): ObjectReport[] {
    const { requestUuid, topic } = report;
    const namespaced = settleLocally(rendered, { namespace: this.#options.namespace, requestUuid });
    checkPolicy(this.#options.policy, rendered, namespaced);
    for (const item of rendered) {
      this.#logger.info("render-only: would apply", { requestUuid, topic, object: item.object });
    }
    return rendered.map((item) => ({
      ...identity(item),
      outcome: "dry-run" as const,
      object: item.object,
    }));
  }

  #finish(report: PublishReport): PublishResult {
    const status = statusOf(report.objects);
    const fields = {
      requestUuid: report.requestUuid,
      topic: report.topic,
      revision: report.revision,
      status,
      objects: report.objects.map((o) => `${o.kind}/${o.name ?? "?"}:${o.outcome}`),
    };
    if (status === PUBLISH_STATUS.applied) this.#logger.info("published", fields);
    else this.#logger.warn("publish failed", fields);
    return { status, report };
  }
}

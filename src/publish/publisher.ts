/**
 * A publish: render every manifest of a topic from one index, settle and check every object,
 * then apply them in order and report each one. Nothing is applied unless every object rendered,
 * was found in discovery and passed the policy.
 * @module
 */

import {
  applyObject,
  KubeApiError,
  type KubeObject,
  type ResolvedObject,
  resolveObject,
} from "../kube/apply.ts";
import type { KubeConnection } from "../kube/connection.ts";
import { GaveUpError } from "../kube/retry.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { isKnownClusterKind, type Policy, policyViolation } from "../policy/policy.ts";
import { renderTemplate } from "../render/template.ts";
import type { TopicIndex } from "../topics/topic_index.ts";
import { addLabels, LABELS } from "./labels.ts";
import {
  BUILT_IN_NAMES,
  generatedName,
  manifestValues,
  publishSeed,
  requestValues,
} from "./values.ts";

/** What happened to one object; `dry-run`: validated, nothing stored. */
export type ObjectOutcome =
  | "created"
  | "configured"
  | "unchanged"
  | "failed"
  | "skipped"
  | "dry-run";

/** One object in a publish report. */
export interface ObjectReport {
  manifest: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  outcome: ObjectOutcome;
  error?: string;
  /** The API server's Status reason, such as `AlreadyExists` or `Invalid`. */
  reason?: string;
  /** The API server's HTTP status for a failed object (0: no answer). */
  code?: number;
  /** How often it was tried, when it was given up on after retries. */
  attempts?: number;
  /** In a dry run, the object that would be applied. */
  object?: KubeObject;
}

/** The body of a publish answer. */
export interface PublishReport {
  requestUuid: string;
  topic: string;
  revision: string;
  idempotencyKey?: string;
  dryRun?: boolean;
  objects: ObjectReport[];
}

/** A publish answer: HTTP status and report. */
export interface PublishResult {
  status: number;
  report: PublishReport;
}

/** A publish that was refused before anything was applied. */
export class PublishError extends Error {
  override name = "PublishError";
  /** A refusal with the HTTP status to answer, and a Retry-After in seconds when it passes. */
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A publish request after HTTP parsing. */
export interface PublishRequest {
  topic: string;
  body: Uint8Array;
  query: [string, string][];
  dryRun?: boolean;
  idempotencyKey?: string;
}

/** What a publisher needs. */
export interface PublisherOptions {
  /** The live index (read once per publish, so a publish sees one index). */
  index: () => TopicIndex | null;
  /** The cluster; without one every publish is a local dry run (development). */
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
}

/**
 * HTTP statuses: 202 every object applied; 422 the API server refused an object; 502 it could
 * not be reached or kept failing; 504 the publish ran out of time.
 */
export const STATUS = { applied: 202, refused: 422, apiFailed: 502, timedOut: 504 } as const;

interface Rendered {
  manifest: string;
  object: KubeObject;
  where: string;
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

  /** Renders, checks and applies every manifest of `request.topic`. */
  async publish(request: PublishRequest): Promise<PublishResult> {
    const options = this.#options;
    const index = options.index();
    if (!index) {
      throw new PublishError(
        503,
        "no topic index is loaded yet: the first Git sync has not succeeded",
        5,
      );
    }
    const topic = index.topics.get(request.topic);
    if (!topic) throw new PublishError(404, `unknown topic "${request.topic}"`);
    if (topic.problems.length > 0) {
      throw new PublishError(
        403,
        `topic "${topic.name}" is unusable: ${topic.problems.join("; ")}`,
        undefined,
        { problems: topic.problems },
      );
    }
    const kube = options.kube;
    if (kube && kube.queued >= options.maxQueue) {
      throw new PublishError(503, "too many requests are waiting for the API server", 1);
    }

    const requestUuid = publishSeed(topic.name, request.idempotencyKey);
    const values = requestValues(topic.name, request.body, { query: request.query, requestUuid });
    const rendered: Rendered[] = [];
    topic.manifests.forEach((manifest, i) => {
      const objects = renderTemplate(manifest.template, manifestValues(values, i), {
        stringNames: BUILT_IN_NAMES,
      });
      objects.forEach((object, j) => {
        const kubeObject = object as KubeObject;
        addLabels(kubeObject, { topic: topic.name, requestUuid });
        rendered.push({ manifest: manifest.path, object: kubeObject, where: `${i}:${j}` });
      });
    });

    const budgetMs = Math.min(options.kubeTimeoutMs, options.publishTimeoutMs);
    const started = performance.now();
    const deadline = AbortSignal.timeout(budgetMs);
    const remainingMs = () => budgetMs - (performance.now() - started);
    const onRetry = options.onRetry;
    const report: PublishReport = {
      requestUuid,
      topic: topic.name,
      revision: index.revision,
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      ...(request.dryRun || !kube ? { dryRun: true } : {}),
      objects: [],
    };
    const nameFor = (item: Rendered) => (prefix: string) =>
      generatedName(requestUuid, prefix, item.where);
    if (!kube) return this.#renderOnly(report, rendered, nameFor);

    // Settle every object before applying any: discovery, namespace, generated names, policy.
    const resolved: (ResolvedObject | ObjectReport)[] = [];
    for (const item of rendered) {
      try {
        resolved.push(
          await resolveObject(kube, item.object, {
            namespace: options.namespace,
            generatedName: nameFor(item),
            deadline,
            remainingMs,
            onRetry,
          }),
        );
      } catch (error) {
        resolved.push(failure(item, error));
      }
    }
    if (resolved.some((r) => "outcome" in r)) {
      report.objects = resolved.map((r, i) =>
        "outcome" in r
          ? r
          : skipped(rendered[i], "another object of this publish could not be resolved")
      );
      return this.#finish(report);
    }
    (resolved as ResolvedObject[]).forEach((r, i) =>
      this.#checkPolicy(rendered[i], r.resource.namespaced)
    );

    for (const [i, r] of (resolved as ResolvedObject[]).entries()) {
      const item = rendered[i];
      if (deadline.aborted) {
        report.objects.push({
          ...identity(item),
          outcome: "failed",
          error: `not applied: the publish ran out of time (${budgetMs} ms)`,
          reason: "Timeout",
          code: 0,
        });
        continue;
      }
      const applyStarted = performance.now();
      try {
        const applied = await applyObject(kube, r, {
          deadline,
          remainingMs,
          dryRun: request.dryRun,
          checkExisting: request.idempotencyKey !== undefined,
          ownerLabel: [LABELS.requestUuid, requestUuid],
          onRetry,
        });
        report.objects.push(
          request.dryRun
            ? { ...identity(item), ...applied, outcome: "dry-run", object: item.object }
            : { ...identity(item), ...applied },
        );
      } catch (error) {
        report.objects.push(failure(item, error));
      }
      options.onApplied?.(
        item.object.kind,
        report.objects.at(-1)!.outcome,
        (performance.now() - applyStarted) / 1000,
      );
    }
    return this.#finish(report);
  }

  /** Without a cluster: settle names and namespaces locally, check, and report the objects. */
  #renderOnly(
    report: PublishReport,
    rendered: Rendered[],
    nameFor: (item: Rendered) => (prefix: string) => string,
  ): PublishResult {
    for (const item of rendered) {
      const metadata = item.object.metadata ??= {};
      const namespaced = !isKnownClusterKind(item.object.apiVersion, item.object.kind);
      if (namespaced) metadata.namespace ??= this.#options.namespace;
      if (!metadata.name && metadata.generateName) {
        metadata.name = nameFor(item)(metadata.generateName);
        delete metadata.generateName;
      }
      this.#checkPolicy(item, namespaced);
    }
    report.objects = rendered.map((item) => ({
      ...identity(item),
      outcome: "dry-run",
      object: item.object,
    }));
    for (const object of report.objects) {
      this.#logger.info("dry run: would apply", {
        requestUuid: report.requestUuid,
        topic: report.topic,
        object: object.object,
      });
    }
    return this.#finish(report);
  }

  /** Throws 403 when the policy refuses the object; nothing is applied then. */
  #checkPolicy(item: Rendered, namespaced: boolean): void {
    const object = item.object;
    const violation = policyViolation(this.#options.policy, {
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: object.metadata?.namespace,
      namespaced,
    });
    if (violation) {
      const name = object.metadata?.name ?? object.metadata?.generateName;
      throw new PublishError(
        403,
        `${item.manifest}: ${object.kind} "${name}": ${violation}; nothing was applied`,
      );
    }
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
    if (status === STATUS.applied) this.#logger.info("published", fields);
    else this.#logger.warn("publish failed", fields);
    return { status, report };
  }
}

function identity(item: Rendered) {
  return {
    manifest: item.manifest,
    apiVersion: item.object.apiVersion,
    kind: item.object.kind,
    namespace: item.object.metadata?.namespace,
    name: item.object.metadata?.name ?? item.object.metadata?.generateName,
  };
}

function failure(item: Rendered, error: unknown): ObjectReport {
  const e = error instanceof KubeApiError
    ? error
    : new KubeApiError((error as Error).message, 0, "Error");
  return {
    ...identity(item),
    outcome: "failed",
    error: e.message,
    reason: e.reason,
    code: e.status,
    ...(e instanceof GaveUpError ? { attempts: e.attempts } : {}),
  };
}

function skipped(item: Rendered, why: string): ObjectReport {
  return { ...identity(item), outcome: "skipped", error: `not applied: ${why}` };
}

function statusOf(objects: ObjectReport[]): number {
  const failed = objects.filter((o) => o.outcome === "failed");
  if (failed.length === 0) return STATUS.applied;
  if (failed.some((o) => o.reason === "Timeout")) return STATUS.timedOut;
  if (failed.some((o) => o.code === 0 || o.code === 429 || (o.code ?? 0) >= 500)) {
    return STATUS.apiFailed;
  }
  return STATUS.refused;
}

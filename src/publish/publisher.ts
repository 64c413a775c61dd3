/**
 * A publish: render every manifest of a topic from one index, apply the objects in order, and
 * report each one. Everything is rendered before anything is applied, so a template that
 * cannot render leaves the cluster untouched.
 * @module
 */

import { applyObject, KubeApiError, type KubeObject } from "../kube/apply.ts";
import type { KubeConnection } from "../kube/connection.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { renderTemplate } from "../render/template.ts";
import type { TopicIndex } from "../topics/topic_index.ts";
import { addLabels } from "./labels.ts";
import { manifestValues, requestValues } from "./values.ts";

/** What happened to one object. */
export type ObjectOutcome = "created" | "configured" | "unchanged" | "failed";

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
}

/** The body of a publish answer. */
export interface PublishReport {
  requestUuid: string;
  topic: string;
  revision: string;
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
  /** A refusal with the HTTP status to answer. */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A publish request after HTTP parsing. */
export interface PublishRequest {
  topic: string;
  body: Uint8Array;
  query: [string, string][];
  dryRun?: boolean;
}

/** What a publisher needs. */
export interface PublisherOptions {
  /** The live index (read once per publish, so a publish sees one index). */
  index: () => TopicIndex | null;
  kube: KubeConnection;
  /** Namespace for objects that name none. */
  namespace: string;
  logger?: Logger;
}

/**
 * HTTP statuses: 202 when every object was applied; 502 when the API server could not be
 * reached or failed (retrying may work); 422 when it refused an object (fix the template or the
 * values).
 */
export const STATUS = { applied: 202, refused: 422, apiFailed: 502 } as const;

/** Publishes to topics of the live index. */
export class Publisher {
  readonly #options: PublisherOptions;
  readonly #logger: Logger;

  /** A publisher over `options.index()` applying through `options.kube`. */
  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Renders and applies every manifest of `request.topic`. */
  async publish(request: PublishRequest): Promise<PublishResult> {
    const index = this.#options.index();
    if (!index) {
      throw new PublishError(
        503,
        "no topic index is loaded yet: the first Git sync has not succeeded",
      );
    }
    const topic = index.topics.get(request.topic);
    if (!topic) throw new PublishError(404, `unknown topic "${request.topic}"`);

    const { requestUuid, values } = requestValues(topic.name, request.body, request.query);
    const rendered: { manifest: string; object: KubeObject }[] = [];
    for (const manifest of topic.manifests) {
      const fileValues = manifestValues(values);
      for (const object of renderTemplate(manifest.template, fileValues)) {
        const kubeObject = object as KubeObject;
        addLabels(kubeObject, { topic: topic.name, requestUuid });
        rendered.push({ manifest: manifest.path, object: kubeObject });
      }
    }

    const objects: ObjectReport[] = [];
    for (const { manifest, object } of rendered) {
      objects.push(await this.#applyOne(manifest, object, request.dryRun));
    }
    const report = { requestUuid, topic: topic.name, revision: index.revision, objects };
    const status = statusOf(objects);
    const log = status === STATUS.applied ? this.#logger.info : this.#logger.warn;
    log("published", {
      requestUuid,
      topic: topic.name,
      revision: index.revision,
      status,
      objects: objects.map((o) => `${o.kind}/${o.name ?? "?"}:${o.outcome}`),
    });
    return { status, report };
  }

  async #applyOne(manifest: string, object: KubeObject, dryRun?: boolean): Promise<ObjectReport> {
    const base = {
      manifest,
      apiVersion: object.apiVersion,
      kind: object.kind,
    };
    try {
      const applied = await applyObject(this.#options.kube, object, {
        namespace: this.#options.namespace,
        dryRun,
      });
      return {
        ...base,
        namespace: applied.namespace,
        name: applied.name,
        outcome: applied.outcome,
      };
    } catch (error) {
      const e = error instanceof KubeApiError
        ? error
        : new KubeApiError((error as Error).message, 0, "Error");
      return {
        ...base,
        namespace: object.metadata?.namespace,
        name: object.metadata?.name ?? object.metadata?.generateName,
        outcome: "failed",
        error: e.message,
        reason: e.reason,
        code: e.status,
      };
    }
  }
}

function statusOf(objects: ObjectReport[]): number {
  const failed = objects.filter((o) => o.outcome === "failed");
  if (failed.length === 0) return STATUS.applied;
  const retryable = failed.some((o) => o.code === 0 || o.code === 429 || (o.code ?? 0) >= 500);
  return retryable ? STATUS.apiFailed : STATUS.refused;
}

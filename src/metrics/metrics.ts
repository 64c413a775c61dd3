/**
 * Prometheus metrics for `GET /metrics`, on `prom-client`. Label values come from bounded sets
 * (configured topics, kinds, fixed outcome names), so a caller cannot blow up the series count
 * by publishing to made-up topics.
 * @module
 */

import client from "prom-client";

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The router's metrics, in their own registry. */
export class Metrics {
  readonly registry: client.Registry = new client.Registry();
  readonly #publishes;
  readonly #publishSeconds;
  readonly #objects;
  readonly #applySeconds;
  readonly #syncs;
  readonly #syncSeconds;
  readonly #revision;
  readonly #lastGoodSync;
  readonly #webhooks;
  readonly #retries;
  #liveRevision: string | undefined;

  /** Registers every metric. */
  constructor() {
    const registers = [this.registry];
    this.#publishes = new client.Counter({
      name: "gitfaas_publishes_total",
      help: "Publishes answered, by topic and HTTP status",
      labelNames: ["topic", "status"] as const,
      registers,
    });
    this.#publishSeconds = new client.Histogram({
      name: "gitfaas_publish_duration_seconds",
      help: "Time to answer a publish, by topic",
      labelNames: ["topic"] as const,
      buckets: SECONDS,
      registers,
    });
    this.#objects = new client.Counter({
      name: "gitfaas_objects_applied_total",
      help: "Objects applied, by kind and outcome",
      labelNames: ["kind", "outcome"] as const,
      registers,
    });
    this.#applySeconds = new client.Histogram({
      name: "gitfaas_apply_duration_seconds",
      help: "Time to apply one object, retries included, by kind",
      labelNames: ["kind"] as const,
      buckets: SECONDS,
      registers,
    });
    this.#syncs = new client.Counter({
      name: "gitfaas_syncs_total",
      help: "Git syncs, by outcome (changed, unchanged, failed)",
      labelNames: ["outcome"] as const,
      registers,
    });
    this.#syncSeconds = new client.Histogram({
      name: "gitfaas_sync_duration_seconds",
      help: "Time of a Git sync, index build included",
      buckets: SECONDS,
      registers,
    });
    this.#revision = new client.Gauge({
      name: "gitfaas_revision_info",
      help: "The commit serving now (value 1, the commit in the revision label)",
      labelNames: ["revision"] as const,
      registers,
    });
    this.#lastGoodSync = new client.Gauge({
      name: "gitfaas_last_good_sync_timestamp_seconds",
      help: "Unix time of the last sync that succeeded",
      registers,
    });
    this.#webhooks = new client.Counter({
      name: "gitfaas_webhook_deliveries_total",
      help: "Webhook deliveries, by provider and outcome",
      labelNames: ["provider", "outcome"] as const,
      registers,
    });
    this.#retries = new client.Counter({
      name: "gitfaas_kube_retries_total",
      help: "API server requests retried, by the reason of the failure",
      labelNames: ["reason"] as const,
      registers,
    });
    const started = Date.now() / 1000;
    new client.Gauge({
      name: "process_start_time_seconds",
      help: "Start time of the process since the Unix epoch, in seconds",
      registers,
      collect() {
        this.set(started);
      },
    });
    new client.Gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes",
      registers,
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
    new client.Gauge({
      name: "gitfaas_heap_used_bytes",
      help: "JavaScript heap in use, in bytes",
      registers,
      collect() {
        this.set(Deno.memoryUsage().heapUsed);
      },
    });
  }

  /** A publish was answered with `status` (`topic` is "unknown" for topics not in the index). */
  published(topic: string, status: number, seconds: number): void {
    this.#publishes.inc({ topic, status: String(status) });
    this.#publishSeconds.observe({ topic }, seconds);
  }

  /** One object was applied (or failed) in `seconds`. */
  applied(kind: string, outcome: string, seconds: number): void {
    this.#objects.inc({ kind, outcome });
    this.#applySeconds.observe({ kind }, seconds);
  }

  /** A sync ended. */
  synced(outcome: "changed" | "unchanged" | "failed", seconds: number, revision?: string): void {
    this.#syncs.inc({ outcome });
    this.#syncSeconds.observe(seconds);
    if (outcome === "failed") return;
    this.#lastGoodSync.set(Date.now() / 1000);
    if (revision && revision !== this.#liveRevision) {
      if (this.#liveRevision) this.#revision.remove({ revision: this.#liveRevision });
      this.#revision.set({ revision }, 1);
      this.#liveRevision = revision;
    }
  }

  /** A webhook delivery was answered. */
  webhook(provider: string, outcome: string): void {
    this.#webhooks.inc({ provider, outcome });
  }

  /** An API server request is being retried after failing with `reason`. */
  retried(reason: string): void {
    this.#retries.inc({ reason });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The exposition's content type. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

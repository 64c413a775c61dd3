/**
 * Prometheus metrics for `GET /metrics`, on `prom-client`. Every metric is one row of
 * {@linkcode METRICS}; `Metrics` only records into them. Label values come from bounded sets
 * (configured topics, kinds, fixed outcome names, HTTP statuses), so a caller cannot blow up
 * the series count by publishing to made-up topics.
 * @module
 */

import client from "prom-client";

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Buckets for Jobs and runs, which take seconds to hours. */
const LONG_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];

/** One metric: its kind, name, help text and label names; a gauge may be read at scrape time. */
type Definition =
  | { kind: "counter"; name: string; help: string; labelNames?: readonly string[] }
  | {
    kind: "histogram";
    name: string;
    help: string;
    labelNames?: readonly string[];
    buckets?: readonly number[];
  }
  | {
    kind: "gauge";
    name: string;
    help: string;
    labelNames?: readonly string[];
    read?: () => number;
  };

/** Every metric the router exposes. */
export const METRICS = {
  publishes: {
    kind: "counter",
    name: "gitfaas_publishes_total",
    help: "Publishes answered, by topic and HTTP status (500: a bug in gitfaas)",
    labelNames: ["topic", "status"],
  },
  publishSeconds: {
    kind: "histogram",
    name: "gitfaas_publish_duration_seconds",
    help: "Time to answer a publish, by topic",
    labelNames: ["topic"],
  },
  objects: {
    kind: "counter",
    name: "gitfaas_objects_applied_total",
    help: "Objects applied, by kind and outcome",
    labelNames: ["kind", "outcome"],
  },
  applySeconds: {
    kind: "histogram",
    name: "gitfaas_apply_duration_seconds",
    help: "Time to apply one object, retries included, by kind",
    labelNames: ["kind"],
  },
  syncs: {
    kind: "counter",
    name: "gitfaas_syncs_total",
    help: "Git syncs, by outcome (changed, unchanged, failed)",
    labelNames: ["outcome"],
  },
  syncSeconds: {
    kind: "histogram",
    name: "gitfaas_sync_duration_seconds",
    help: "Time of a Git sync, index build included",
  },
  revision: {
    kind: "gauge",
    name: "gitfaas_revision_info",
    help: "The commit serving now (value 1, the commit in the revision label)",
    labelNames: ["revision"],
  },
  lastGoodSync: {
    kind: "gauge",
    name: "gitfaas_last_good_sync_timestamp_seconds",
    help: "Unix time of the last sync that succeeded",
  },
  webhooks: {
    kind: "counter",
    name: "gitfaas_webhook_deliveries_total",
    help: "Webhook deliveries, by provider and outcome",
    labelNames: ["provider", "outcome"],
  },
  aborted: {
    kind: "counter",
    name: "gitfaas_requests_aborted_total",
    help: "Requests whose client went away before sending the whole body, by route " +
      "(publish, render, webhook, requests, other)",
    labelNames: ["route"],
  },
  connections: {
    kind: "gauge",
    name: "gitfaas_open_connections",
    help: "HTTP connections open now (at most MAX_CONNECTIONS)",
  },
  refusedConnections: {
    kind: "counter",
    name: "gitfaas_connections_refused_total",
    help: "HTTP connections closed at once because MAX_CONNECTIONS were open and none was idle",
  },
  retries: {
    kind: "counter",
    name: "gitfaas_kube_retries_total",
    help: "API server requests retried, by the reason of the failure",
    labelNames: ["reason"],
  },
  jobOutcomes: {
    kind: "counter",
    name: "gitfaas_job_outcomes_total",
    help: "Published Jobs seen to end, by topic, outcome and reason (every replica sees every " +
      "Job: aggregate replicas with max, not sum)",
    labelNames: ["topic", "outcome", "reason"],
  },
  runSeconds: {
    kind: "histogram",
    name: "gitfaas_run_duration_seconds",
    help: "Runs seen to end, from the first request's creation to the last step's end, by " +
      "outcome and the run's first topic",
    labelNames: ["topic", "outcome"],
    buckets: LONG_SECONDS,
  },
  processStart: {
    kind: "gauge",
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch, in seconds",
    read: () => performance.timeOrigin / 1000,
  },
  residentMemory: {
    kind: "gauge",
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes",
    read: () => Deno.memoryUsage().rss,
  },
  heapUsed: {
    kind: "gauge",
    name: "gitfaas_heap_used_bytes",
    help: "JavaScript heap in use, in bytes",
    read: () => Deno.memoryUsage().heapUsed,
  },
} as const satisfies Record<string, Definition>;

type Instrument<D extends Definition> = D extends { kind: "counter" } ? client.Counter
  : D extends { kind: "histogram" } ? client.Histogram
  : client.Gauge;

/** The prom-client metric of every definition, by the definition's key. */
type Instruments = { [K in keyof typeof METRICS]: Instrument<(typeof METRICS)[K]> };

function register(definition: Definition, registry: client.Registry) {
  const common = {
    name: definition.name,
    help: definition.help,
    labelNames: definition.labelNames ?? [],
    registers: [registry],
  };
  switch (definition.kind) {
    case "counter":
      return new client.Counter(common);
    case "histogram":
      return new client.Histogram({ ...common, buckets: [...definition.buckets ?? SECONDS] });
    case "gauge": {
      const read = definition.read;
      return new client.Gauge({
        ...common,
        ...(read
          ? {
            collect() {
              this.set(read());
            },
          }
          : {}),
      });
    }
  }
}

/** The router's metrics, in their own registry. */
export class Metrics {
  readonly registry: client.Registry = new client.Registry();
  readonly #m: Instruments;
  #liveRevision: string | undefined;

  /** Registers every metric of {@linkcode METRICS}. */
  constructor() {
    this.#m = Object.fromEntries(
      Object.entries(METRICS).map((
        [key, definition],
      ) => [key, register(definition, this.registry)]),
    ) as Instruments;
  }

  /** A publish was answered with `status` (`topic` is "unknown" for topics not in the index). */
  published(topic: string, status: number, seconds: number): void {
    this.#m.publishes.inc({ topic, status: String(status) });
    this.#m.publishSeconds.observe({ topic }, seconds);
  }

  /** One object was applied (or failed) in `seconds`. */
  applied(kind: string, outcome: string, seconds: number): void {
    this.#m.objects.inc({ kind, outcome });
    this.#m.applySeconds.observe({ kind }, seconds);
  }

  /** A sync ended. */
  synced(outcome: "changed" | "unchanged" | "failed", seconds: number, revision?: string): void {
    this.#m.syncs.inc({ outcome });
    this.#m.syncSeconds.observe(seconds);
    if (outcome === "failed") return;
    this.#m.lastGoodSync.set(Date.now() / 1000);
    if (revision && revision !== this.#liveRevision) {
      if (this.#liveRevision) this.#m.revision.remove({ revision: this.#liveRevision });
      this.#m.revision.set({ revision }, 1);
      this.#liveRevision = revision;
    }
  }

  /** A webhook delivery was answered. */
  webhook(provider: string, outcome: string): void {
    this.#m.webhooks.inc({ provider, outcome });
  }

  /** A client went away before sending the whole body of a request to `route`. */
  aborted(route: string): void {
    this.#m.aborted.inc({ route });
  }

  /** `open` HTTP connections are open now. */
  openConnections(open: number): void {
    this.#m.connections.set(open);
  }

  /** A connection was closed at once: MAX_CONNECTIONS were open. */
  refusedConnection(): void {
    this.#m.refusedConnections.inc();
  }

  /** An API server request is being retried after failing with `reason`. */
  retried(reason: string): void {
    this.#m.retries.inc({ reason });
  }

  /** A published Job was seen to end. */
  jobFinished(topic: string, outcome: "succeeded" | "failed", reason = ""): void {
    this.#m.jobOutcomes.inc({ topic, outcome, reason });
  }

  /** A run was seen to end after `seconds`. */
  runFinished(topic: string, outcome: string, seconds: number): void {
    this.#m.runSeconds.observe({ topic, outcome }, seconds);
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

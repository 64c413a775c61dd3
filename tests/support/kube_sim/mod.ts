/**
 * A Kubernetes API server simulator for tests and benchmarks.
 *
 * It speaks enough of the real REST API (discovery, CRUD, patch, server-side
 * apply, watch, Status errors with the apiserver's messages) that the real
 * `@kubernetes/client-node` and `kubectl` work against it unmodified.
 *
 * ```ts
 * const sim = await KubeSim.start();
 * const kc = new KubeConfig();
 * kc.loadFromString(sim.kubeconfig());
 * // ... exercise code under test ...
 * await sim.close();
 * ```
 *
 * kubectl needs nothing special with a TLS simulator: `kubectl --kubeconfig=F
 * --cache-dir=D create|apply|apply --server-side|get|delete ...` works. The
 * simulator serves the OpenAPI v3 skeleton kubectl consults for its default
 * `--validate=strict` (see `ResourceRegistry.openApiV3`; without it kubectl
 * needs `--validate=false`), and its plain `application/json` discovery
 * answers make kubectl fall back from aggregated discovery. `--cache-dir`
 * keeps kubectl's discovery cache out of $HOME. Limits: kubectl never sends
 * credentials to a plain-HTTP server (client-go only applies auth info over
 * TLS), so use `tls: true` with kubectl; and kubectl's imperative generators
 * (`kubectl create namespace|configmap|secret|job|deployment ...`) send
 * protobuf, answered with 415 — use manifests (`create -f`, `apply -f`).
 *
 * @module
 */

import { errorResponse, handle, type HandlerContext, type RouteInfo } from "./handler.ts";
import { ResourceRegistry } from "./resources.ts";
import { clone, type JsonObject } from "./patch.ts";
import { labelMatcher } from "./selectors.ts";
import { genericStatus, unauthorized } from "./status.ts";
import { ObjectStore } from "./store.ts";
import { WatchHub } from "./watch.ts";
import { testCertificates } from "../tls.ts";

/** Options of {@link KubeSim.start}. */
export interface KubeSimOptions {
  /** HTTPS with a freshly generated CA (default true). */
  tls?: boolean;
  /** Bearer token required on every request (default: random). */
  token?: string;
  /** Pre-created namespaces (default `["default", "kube-system"]`). */
  namespaces?: string[];
  /** Added before answering each request (default 0). */
  latencyMs?: number;
}

/** One request as seen by the simulator, in arrival order. */
export interface SimRequest {
  /** HTTP method. */
  method: string;
  /** URL path without the query. */
  path: string;
  /** Query string without the leading `?` (empty when none). */
  query: string;
  /** Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`); the lowercased method for non-resource paths. */
  verb: string;
  /** Plural resource, with `/status` for the subresource; empty for non-resource paths. */
  resource: string;
  /** Namespace from the URL, for namespaced requests. */
  namespace?: string;
  /** HTTP status answered; 0 while pending and for `reset`/`hang` faults. */
  status: number;
  /** Request Content-Type, when sent. */
  contentType?: string;
  /** Whether `dryRun=All` was requested. */
  dryRun: boolean;
  /** Arrival time, ms since the epoch. */
  time: number;
}

/**
 * A fault to inject. Without `times` or `forMs` it applies until
 * {@link KubeSim.clearFaults}; with both, whichever runs out first ends it.
 */
export interface FaultRule {
  /** HTTP status to answer, with the generic Status body the apiserver sends for it (default 500). */
  status?: number;
  /** Only the next `times` matching requests. */
  times?: number;
  /** Only for this many milliseconds from now. */
  forMs?: number;
  /** Sent as the `Retry-After` header (seconds) and `details.retryAfterSeconds`. */
  retryAfter?: number;
  /**
   * Break the connection instead of answering. `Deno.serve` cannot drop a
   * connection before writing a status line, so clients get the response
   * head and then the connection closes mid-body: fetch/undici reject the
   * body read ("terminated"), Go reports an unexpected EOF — no usable answer.
   */
  reset?: boolean;
  /** Never answer; the request is released (reset) by {@link KubeSim.close}. */
  hang?: boolean;
  /** Which requests the fault applies to (default: all). */
  match?: (req: { method: string; path: string }) => boolean;
}

interface ActiveFault {
  rule: FaultRule;
  remaining: number;
  until: number;
}

/** A running simulated API server on 127.0.0.1. */
export class KubeSim {
  /** Base URL, e.g. `https://127.0.0.1:PORT`. */
  readonly url: string;
  /** Bearer token every request must carry. */
  readonly token: string;
  /** PEM of the CA that signed the server certificate (undefined for plain HTTP). */
  readonly caPem: string | undefined;
  /** Every request, in arrival order. */
  readonly requests: SimRequest[] = [];

  #server!: Deno.HttpServer<Deno.NetAddr>;
  #abort!: AbortController;
  #registry = new ResourceRegistry();
  #store = new ObjectStore(this.#registry);
  #watches = new WatchHub(this.#store);
  #faults: ActiveFault[] = [];
  #latency: number;
  #held: Promise<void> | undefined;
  #closing = Promise.withResolvers<void>();
  #closed = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #authorization: string;
  #context: HandlerContext;

  private constructor(url: string, token: string, caPem: string | undefined, latency: number) {
    this.url = url;
    this.token = token;
    this.caPem = caPem;
    this.#latency = latency;
    this.#authorization = `Bearer ${token}`;
    this.#context = {
      registry: this.#registry,
      store: this.#store,
      watches: this.#watches,
      serverAddress: new URL(url).host,
    };
  }

  /** Starts a simulator listening on a random loopback port. */
  static async start(options: KubeSimOptions = {}): Promise<KubeSim> {
    const tls = options.tls ?? true;
    const certs = tls ? await testCertificates() : undefined;
    const token = options.token ?? crypto.randomUUID().replaceAll("-", "");
    // The handler needs the instance, which needs the server's port.
    const ref: { sim?: KubeSim } = {};
    const abort = new AbortController();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: abort.signal,
      onListen() {},
      onError: serveError,
      ...(certs ? { cert: certs.certPem, key: certs.keyPem } : {}),
    }, (req) => ref.sim!.#handle(req));
    const port = server.addr.port;
    const sim = ref.sim = new KubeSim(
      `${tls ? "https" : "http"}://127.0.0.1:${port}`,
      token,
      certs?.caPem,
      options.latencyMs ?? 0,
    );
    sim.#server = server;
    sim.#abort = abort;
    for (const ns of options.namespaces ?? ["default", "kube-system"]) sim.addNamespace(ns);
    return sim;
  }

  /**
   * kubeconfig YAML for this server: token auth, with the CA data, or for a
   * plain-HTTP server `insecure-skip-tls-verify: true` (client-node 2 refuses
   * http:// otherwise; kubectl sends no token over plain HTTP at all).
   */
  kubeconfig(options: { namespace?: string } = {}): string {
    const q = JSON.stringify;
    const cluster = this.caPem
      ? `    certificate-authority-data: ${q(btoa(this.caPem))}`
      : "    insecure-skip-tls-verify: true";
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: kube-sim",
      "  cluster:",
      `    server: ${q(this.url)}`,
      cluster,
      "users:",
      "- name: kube-sim",
      "  user:",
      `    token: ${q(this.token)}`,
      "contexts:",
      "- name: kube-sim",
      "  context:",
      "    cluster: kube-sim",
      "    user: kube-sim",
      `    namespace: ${q(options.namespace ?? "default")}`,
      "current-context: kube-sim",
      "",
    ].join("\n");
  }

  /** Writes {@link kubeconfig} to `path`. */
  async writeKubeconfig(path: string, options: { namespace?: string } = {}): Promise<void> {
    await Deno.writeTextFile(path, this.kubeconfig(options));
  }

  /**
   * Lays out an in-cluster service account under `prefix` and returns the
   * environment that points `loadFromCluster(prefix)` at this server.
   * client-node picks https for every port but 80/8080/8001, so use a TLS sim.
   */
  async writeServiceAccount(
    prefix: string,
    namespace = "default",
  ): Promise<Record<string, string>> {
    const dir = `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`;
    await Deno.mkdir(dir, { recursive: true });
    await Promise.all([
      Deno.writeTextFile(`${dir}/token`, this.token),
      Deno.writeTextFile(`${dir}/ca.crt`, this.caPem ?? ""),
      Deno.writeTextFile(`${dir}/namespace`, namespace),
    ]);
    const port = new URL(this.url).port;
    return { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: port };
  }

  /** Deep copies of stored objects, optionally filtered. */
  objects(
    filter: { apiVersion?: string; kind?: string; namespace?: string; labelSelector?: string } = {},
    // deno-lint-ignore no-explicit-any
  ): Record<string, any>[] {
    const match = labelMatcher(filter.labelSelector);
    const out: JsonObject[] = [];
    for (const obj of this.#store.objects()) {
      if (filter.apiVersion !== undefined && obj.apiVersion !== filter.apiVersion) continue;
      if (filter.kind !== undefined && obj.kind !== filter.kind) continue;
      if (filter.namespace !== undefined && obj.metadata.namespace !== filter.namespace) continue;
      if (match && !match(obj)) continue;
      out.push(clone(obj));
    }
    return out;
  }

  /** A deep copy of one stored object, or undefined. */
  getObject(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    // deno-lint-ignore no-explicit-any
  ): Record<string, any> | undefined {
    const def = this.#registry.byKind(apiVersion, kind);
    const obj = def && this.#store.find(def, namespace, name);
    return obj ? clone(this.#store.present(def, obj)) : undefined;
  }

  /**
   * One request to the simulator as a client would send it (with its token; a PATCH is a JSON
   * merge patch), for tests that write through the API; throws on an error answer.
   */
  // deno-lint-ignore no-explicit-any
  async call(method: string, path: string, body?: unknown): Promise<any> {
    const client = this.caPem ? Deno.createHttpClient({ caCerts: [this.caPem] }) : undefined;
    try {
      const response = await fetch(this.url + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        client,
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return JSON.parse(text);
    } finally {
      client?.close();
    }
  }

  /**
   * Sets the `status` of a stored object as a controller would (merge patch on its `/status`),
   * so watchers see a MODIFIED event: tests play the Job controller and the kubelet with it.
   */
  setStatus(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    status: Record<string, unknown>,
  ): void {
    const def = this.#registry.byKind(apiVersion, kind);
    if (!def) throw new Error(`the simulator does not serve ${apiVersion} ${kind}`);
    this.#store.patch(
      def,
      namespace,
      name,
      "application/merge-patch+json",
      JSON.stringify({ status }),
      { dryRun: false, manager: "test" },
      def.hasStatus ? "status" : "main",
    );
  }

  /**
   * Creates the pod the Job controller would start for `job` (its template's labels, the
   * job-name label, an owner reference), in phase `phase`.
   */
  startPod(
    job: { metadata: { name: string; namespace?: string; uid?: string }; spec?: unknown },
    phase = "Running",
    extra: Record<string, unknown> = {},
  ): string {
    const def = this.#registry.byKind("v1", "Pod")!;
    // deno-lint-ignore no-explicit-any
    const template = (job.spec as any)?.template ?? {};
    const namespace = job.metadata.namespace ?? "default";
    const name = `${job.metadata.name}-${crypto.randomUUID().slice(0, 5)}`;
    this.#store.create(def, namespace, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace,
        labels: {
          ...template.metadata?.labels,
          "batch.kubernetes.io/job-name": job.metadata.name,
          "job-name": job.metadata.name,
        },
        ownerReferences: job.metadata.uid
          ? [{
            apiVersion: "batch/v1",
            kind: "Job",
            name: job.metadata.name,
            uid: job.metadata.uid,
          }]
          : undefined,
      },
      spec: template.spec ?? { containers: [{ name: "c", image: "busybox" }] },
    }, { dryRun: false, manager: "test" });
    this.setStatus("v1", "Pod", namespace, name, { phase, ...extra });
    return name;
  }

  /** Creates a namespace (no-op when it exists). */
  addNamespace(name: string): void {
    this.#store.addNamespace(name);
  }

  /** Injects a fault; see {@link FaultRule}. */
  inject(rule: FaultRule): void {
    this.#faults.push({
      rule,
      remaining: rule.times ?? Infinity,
      until: rule.forMs !== undefined ? Date.now() + rule.forMs : Infinity,
    });
  }

  /** Removes every injected fault (requests already hanging stay until close()). */
  clearFaults(): void {
    this.#faults = [];
  }

  /** Changes the latency added before each answer. */
  setLatency(ms: number): void {
    this.#latency = ms;
  }

  /**
   * Holds every answer until the returned function is called; requests are still recorded as
   * they arrive. For tests that need requests in flight for as long as they say, not for a
   * latency that a loaded machine may outrun.
   */
  hold(): () => void {
    const gate = Promise.withResolvers<void>();
    this.#held = gate.promise;
    return () => {
      if (this.#held === gate.promise) this.#held = undefined;
      gate.resolve();
    };
  }

  /**
   * Stops the server: ends watches and hanging requests, drops every
   * connection and waits until the listener is gone.
   *
   * Connections are aborted rather than drained with `shutdown()`: client-node
   * 2 (undici 8) negotiates HTTP/2, and Deno's node:http2 client crashes the
   * process (nghttp2 assertion or segfault) on the GOAWAY a graceful shutdown
   * sends.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.resolve();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#watches.closeAll();
    this.#abort.abort();
    await this.#server.finished;
  }

  #takeFault(method: string, path: string): FaultRule | undefined {
    const now = Date.now();
    this.#faults = this.#faults.filter((f) => f.remaining > 0 && f.until > now);
    const fault = this.#faults.find((f) => !f.rule.match || f.rule.match({ method, path }));
    if (fault) fault.remaining--;
    return fault?.rule;
  }

  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
      this.#closing.promise.then(resolve);
    });
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const record: SimRequest = {
      method: req.method,
      path: url.pathname,
      query: url.search.slice(1),
      verb: req.method.toLowerCase(),
      resource: "",
      status: 0,
      dryRun: false,
      time: Date.now(),
    };
    const contentType = req.headers.get("content-type");
    if (contentType) record.contentType = contentType;
    this.requests.push(record);

    if (this.#latency > 0) await this.#delay(this.#latency);
    if (this.#held) await Promise.race([this.#held, this.#closing.promise]);
    const fault = this.#takeFault(req.method, url.pathname);
    if (fault?.hang) {
      await this.#closing.promise;
      return brokenResponse();
    }
    if (fault?.reset) return brokenResponse();

    let response: Response;
    if (fault) {
      response = errorResponse(genericStatus(fault.status ?? 500, fault.retryAfter));
    } else if (req.headers.get("authorization") !== this.#authorization) {
      response = errorResponse(unauthorized());
    } else {
      const info: RouteInfo = { verb: record.verb, resource: "", dryRun: false };
      response = await handle(req, url, this.#context, info);
      record.verb = info.verb;
      record.resource = info.resource;
      if (info.namespace !== undefined) record.namespace = info.namespace;
      record.dryRun = info.dryRun;
    }
    record.status = response.status;
    return response;
  }
}

class InjectedReset extends Error {}

/** A response whose body fails before its first byte, so the connection is dropped. */
function brokenResponse(): Response {
  const body = new ReadableStream({
    start(controller) {
      controller.error(new InjectedReset("kube-sim: connection reset by fault injection"));
    },
  });
  return new Response(body, { headers: { "content-type": "application/json" } });
}

// Deno.serve reports body-stream failures here; injected resets are expected, not news.
function serveError(error: unknown): Response {
  if (!(error instanceof InjectedReset)) console.error("kube-sim:", error);
  return new Response(null, { status: 500 });
}

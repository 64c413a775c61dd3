/**
 * A `KubeConnection` in memory, for in-process tests of the publisher and the HTTP routes,
 * without HTTP or a second process.
 *
 * By default it answers what `src/kube/apply.ts` asks of an API server, the way one answers in
 * the cases tests need: server-side apply (`PATCH`, with `resourceVersion` changing only when
 * the object does, and `dryRun=All` storing nothing), create (`POST`, 409 `AlreadyExists` for a
 * taken name) and get (404 `NotFound`), with the objects kept in a map by path. Discovery of a
 * table of kinds goes through the router's own `Discovery` (cache and errors as with the real
 * connection). A test can instead decide every answer itself (`answer`), and can inject
 * failures per request: a `Status` answer, no connection, or no answer until the caller's
 * deadline. Like the real connection, a request that gets no answer rejects with a
 * `KubeApiError` (`Unreachable`, `Timeout`); anything else an `answer` throws reaches the caller
 * as it is, as a bug would.
 *
 * It knows nothing else of the REST API (validation, lists, selectors, watches, field managers,
 * merges; a watch's stream answers 404): tests about the API itself use the simulator in `kube_sim/`, which speaks it over
 * HTTP.
 *
 * ```ts
 * const kube = new FakeKube();
 * kube.fail({ match: (r) => r.path.includes("/jobs"), status: 422, reason: "Invalid" });
 * const publisher = new Publisher({ kube, ... });
 * ```
 * @module
 */

import type {
  KubeConnection,
  KubeRequestInit,
  KubeResponse,
  ResourceInfo,
} from "../../src/kube/connection.ts";
import type { KubeObject } from "../../src/kube/apply.ts";
import { Discovery } from "../../src/kube/discovery.ts";
import { isAbort, transportError } from "../../src/kube/errors.ts";

/** Kinds served by default, by `apiVersion kind`. */
export const FAKE_RESOURCES: Readonly<Record<string, ResourceInfo>> = {
  "v1 ConfigMap": { name: "configmaps", namespaced: true },
  "v1 Secret": { name: "secrets", namespaced: true },
  "v1 Service": { name: "services", namespaced: true },
  "v1 Namespace": { name: "namespaces", namespaced: false },
  "batch/v1 Job": { name: "jobs", namespaced: true },
  "apps/v1 Deployment": { name: "deployments", namespaced: true },
  "rbac.authorization.k8s.io/v1 ClusterRole": { name: "clusterroles", namespaced: false },
};

/** One request the fake received. */
export interface FakeRequest {
  method: string;
  /** The path as sent, query included. */
  path: string;
  /** The query of {@linkcode FakeRequest.path}. */
  query: URLSearchParams;
  /** The parsed JSON body, when one was sent. */
  body?: unknown;
  /** True for discovery (the GET of a group version, such as `/apis/batch/v1`). */
  discovery?: boolean;
}

/** A failure to inject; see {@linkcode FakeKube.fail}. */
export interface FakeFailure {
  /** The requests that fail; every request, discovery included, when absent. */
  match?: (request: FakeRequest) => boolean;
  /** How many matching requests fail, then the failure is spent; no limit when absent. */
  times?: number;
  /** Answer with this HTTP status and a `Status` body (default 500). */
  status?: number;
  /** The `Status` reason (default `InternalError`). */
  reason?: string;
  /** The `Status` message (default: one naming the request). */
  message?: string;
  /** Seconds sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** No connection: the request rejects as the real one does when `fetch` fails. */
  unreachable?: boolean;
  /** No answer: the request waits until its signal aborts, then rejects with `Timeout`. */
  hang?: boolean;
}

/** Options for {@linkcode FakeKube}. */
export interface FakeKubeOptions {
  /** Served kinds, by `apiVersion kind` (default {@linkcode FAKE_RESOURCES}). */
  resources?: Readonly<Record<string, ResourceInfo>>;
  /**
   * Answers every request but discovery instead of the fake's own objects (injected failures
   * still come first). What it throws reaches the caller unchanged.
   */
  answer?: (request: FakeRequest) => KubeResponse | Promise<KubeResponse>;
  /** The namespace of the login (default `default`). */
  defaultNamespace?: string;
}

/** A connection to an API server held in memory. See the module doc. */
export class FakeKube implements KubeConnection {
  readonly server = "https://kube.test";
  readonly description = "fake connection";
  readonly defaultNamespace: string;
  /** Requests waiting for a turn: set it to test back-pressure. */
  queued = 0;
  /** Every request, in order; discovery is not among them (see {@linkcode FakeKube.discovery}). */
  readonly requests: FakeRequest[] = [];
  /** Every discovery request, in order. */
  readonly discovery: FakeRequest[] = [];
  /** True once {@linkcode FakeKube.close} was called. */
  closed = false;

  readonly #options: FakeKubeOptions;
  readonly #discovery = new Discovery((path, signal) => this.#discover(path, signal));
  readonly #objects = new Map<string, KubeObject>();
  #failures: { failure: FakeFailure; left: number }[] = [];
  #version = 0;

  /** A fake with no objects and no failures, answering as `options` says. */
  constructor(options: FakeKubeOptions = {}) {
    this.#options = options;
    this.defaultNamespace = options.defaultNamespace ?? "default";
  }

  /** Makes the matching requests fail from now on (the first matching failure applies). */
  fail(failure: FakeFailure): void {
    this.#failures.push({ failure, left: failure.times ?? Infinity });
  }

  /** Removes every injected failure. */
  clearFailures(): void {
    this.#failures = [];
  }

  /** The stored object at `path` (collection path and name), or undefined. */
  object(path: string): KubeObject | undefined {
    const object = this.#objects.get(path);
    return object && structuredClone(object);
  }

  /** Every stored object, in the order they were first stored. */
  objects(): KubeObject[] {
    return [...this.#objects.values()].map((object) => structuredClone(object));
  }

  /** The writes among {@linkcode FakeKube.requests} (everything but GET). */
  writes(): FakeRequest[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  /** Records the request and answers it: an injected failure, `answer`, or the objects. */
  async request(method: string, path: string, init: KubeRequestInit = {}): Promise<KubeResponse> {
    const request = requestOf(method, path, init.body);
    this.requests.push(request);
    const failed = await this.#injected(request, init.signal);
    if (failed) return failed;
    if (this.#options.answer) return await this.#options.answer(request);
    return this.#answer(request, init.contentType);
  }

  /** Watches are not faked: a stream answers 404, so a watch retries quietly. */
  stream(): Promise<Response> {
    return Promise.resolve(new Response("{}", { status: 404 }));
  }

  /** How `kind` is served, from the table, through the router's own discovery cache. */
  resource(
    apiVersion: string,
    kind: string,
    signal?: AbortSignal,
  ): Promise<ResourceInfo | undefined> {
    return this.#discovery.resource(apiVersion, kind, signal).catch((error) => {
      // As the real connection: the deadline ending a wait on a shared lookup is a Timeout.
      throw isAbort(error) ? transportError(error, this.server) : error;
    });
  }

  close(): void {
    this.closed = true;
  }

  async #discover(path: string, signal?: AbortSignal): Promise<KubeResponse> {
    const request = { ...requestOf("GET", path), discovery: true };
    this.discovery.push(request);
    const failed = await this.#injected(request, signal);
    if (failed) return failed;
    const groupVersion = path.replace(/^\/apis?\//, "");
    const resources = Object.entries(this.#options.resources ?? FAKE_RESOURCES)
      .filter(([key]) => key.split(" ")[0] === groupVersion)
      .map(([key, info]) => ({ ...info, kind: key.split(" ")[1] }));
    return resources.length > 0
      ? fakeAnswer(200, { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources })
      : fakeAnswer(404, statusBody(404, "NotFound", `the server could not find ${path}`));
  }

  /** The first matching failure: its answer, or a rejection as the real connection's. */
  async #injected(request: FakeRequest, signal?: AbortSignal): Promise<KubeResponse | undefined> {
    if (this.closed) throw transportError(new TypeError("the connection is closed"), this.server);
    if (signal?.aborted) throw transportError(signal.reason, this.server);
    const active = this.#failures.find((f) => f.left > 0 && (f.failure.match?.(request) ?? true));
    if (!active) return undefined;
    active.left--;
    const failure = active.failure;
    if (failure.unreachable) {
      throw transportError(new TypeError("connection refused (FakeKube)"), this.server);
    }
    if (failure.hang) {
      if (!signal) throw new Error("FakeKube: a hanging request needs a signal to end it");
      await new Promise((_, reject) => {
        signal.addEventListener("abort", () => reject(transportError(signal.reason, this.server)), {
          once: true,
        });
      });
    }
    const status = failure.status ?? 500;
    const answer = fakeAnswer(
      status,
      statusBody(
        status,
        failure.reason ?? "InternalError",
        failure.message ?? `injected failure of ${request.method} ${request.path}`,
      ),
    );
    if (failure.retryAfterSeconds !== undefined) {
      answer.headers.set("retry-after", String(failure.retryAfterSeconds));
    }
    return answer;
  }

  #answer(request: FakeRequest, contentType?: string): KubeResponse {
    const { method } = request;
    const path = request.path.split("?")[0];
    const body = request.body as KubeObject | undefined;
    const dryRun = request.query.get("dryRun") === "All";
    if (method === "GET") {
      const stored = this.#objects.get(path);
      return stored
        ? fakeAnswer(200, stored)
        : fakeAnswer(404, statusBody(404, "NotFound", `${path} not found`));
    }
    if (method === "POST" && body) {
      const name = body.metadata?.name;
      if (!name) {
        return fakeAnswer(422, statusBody(422, "Invalid", "metadata.name: Required value"));
      }
      const key = `${path}/${name}`;
      if (this.#objects.has(key)) {
        return fakeAnswer(409, statusBody(409, "AlreadyExists", `${key} already exists`));
      }
      return fakeAnswer(201, dryRun ? body : this.#store(key, body));
    }
    if (method === "PATCH" && body) {
      if (contentType !== "application/apply-patch+yaml") {
        return fakeAnswer(415, statusBody(415, "UnsupportedMediaType", String(contentType)));
      }
      const before = this.#objects.get(path);
      if (before && sameContent(before, body)) return fakeAnswer(200, before);
      return fakeAnswer(before ? 200 : 201, dryRun ? body : this.#store(path, body));
    }
    return fakeAnswer(405, statusBody(405, "MethodNotAllowed", `${method} ${path}`));
  }

  #store(key: string, body: KubeObject): KubeObject {
    const object = structuredClone(body);
    object.metadata = { ...object.metadata, resourceVersion: String(++this.#version) };
    this.#objects.set(key, object);
    return object;
  }
}

/** An API answer with a JSON body. */
export function fakeAnswer(status: number, body: unknown): KubeResponse {
  return {
    status,
    headers: new Headers({ "content-type": "application/json" }),
    text: JSON.stringify(body ?? {}),
  };
}

function requestOf(method: string, path: string, body?: string): FakeRequest {
  return {
    method,
    path,
    query: new URL(path, "https://kube.test").searchParams,
    ...(body ? { body: JSON.parse(body) } : {}),
  };
}

function statusBody(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message };
}

function sameContent(stored: KubeObject, sent: KubeObject): boolean {
  const { resourceVersion: _, ...metadata } = stored.metadata ?? {};
  return JSON.stringify({ ...stored, metadata }) === JSON.stringify(sent);
}

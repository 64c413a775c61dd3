/**
 * A `KubeConnection` in memory, for in-process tests of the publisher and the HTTP routes: a
 * discovery table and one answer function, and a record of every request. It does not
 * imitate the API server (the simulator in `kube_sim/` does); it lets a test say what the
 * connection answers, or throws.
 * @module
 */

import type {
  KubeConnection,
  KubeRequestInit,
  KubeResponse,
  ResourceInfo,
} from "../../src/kube/connection.ts";

/** Kinds served by default, by `apiVersion kind`. */
export const FAKE_RESOURCES: Record<string, ResourceInfo> = {
  "v1 ConfigMap": { name: "configmaps", namespaced: true },
  "v1 Namespace": { name: "namespaces", namespaced: false },
  "batch/v1 Job": { name: "jobs", namespaced: true },
};

/** One request the fake received. */
export interface FakeRequest {
  method: string;
  path: string;
  body?: unknown;
}

/** Options for {@linkcode FakeKube}. */
export interface FakeKubeOptions {
  /** Served kinds, by `apiVersion kind` (default {@linkcode FAKE_RESOURCES}). */
  resources?: Record<string, ResourceInfo>;
  /** Answers a request; default: 201 with the request's body (a create or first apply). */
  answer?: (request: FakeRequest) => KubeResponse | Promise<KubeResponse>;
}

/** A connection whose answers the test decides. */
export class FakeKube implements KubeConnection {
  readonly server = "https://kube.test";
  readonly defaultNamespace = "default";
  readonly description = "fake connection";
  /** Requests waiting for a turn: set it to test back-pressure. */
  queued = 0;
  /** Every request, in order (discovery is not a request here). */
  readonly requests: FakeRequest[] = [];
  readonly #options: FakeKubeOptions;

  /** A fake answering as `options` says. */
  constructor(options: FakeKubeOptions = {}) {
    this.#options = options;
  }

  /** Records the request and answers it. */
  request(method: string, path: string, init: KubeRequestInit = {}): Promise<KubeResponse> {
    const request = { method, path, body: init.body ? JSON.parse(init.body) : undefined };
    this.requests.push(request);
    const answer = this.#options.answer ?? ((r) => fakeAnswer(201, r.body));
    return Promise.resolve(answer(request));
  }

  /** Watches are not faked: a stream answers 404, so a watch retries quietly. */
  stream(): Promise<Response> {
    return Promise.resolve(new Response("{}", { status: 404 }));
  }

  /** Looks the kind up in the discovery table. */
  resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    return Promise.resolve((this.#options.resources ?? FAKE_RESOURCES)[`${apiVersion} ${kind}`]);
  }

  close(): void {}
}

/** An API answer with a JSON body. */
export function fakeAnswer(status: number, body: unknown): KubeResponse {
  return { status, headers: new Headers(), text: JSON.stringify(body ?? {}) };
}

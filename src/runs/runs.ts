/**
 * The runs API's reads and writes, over the cluster: requests and runs from the watched Jobs and
 * pods (plus, for one request, the other kinds its topic creates), waiting for a request to end,
 * cancelling requests and runs, and their results. Nothing here is kept that the cluster does
 * not hold: every replica answers every question the same way.
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import { statusError } from "../kube/errors.ts";
import { resourcePath } from "../kube/paths.ts";
import { LABELS } from "../publish/labels.ts";
import type { ClusterView } from "./cluster_view.ts";
import { getResult, putResult, type Result } from "./results.ts";
import {
  type ListedObject,
  type RequestView,
  requestViews,
  type RunView,
  runViews,
} from "./run_view.ts";
import { isFinal, type Status } from "./status.ts";
import { spanIdOf } from "./trace_context.ts";

/** A kind a topic creates, other than Job (the view watches Jobs). */
export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** What {@linkcode Runs} needs. */
export interface RunsOptions {
  kube: KubeConnection;
  view: ClusterView;
  /** Namespaces objects live in (where to look for other kinds). */
  namespaces: readonly string[];
  /** Kinds other than Job the live index's templates create. */
  otherKinds: () => readonly KindRef[];
  /** Most callers waiting at once (MAX_WAITERS). */
  maxWaiters: number;
}

/** A list's filters. */
export interface RequestFilter {
  topic?: string;
  status?: Status;
  limit: number;
}

/** One object a cancel deleted (or found already gone). */
export interface Deleted {
  requestUuid: string;
  kind: string;
  namespace?: string;
  name: string;
  outcome: "deleted" | "gone";
}

/** Too many callers are waiting already. */
export class TooManyWaitersError extends Error {
  override name = "TooManyWaitersError";
}

/** The runs API over the cluster. */
export class Runs {
  #waiters = 0;

  /** Reads and writes through `options.kube`, from `options.view`. */
  constructor(readonly options: RunsOptions) {}

  /**
   * One request with every object's live state, or undefined when the cluster has none. A
   * request the watch has not seen yet (just published) is looked up on the API server.
   */
  async request(uuid: string, signal?: AbortSignal): Promise<RequestView | undefined> {
    const selector = `${LABELS.requestUuid}=${uuid}`;
    let jobs: ListedObject[] = this.options.view.jobs().filter((j) =>
      labelOf(j, LABELS.requestUuid) === uuid
    );
    if (jobs.length === 0) {
      jobs = await this.#list({ apiVersion: "batch/v1", kind: "Job" }, selector, signal);
    }
    const objects = [...jobs, ...await this.#otherObjects(selector, signal)];
    const pods = this.options.view.pods().filter((p) =>
      p.metadata?.labels?.[LABELS.requestUuid] === uuid
    );
    const [view] = requestViews(objects, pods);
    if (!view) return this.#knownAsParent(uuid);
    view.children = this.#childrenOf(uuid);
    return view;
  }

  /** Requests, newest first (Jobs only: what the watch holds). */
  requests(filter: RequestFilter): RequestView[] {
    return this.#allRequests()
      .filter((r) => !filter.topic || r.topic === filter.topic)
      .filter((r) => !filter.status || r.status === filter.status)
      .slice(0, filter.limit);
  }

  /** Runs, newest first. */
  runs(limit: number): RunView[] {
    return runViews(this.#allRequests()).slice(0, limit);
  }

  /** One run, or undefined. */
  run(runId: string): RunView | undefined {
    const members = this.#allRequests().filter((r) => r.runId === runId);
    return members.length > 0 ? runViews(members)[0] : undefined;
  }

  /** The request whose objects carry `functionUid` (a manifest file's `FUNCTION_UID`). */
  requestOfFunction(functionUid: string): string | undefined {
    const job = this.options.view.jobs().find((j) =>
      labelOf(j, LABELS.functionUid) === functionUid
    );
    return job ? labelOf(job, LABELS.requestUuid) : undefined;
  }

  /**
   * The request that `traceId` and span `parentId` name (a `traceparent`), or undefined when the
   * cluster has no request of that run with that span.
   */
  parentOf(traceId: string, parentId: string): string | undefined {
    for (const job of this.options.view.jobs()) {
      if (labelOf(job, LABELS.runId) !== traceId) continue;
      const uuid = labelOf(job, LABELS.requestUuid);
      if (uuid && spanIdOf(uuid) === parentId) return uuid;
    }
    return undefined;
  }

  /**
   * The request once it has ended, or as it is when `timeoutMs` runs out. Woken by the watch,
   * not a poll per caller.
   */
  async wait(
    uuid: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<RequestView | undefined> {
    if (this.#waiters >= this.options.maxWaiters) {
      throw new TooManyWaitersError(
        `${this.options.maxWaiters} callers are waiting already (MAX_WAITERS)`,
      );
    }
    this.#waiters++;
    try {
      return await this.#waitFor(uuid, options);
    } finally {
      this.#waiters--;
    }
  }

  /** Callers waiting now. */
  get waiters(): number {
    return this.#waiters;
  }

  /**
   * Deletes a request's objects (Jobs with background propagation, so their pods go too), and
   * with `descendants` every request published from it, depth first.
   */
  async cancel(uuid: string, options: { descendants: boolean }): Promise<Deleted[]> {
    const request = await this.request(uuid);
    if (!request) return [];
    const deleted: Deleted[] = [];
    if (options.descendants) {
      for (const child of request.children) {
        deleted.push(...await this.cancel(child, options));
      }
    }
    for (const object of request.objects) {
      deleted.push(await this.#delete(uuid, object));
    }
    return deleted;
  }

  /** Cancels every request of a run. */
  async cancelRun(runId: string): Promise<Deleted[]> {
    const run = this.run(runId);
    if (!run) return [];
    const deleted: Deleted[] = [];
    for (const request of run.requests) {
      deleted.push(...await this.cancel(request.requestUuid, { descendants: false }));
    }
    return deleted;
  }

  /** Stores a request's result next to its Job; false when the request is unknown. */
  async putResult(uuid: string, result: Result): Promise<boolean> {
    const job = this.options.view.jobs().find((j) => labelOf(j, LABELS.requestUuid) === uuid);
    const request = job ? undefined : await this.request(uuid);
    const namespace = job?.metadata.namespace ?? request?.objects[0]?.namespace;
    if (!namespace) return false;
    await putResult(this.options.kube, result, {
      namespace,
      requestUuid: uuid,
      runId: job ? labelOf(job, LABELS.runId) : request?.runId ?? undefined,
      owner: job?.metadata.uid
        ? { apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, uid: job.metadata.uid }
        : undefined,
    });
    return true;
  }

  /** A request's result, or undefined when none was posted. */
  async getResult(uuid: string): Promise<Result | undefined> {
    const request = await this.request(uuid);
    const namespace = request?.objects[0]?.namespace;
    if (!namespace) return undefined;
    return await getResult(this.options.kube, { namespace, requestUuid: uuid });
  }

  #allRequests(): RequestView[] {
    return requestViews(this.options.view.jobs(), this.options.view.pods());
  }

  #childrenOf(uuid: string): string[] {
    return this.#allRequests()
      .filter((r) => r.parent === uuid)
      .reverse()
      .map((r) => r.requestUuid);
  }

  /** A request with no objects left that a child still names: it existed, and is gone. */
  #knownAsParent(uuid: string): RequestView | undefined {
    const child = this.#allRequests().find((r) => r.parent === uuid);
    if (!child) return undefined;
    return {
      requestUuid: uuid,
      topic: "",
      runId: child.runId,
      parent: null,
      children: this.#childrenOf(uuid),
      revision: null,
      createdAt: null,
      startedAt: null,
      finishedAt: null,
      status: "deleted",
      objects: [],
    };
  }

  async #waitFor(
    uuid: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<RequestView | undefined> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let wake: () => void = () => {};
    const stop = this.options.view.subscribe((changed) => {
      if (changed === uuid) wake();
    });
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    try {
      while (true) {
        const changed = new Promise<void>((resolve) => wake = resolve);
        const request = await this.request(uuid);
        if (!request || isFinal(request.status) || signal.aborted) return request;
        await Promise.race([changed, aborted]);
      }
    } finally {
      stop();
    }
  }

  async #otherObjects(selector: string, signal?: AbortSignal): Promise<ListedObject[]> {
    const found: ListedObject[] = [];
    for (const ref of this.options.otherKinds()) {
      if (ref.apiVersion === "batch/v1" && ref.kind === "Job") continue;
      found.push(...await this.#list(ref, selector, signal));
    }
    return found;
  }

  /** Objects of one kind with `selector`, in the namespaces objects live in. */
  async #list(ref: KindRef, selector: string, signal?: AbortSignal): Promise<ListedObject[]> {
    const kube = this.options.kube;
    const resource = await kube.resource(ref.apiVersion, ref.kind, signal);
    if (!resource) return [];
    const where = resource.namespaced && this.options.namespaces.length > 0
      ? this.options.namespaces
      : [undefined];
    const found: ListedObject[] = [];
    for (const namespace of where) {
      const collection = resourcePath(ref.apiVersion, resource.name, { namespace });
      const response = await kube.request(
        "GET",
        `${collection}?labelSelector=${encodeURIComponent(selector)}`,
        { signal },
      );
      if (response.status === 404 || response.status === 403) continue;
      if (response.status !== 200) throw statusError(response);
      const list = JSON.parse(response.text) as { items?: ListedObject[] };
      for (const item of list.items ?? []) {
        found.push({ ...item, apiVersion: ref.apiVersion, kind: ref.kind });
      }
    }
    return found;
  }

  async #delete(
    uuid: string,
    object: { apiVersion: string; kind: string; namespace?: string; name: string },
  ): Promise<Deleted> {
    const kube = this.options.kube;
    const resource = await kube.resource(object.apiVersion, object.kind);
    const path = resourcePath(
      object.apiVersion,
      resource?.name ?? `${object.kind.toLowerCase()}s`,
      {
        namespace: resource?.namespaced && object.namespace ? object.namespace : undefined,
        name: object.name,
      },
    );
    const response = await kube.request("DELETE", path, {
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Background",
      }),
      contentType: "application/json",
    });
    const base = {
      requestUuid: uuid,
      kind: object.kind,
      ...(object.namespace ? { namespace: object.namespace } : {}),
      name: object.name,
    };
    if (response.status === 404) return { ...base, outcome: "gone" };
    if (response.status >= 300) throw statusError(response);
    return { ...base, outcome: "deleted" };
  }
}

function labelOf(object: ListedObject, key: string): string | undefined {
  return object.metadata.labels?.[key];
}

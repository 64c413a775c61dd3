/**
 * A watched copy of the Jobs and pods the router made: list-then-watch on the API server keeps
 * it current, so status reads cost no API call and a `?wait` is woken by the watch instead of
 * polling. It is a cache of the cluster, never a source: a restarted replica lists again and
 * knows everything the previous one knew.
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import { resourcePath } from "../kube/paths.ts";
import { listAndWatch, type WatchedObject } from "../kube/watch.ts";
import { LABELS } from "../publish/labels.ts";
import { type SlimJob, slimJob, type SlimPod, slimPod } from "./slim_objects.ts";
import { jobStatus, type ObjectStatus } from "./status.ts";

/** Where to watch: these namespaces, or `"*"` for all (needs a ClusterRole). */
export type WatchScope = readonly string[] | "*";

/** Called with the request uuid an event touched. */
export type ChangeListener = (requestUuid: string) => void;

/** Called once when a watched Job is seen to end (not for Jobs that had ended at the list). */
export type FinishListener = (job: SlimJob, status: ObjectStatus) => void;

/**
 * The router's Jobs and their pods, kept current by a watch. Only their slim copies are kept
 * (`slim_objects.ts`): what the runs API reads of them.
 */
export class ClusterView {
  readonly #jobs = new Map<string, SlimJob>();
  readonly #pods = new PodMap();
  readonly #listeners = new Set<ChangeListener>();
  /** Jobs known to have ended, so each end is reported once. */
  readonly #ended = new Set<string>();
  readonly #stop = new AbortController();
  #synced: Promise<void> | undefined;

  /** A view over `kube`, watching `scope`. Call {@linkcode start}. */
  constructor(
    readonly kube: KubeConnection,
    readonly scope: WatchScope,
    readonly options: { onError?: (error: Error) => void; onJobFinished?: FinishListener } = {},
  ) {}

  /** Starts watching; resolves once every watch has listed once. */
  start(): Promise<void> {
    this.#synced ??= Promise.all(
      this.#namespaces().flatMap((namespace) => [
        this.#watch(
          resourcePath("batch/v1", "jobs", { namespace }),
          this.#jobs,
          slimJob,
          (job, listed) => this.#noteEnd(job, listed),
        ),
        this.#watch(resourcePath("v1", "pods", { namespace }), this.#pods, slimPod),
      ]),
    ).then(() => {});
    return this.#synced;
  }

  /** Resolves once the first lists are in (immediately after that). */
  synced(): Promise<void> {
    return this.start();
  }

  /** Every watched Job. */
  jobs(): SlimJob[] {
    return [...this.#jobs.values()];
  }

  /** Every watched pod. */
  pods(): SlimPod[] {
    return [...this.#pods.values()];
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops every watch. */
  close(): void {
    this.#stop.abort();
  }

  /** The namespaces to watch; `undefined` stands for all of them. */
  #namespaces(): (string | undefined)[] {
    return this.scope === "*" ? [undefined] : [...new Set(this.scope)];
  }

  #watch<T extends SlimJob | SlimPod>(
    path: string,
    into: Map<string, T>,
    trim: (object: WatchedObject) => T,
    seen?: (object: T, listed: boolean) => void,
  ): Promise<void> {
    return listAndWatch<WatchedObject, T>(this.kube, path, {
      labelSelector: `${LABELS.managedBy}=gitfaas`,
      signal: this.#stop.signal,
      // Trimmed page by page: a list of many Jobs is never held whole.
      keep: trim,
      handlers: {
        onList: (items) => {
          const before = new Set(into.keys());
          into.clear();
          for (const item of items) {
            into.set(keyOf(item), item);
            seen?.(item, true);
          }
          for (const key of new Set([...before, ...into.keys()])) {
            const uuid = requestOf(into.get(key));
            if (uuid) this.#emit(uuid);
          }
        },
        onEvent: (type, object) => {
          const key = keyOf(object);
          if (type === "DELETED") into.delete(key);
          else {
            const trimmed = trim(object);
            into.set(key, trimmed);
            seen?.(trimmed, false);
          }
          const uuid = requestOf(object);
          if (uuid) this.#emit(uuid);
        },
        onError: this.options.onError,
      },
    });
  }

  /** Reports a Job's end once: at the watch event where it ended, never for one listed ended. */
  #noteEnd(job: SlimJob, listed: boolean): void {
    const key = job.metadata.uid ?? keyOf(job);
    if (this.#ended.has(key)) return;
    const status = jobStatus(job, this.#pods.ofJob(job.metadata.name));
    if (status.status !== "succeeded" && status.status !== "failed") return;
    this.#ended.add(key);
    if (this.#ended.size > 2 * this.#jobs.size + 100) {
      // Forget Jobs that are gone (TTL, cancel), so the set stays as small as the cluster's.
      const live = new Set([...this.#jobs.values()].map((j) => j.metadata.uid ?? ""));
      for (const uid of this.#ended) if (!live.has(uid)) this.#ended.delete(uid);
    }
    if (!listed) this.options.onJobFinished?.(job, status);
  }

  #emit(uuid: string): void {
    for (const listener of this.#listeners) listener(uuid);
  }
}

/**
 * The watched pods by key, and by the name of the Job that runs them (their
 * `batch.kubernetes.io/job-name` label): a Job's event reads its own pods instead of going
 * through every pod of the namespace, which a busy cluster holds by the thousand. A Job's pods
 * are a short list of keys (most Jobs have one pod), not a map of their own.
 */
class PodMap extends Map<string, SlimPod> {
  readonly #byJob = new Map<string, string[]>();

  /** The pods of the Job named `job`. */
  ofJob(job: string): SlimPod[] {
    return (this.#byJob.get(job) ?? []).map((key) => this.get(key)!);
  }

  override set(key: string, pod: SlimPod): this {
    // A pod that stays with its Job keeps its place among the Job's pods, as in the map itself.
    const job = jobOf(pod);
    const known = this.has(key);
    if (known && jobOf(this.get(key)) !== job) this.#unindex(key);
    else if (known) return super.set(key, pod);
    super.set(key, pod);
    if (job !== undefined) {
      const keys = this.#byJob.get(job);
      if (keys) keys.push(key);
      else this.#byJob.set(job, [key]);
    }
    return this;
  }

  override delete(key: string): boolean {
    this.#unindex(key);
    return super.delete(key);
  }

  override clear(): void {
    // Map's constructor calls no method of ours, so #byJob exists whenever this runs.
    this.#byJob.clear();
    super.clear();
  }

  #unindex(key: string): void {
    const job = jobOf(this.get(key));
    if (job === undefined) return;
    const keys = this.#byJob.get(job);
    if (!keys) return;
    const at = keys.indexOf(key);
    if (at >= 0) keys.splice(at, 1);
    if (keys.length === 0) this.#byJob.delete(job);
  }
}

function jobOf(pod: SlimPod | undefined): string | undefined {
  return pod?.metadata?.labels?.["batch.kubernetes.io/job-name"];
}

function keyOf(object: { metadata: { name: string; namespace?: string } }): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

function requestOf(object: SlimJob | SlimPod | WatchedObject | undefined): string | undefined {
  const labels = (object?.metadata as { labels?: Record<string, string> } | undefined)?.labels;
  return labels?.[LABELS.requestUuid];
}

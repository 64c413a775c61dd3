/**
 * API discovery: which resource serves a kind and whether it is namespaced, read from the API
 * server's `APIResourceList` for the object's apiVersion and cached. A kind missing from the
 * cache is looked up again (a CRD may have been installed since), at most once per interval.
 * @module
 */

import { STATUS_CODE } from "../http/status.ts";
import { abortable } from "../lib/async.ts";
import { answerJson, statusError } from "./errors.ts";
import { apiRoot } from "./paths.ts";

/** How a kind is served: its resource name and whether objects live in a namespace. */
export interface ResourceInfo {
  /** Plural resource name used in URLs, such as `jobs`. */
  name: string;
  namespaced: boolean;
}

/**
 * A GET of `path` on the API server, answered in full. The connection passes its own request
 * function, so discovery shares its login, limiter and TLS client without importing it.
 */
export type DiscoveryFetch = (
  path: string,
  signal?: AbortSignal,
) => Promise<{ status: number; headers: Headers; text: string }>;

interface Entry {
  at: number;
  resources: Promise<Map<string, ResourceInfo>>;
  /** The resources once loaded: read without waiting on the promise (every publish asks). */
  loaded?: Map<string, ResourceInfo>;
}

/** Cached discovery over a request function. */
export class Discovery {
  readonly #fetch: DiscoveryFetch;
  readonly #cache = new Map<string, Entry>();
  readonly #refreshMs: number;

  /** Discovery through `fetch`; a missing kind is looked up again after `refreshMs`. */
  constructor(fetch: DiscoveryFetch, options: { refreshMs?: number } = {}) {
    this.#fetch = fetch;
    this.#refreshMs = options.refreshMs ?? 5_000;
  }

  /**
   * How `kind` of `apiVersion` is served, or undefined when the server has no such kind.
   * `signal` (the publish's deadline) ends the wait, and a lookup this call starts.
   */
  async resource(
    apiVersion: string,
    kind: string,
    signal?: AbortSignal,
  ): Promise<ResourceInfo | undefined> {
    const entry = this.#cache.get(apiVersion);
    if (entry) {
      let resources = entry.loaded;
      if (resources) signal?.throwIfAborted();
      else resources = await (signal ? abortable(entry.resources, signal) : entry.resources);
      const found = resources.get(kind);
      if (found || performance.now() - entry.at < this.#refreshMs) return found;
    }
    const loading: Entry = { at: performance.now(), resources: this.#load(apiVersion, signal) };
    this.#cache.set(apiVersion, loading);
    try {
      loading.loaded = await loading.resources;
      return loading.loaded.get(kind);
    } catch (error) {
      if (this.#cache.get(apiVersion) === loading) this.#cache.delete(apiVersion);
      throw error;
    }
  }

  async #load(apiVersion: string, signal?: AbortSignal): Promise<Map<string, ResourceInfo>> {
    const path = apiRoot(apiVersion);
    const response = await this.#fetch(path, signal);
    if (response.status !== STATUS_CODE.OK) throw statusError(response);
    const list = answerJson<{
      resources?: { name: string; kind: string; namespaced: boolean }[];
    }>(response, path);
    const byKind = new Map<string, ResourceInfo>();
    for (const r of list.resources ?? []) {
      // Subresources (jobs/status) share the kind; the plain resource is the one to use.
      if (!r.name.includes("/")) byKind.set(r.kind, { name: r.name, namespaced: r.namespaced });
    }
    return byKind;
  }
}

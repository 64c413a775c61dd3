/**
 * List-then-watch of one resource, the way client-go's reflector does it: list once, then watch
 * from the list's `resourceVersion`, resuming from the last event seen when a watch ends and
 * listing again when the server says that version is gone (410). The caller gets the full list
 * on every (re)list and each event after it, so a cache built on it always matches the cluster.
 * @module
 */

import type { KubeConnection } from "./connection.ts";
import { statusError } from "./errors.ts";

/** An object as the API server lists and watches it. */
export interface WatchedObject {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
  [key: string]: unknown;
}

/** What a watch reports; `K` is what the caller keeps of a listed object (see `keep`). */
export interface WatchHandlers<T extends WatchedObject, K = T> {
  /** Every object at a (re)list, as `keep` made it: replaces whatever the caller held. */
  onList(items: K[]): void;
  /** One change after the list. */
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void;
  /** A list or watch failed; it is retried after a pause. */
  onError?(error: Error): void;
}

/** Where and how long to watch. */
export interface WatchOptions {
  /** `labelSelector` query parameter. */
  labelSelector?: string;
  /** `fieldSelector` query parameter, such as `metadata.name=x`. */
  fieldSelector?: string;
  /** Stops the watch for good. */
  signal: AbortSignal;
  /** Seconds a single watch request lasts before it is renewed (default 300). */
  timeoutSeconds?: number;
  /** Pause before retrying after a failure, in ms (default 1000). */
  retryMs?: number;
  /** Objects per page of a list (default {@linkcode LIST_PAGE_SIZE}). */
  pageSize?: number;
}

/**
 * A list is read in pages of this many objects, as client-go's reflector does: a namespace
 * holding tens of thousands of Jobs is never one answer to hold and parse whole.
 */
export const LIST_PAGE_SIZE = 500;

/**
 * Lists and watches `collectionPath` (such as `/apis/batch/v1/namespaces/jobs/jobs`) until
 * `options.signal` aborts. Resolves after the first list succeeded, so a caller can wait for a
 * synced cache; keeps watching in the background.
 */
export function listAndWatch<T extends WatchedObject, K = T>(
  kube: KubeConnection,
  collectionPath: string,
  options: WatchOptions & {
    handlers: WatchHandlers<T, K>;
    /**
     * What to keep of each listed object, applied page by page so that only one page of whole
     * objects is held at a time (default: the object itself).
     */
    keep?: (object: T) => K;
  },
): Promise<void> {
  const { signal, handlers } = options;
  let firstList: (() => void) | undefined;
  const listed = new Promise<void>((resolve) => firstList = resolve);
  const loop = async () => {
    let version: string | undefined;
    while (!signal.aborted) {
      try {
        if (version === undefined) {
          version = await list(kube, collectionPath, options);
          firstList?.();
          firstList = undefined;
        }
        version = await watchFrom(kube, collectionPath, version, options);
      } catch (error) {
        if (signal.aborted) break;
        if (!(error instanceof Gone)) handlers.onError?.(error as Error);
        version = undefined;
        if (!(error instanceof Gone)) await pause(options.retryMs ?? 1000, signal);
      }
    }
    firstList?.();
  };
  loop();
  return listed;
}

/** The server no longer has the version the watch asked for: list again. */
class Gone extends Error {}

/**
 * Lists `path` page by page (`limit` and `continue`; every page is read at the first page's
 * resourceVersion, so the pages add up to one consistent list) and hands the kept objects over
 * at once. A continue token the server no longer knows (410) starts the list again.
 */
async function list<T extends WatchedObject, K>(
  kube: KubeConnection,
  path: string,
  options: WatchOptions & { handlers: WatchHandlers<T, K>; keep?: (object: T) => K },
): Promise<string> {
  const keep = options.keep ?? ((object: T) => object as unknown as K);
  const kept: K[] = [];
  let version = "";
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(options.pageSize ?? LIST_PAGE_SIZE) });
    if (options.labelSelector) query.set("labelSelector", options.labelSelector);
    if (options.fieldSelector) query.set("fieldSelector", options.fieldSelector);
    if (token) query.set("continue", token);
    const response = await kube.request("GET", `${path}?${query}`, { signal: options.signal });
    if (response.status === 410) throw new Gone();
    if (response.status !== 200) throw statusError(response);
    const body = JSON.parse(response.text) as {
      metadata?: { resourceVersion?: string; continue?: string };
      items?: T[];
    };
    for (const item of body.items ?? []) kept.push(keep(item));
    version = body.metadata?.resourceVersion ?? "";
    token = body.metadata?.continue || undefined;
  } while (token);
  options.handlers.onList(kept);
  return version;
}

/** Watches from `version` until the request ends; returns the last version seen. */
async function watchFrom<T extends WatchedObject, K>(
  kube: KubeConnection,
  path: string,
  version: string,
  options: WatchOptions & { handlers: WatchHandlers<T, K> },
): Promise<string> {
  const query = new URLSearchParams({
    watch: "true",
    allowWatchBookmarks: "true",
    timeoutSeconds: String(options.timeoutSeconds ?? 300),
  });
  if (version) query.set("resourceVersion", version);
  if (options.labelSelector) query.set("labelSelector", options.labelSelector);
  if (options.fieldSelector) query.set("fieldSelector", options.fieldSelector);
  const response = await kube.stream(`${path}?${query}`, { signal: options.signal });
  if (response.status === 410) {
    await response.body?.cancel();
    throw new Gone();
  }
  if (response.status !== 200) {
    throw statusError({
      status: response.status,
      headers: response.headers,
      text: await response.text(),
    });
  }
  let last = version;
  for await (const line of lines(response.body!)) {
    const event = JSON.parse(line) as { type: string; object: T & { code?: number } };
    if (event.type === "ERROR") {
      if (event.object.code === 410) throw new Gone();
      throw new Error(`watch of ${path} failed: ${JSON.stringify(event.object)}`);
    }
    last = event.object.metadata?.resourceVersion ?? last;
    if (event.type === "BOOKMARK") continue;
    options.handlers.onEvent(event.type as "ADDED" | "MODIFIED" | "DELETED", event.object);
  }
  return last;
}

/** Splits a byte stream into non-empty lines. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, end).trim();
      buffered = buffered.slice(end + 1);
      if (line) yield line;
    }
  }
  if (buffered.trim()) yield buffered.trim();
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

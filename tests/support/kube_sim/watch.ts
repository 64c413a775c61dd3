/**
 * `?watch=true` streams: newline-delimited `{"type","object"}` events, replayed
 * from a bounded history so a list-then-watch from the list's resourceVersion
 * (what informers do) sees every change in between.
 *
 * @module
 */

import type { JsonObject } from "./patch.ts";
import type { ResourceDef } from "./resources.ts";
import type { Matcher } from "./selectors.ts";
import type { Change, ObjectStore } from "./store.ts";

const historyLimit = 10_000;
const encoder = new TextEncoder();

interface Watcher {
  def: ResourceDef;
  namespace?: string;
  match?: Matcher;
  controller: ReadableStreamDefaultController<Uint8Array>;
  timer?: ReturnType<typeof setTimeout>;
}

/** What to watch. */
export interface WatchRequest {
  /** Resource to watch. */
  def: ResourceDef;
  /** Undefined watches every namespace. */
  namespace?: string;
  /** Label/field selector filter. */
  match?: Matcher;
  /** `resourceVersion` query parameter; empty or "0" starts with the current state. */
  resourceVersion?: string | null;
  /** Ends the stream after this many seconds. */
  timeoutSeconds?: number;
}

/** Fans store changes out to open watch streams. */
export class WatchHub {
  #store: ObjectStore;
  #history: Change[] = [];
  #watchers = new Set<Watcher>();
  #unsubscribe: () => void;

  /**
   * Subscribes to a store's changes.
   *
   * @param store The store whose changes are streamed.
   */
  constructor(store: ObjectStore) {
    this.#store = store;
    this.#unsubscribe = store.subscribe((change) => this.#publish(change));
  }

  #publish(change: Change): void {
    this.#history.push(change);
    if (this.#history.length > historyLimit) {
      this.#history.splice(0, this.#history.length - historyLimit);
    }
    for (const w of this.#watchers) {
      if (this.#wants(w, change)) this.#send(w, change.type, change.object);
    }
  }

  #wants(w: Watcher, change: Change): boolean {
    if (change.def.storageKey !== w.def.storageKey) return false;
    if (w.namespace !== undefined && change.object.metadata?.namespace !== w.namespace) {
      return false;
    }
    return !w.match || w.match(change.object);
  }

  #send(w: Watcher, type: string, object: JsonObject): void {
    const presented = type === "ERROR" ? object : this.#store.present(w.def, object);
    try {
      w.controller.enqueue(encoder.encode(JSON.stringify({ type, object: presented }) + "\n"));
    } catch {
      this.#drop(w);
    }
  }

  #drop(w: Watcher): void {
    if (!this.#watchers.delete(w)) return;
    clearTimeout(w.timer);
    try {
      w.controller.close();
    } catch {
      // Already closed or errored by the client going away.
    }
  }

  /** Opens a watch; the returned stream ends on timeout, cancel or closeAll(). */
  open(request: WatchRequest): ReadableStream<Uint8Array> {
    let watcher: Watcher;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        watcher = {
          def: request.def,
          namespace: request.namespace,
          match: request.match,
          controller,
        };
        this.#watchers.add(watcher);
        this.#replay(watcher, request.resourceVersion);
        if (request.timeoutSeconds && request.timeoutSeconds > 0) {
          watcher.timer = setTimeout(() => this.#drop(watcher), request.timeoutSeconds * 1000);
        }
      },
      cancel: () => this.#drop(watcher),
    });
  }

  #replay(w: Watcher, resourceVersion: string | null | undefined): void {
    if (!resourceVersion || resourceVersion === "0") {
      const list = this.#store.list(w.def, w.namespace, { match: w.match });
      for (const item of list.items) {
        this.#send(w, "ADDED", { apiVersion: w.def.apiVersion, kind: w.def.kind, ...item });
      }
      return;
    }
    const from = Number(resourceVersion);
    const oldest = this.#history.length
      ? Number(this.#history[0].object.metadata.resourceVersion)
      : Infinity;
    if (!Number.isFinite(from) || (from + 1 < oldest && this.#history.length >= historyLimit)) {
      this.#send(w, "ERROR", {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `too old resource version: ${resourceVersion} (${oldest - 1})`,
        reason: "Expired",
        code: 410,
      });
      this.#drop(w);
      return;
    }
    for (const change of this.#history) {
      if (Number(change.object.metadata.resourceVersion) > from && this.#wants(w, change)) {
        this.#send(w, change.type, change.object);
      }
    }
  }

  /** Ends every open watch (the server cannot shut down while they stream). */
  closeAll(): void {
    for (const w of [...this.#watchers]) this.#drop(w);
    this.#unsubscribe();
  }
}

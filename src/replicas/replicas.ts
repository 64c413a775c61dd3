/**
 * One replica among several: it follows the sync requests any replica records (push fan-out),
 * keeps its Lease renewed with what it serves, and lists the live replicas for `/status`.
 * Everything goes through the API server: no replica talks to another.
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import type { Logger } from "../log/logger.ts";
import type { SyncStatus } from "../sync/syncer.ts";
import { type FollowedSyncer, RevisionFollower } from "./follow.ts";
import type { ReplicaIdentity } from "./identity.ts";
import {
  dropLease,
  liveReplicas,
  renewLease,
  type ReplicaInfo,
  replicasAgree,
} from "./replica_lease.ts";
import { recordSyncRequest, type SyncRequest, watchSyncRequests } from "./sync_requests.ts";

/** A request read at start younger than this may not be served by the start's first sync yet. */
const RECENT_MS = 30_000;

/** What a replica coordinates. */
export interface ReplicasOptions {
  kube: KubeConnection;
  identity: ReplicaIdentity;
  syncer: FollowedSyncer & { status(): SyncStatus };
  logger: Logger;
  /** How often the Lease is renewed (default 10 s); it expires after three times that. */
  heartbeatMs?: number;
}

/** What `/status` says about the replicas. */
export interface ReplicasStatus {
  self: string;
  live: ReplicaInfo[];
  /** Whether every live replica serves the same revision. */
  agree: boolean;
  /** The last sync request recorded by any replica. */
  lastRequest: SyncRequest | null;
}

/** This replica's side of the fan-out, its Lease, and the view of the others. */
export class Replicas {
  readonly #options: ReplicasOptions;
  readonly #follower: RevisionFollower;
  readonly #stop = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastRequest: SyncRequest | null = null;
  /** The renewal in flight, if any: stop() waits for it before removing the Lease. */
  #beating: Promise<void> | undefined;
  /** A beat was asked for while one was in flight: beat again as soon as it ends. */
  #again = false;
  /** Revisions this replica recorded itself: its webhook receiver follows those already. */
  readonly #recorded = new Set<string>();

  /** A replica; call {@linkcode start}. */
  constructor(options: ReplicasOptions) {
    this.#options = options;
    this.#follower = new RevisionFollower(options.syncer, { logger: options.logger });
  }

  /**
   * Starts the heartbeat, then watches sync requests (the current one is followed at once).
   * Resolves after the first list of sync requests; the heartbeat does not wait for it, so a
   * replica that cannot read them (RBAC, API server trouble) still shows in `/status`, with its
   * own health.
   */
  async start(): Promise<void> {
    const { kube, identity, logger } = this.#options;
    let failing = false;
    this.#beat();
    await watchSyncRequests(kube, {
      namespace: identity.namespace,
      signal: this.#stop.signal,
      onRequest: (request, listed) => {
        failing = false;
        this.#lastRequest = request;
        if (this.#shouldFollow(request, listed)) this.#follower.follow(request.revision);
      },
      onError: (error) => {
        if (!failing) logger.warn("cannot watch sync requests", { error: error.message });
        failing = true;
      },
    });
  }

  /** The namespace of the replicas' shared objects. */
  get namespace(): string {
    return this.#options.identity.namespace;
  }

  /** Records `revision` for every replica to sync to (after a verified push). */
  async requestSync(revision: string): Promise<void> {
    const { kube, identity } = this.#options;
    this.#recorded.add(revision);
    if (this.#recorded.size > 64) this.#recorded.delete(this.#recorded.values().next().value!);
    await recordSyncRequest(kube, {
      revision,
      at: new Date().toISOString(),
      by: identity.name,
    }, { namespace: identity.namespace, signal: AbortSignal.timeout(5000) });
  }

  /**
   * Whether to sync for `request` (the watch delivers them in order, newest last): not for this
   * replica's own (its receiver follows it), and not for an old one read at start (the start's
   * own sync fetches the branch head, that commit or a later one).
   */
  #shouldFollow(request: SyncRequest, listed: boolean): boolean {
    if (request.by === this.#options.identity.name && this.#recorded.has(request.revision)) {
      return false;
    }
    return !listed || Date.now() - Date.parse(request.at) < RECENT_MS;
  }

  /** The live replicas and whether they agree. */
  async status(): Promise<ReplicasStatus> {
    const { kube, identity } = this.#options;
    const live = await liveReplicas(kube, {
      namespace: identity.namespace,
      signal: AbortSignal.timeout(5000),
    });
    return {
      self: identity.name,
      live,
      agree: replicasAgree(live),
      lastRequest: this.#lastRequest,
    };
  }

  /** Stops following and beating, and removes this replica's Lease. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#follower.stop();
    // A renewal still on its way would otherwise reach the API server after the delete and
    // leave a Lease that lists this replica as live until it expires.
    await this.#beating;
    const { kube, identity } = this.#options;
    await dropLease(kube, identity).catch(() => undefined);
  }

  #beat(): void {
    if (this.#stop.signal.aborted) return;
    if (this.#beating) {
      this.#again = true;
      return;
    }
    const { kube, identity, syncer, logger } = this.#options;
    const heartbeatMs = this.#options.heartbeatMs ?? 10_000;
    const status = syncer.status();
    const lastSync = status.lastSync;
    this.#beating = renewLease(kube, {
      revision: status.revision,
      lastSync: lastSync?.time ?? null,
      healthy: status.revision !== null && lastSync?.outcome !== "failed",
      ...(lastSync?.error ? { error: lastSync.error } : {}),
    }, {
      namespace: identity.namespace,
      name: identity.name,
      durationSeconds: Math.ceil((3 * heartbeatMs) / 1000),
      // Bounded, since stop() waits for it.
      signal: AbortSignal.timeout(5000),
    }).catch((error) =>
      logger.warn("cannot renew this replica's Lease", { error: String(error.message ?? error) })
    ).finally(() => {
      this.#beating = undefined;
      if (this.#stop.signal.aborted) return;
      const again = this.#again;
      this.#again = false;
      this.#timer = setTimeout(() => this.#beat(), again ? 0 : heartbeatMs);
    });
  }

  /** Renews the Lease now (after a sync, so `/status` everywhere sees the new revision soon). */
  beatNow(): void {
    clearTimeout(this.#timer);
    this.#beat();
  }
}

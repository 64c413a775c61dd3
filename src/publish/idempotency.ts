/**
 * A publish with an Idempotency-Key, before anything is written: every object it would apply is
 * read, and the cluster says whether the key was used before and for what. An object of this key
 * (its request-uuid label, derived from topic and key) that carries another request digest was
 * applied for a different request: the publish is refused (422, the rule of the IETF
 * Idempotency-Key draft), and nothing is written. One with the same digest was applied by an
 * earlier attempt of this very request, and is left as it is.
 * @module
 */

import {
  type KubeApiError,
  type KubeObject,
  readObject,
  type ResolvedObject,
} from "../kube/apply.ts";
import type { KubeConnection } from "../kube/connection.ts";
import { describeRendered } from "./check.ts";
import { PublishError } from "./errors.ts";
import { ANNOTATIONS, LABELS } from "./labels.ts";
import type { Rendered } from "./render.ts";
import { failure, type ObjectReport, skipped } from "./report.ts";

/** The request a publish stands for: its derived uuid, its digest and its key. */
export interface KeyedRequest {
  requestUuid: string;
  /** `requestDigest` of the request's topic, body and query. */
  digest: string;
  idempotencyKey: string;
}

/** Options for {@linkcode readExisting}: the publish's time budget and retry hook. */
export interface ReadExistingOptions {
  deadline: AbortSignal;
  remainingMs: () => number;
  onRetry?: (error: KubeApiError) => void;
}

/**
 * Reads the stored version of every settled object, in order (null: none). When a read fails,
 * the answer is the report instead: that object failed and the others were skipped, so nothing
 * is written unless every object could be looked at.
 */
export async function readExisting(
  kube: KubeConnection,
  items: { rendered: Rendered[]; settled: ResolvedObject[] },
  options: ReadExistingOptions,
): Promise<{ existing: (KubeObject | null)[] } | { failed: ObjectReport[] }> {
  const existing: (KubeObject | null)[] = [];
  for (const [i, resolved] of items.settled.entries()) {
    try {
      existing.push(await readObject(kube, resolved, options));
    } catch (error) {
      const failed = failure(items.rendered[i], error);
      return {
        failed: items.rendered.map((item, j) =>
          j === i ? failed : skipped(item, "another object of this publish could not be read")
        ),
      };
    }
  }
  return { existing };
}

/** What an earlier publish left of this request in `stored`. */
export type Earlier =
  /** Nothing: no object, another request's (fixed names are shared), or one without a digest. */
  | "none"
  /** This very request (same key, same digest): it is done. */
  | "same"
  /** The same key, used for another request. */
  | "other";

/** Whether `stored` was applied by `request`, by another request with its key, or neither. */
export function earlierUse(stored: KubeObject | null | undefined, request: KeyedRequest): Earlier {
  if (stored?.metadata?.labels?.[LABELS.requestUuid] !== request.requestUuid) return "none";
  const annotations = stored.metadata?.annotations as Record<string, unknown> | undefined;
  const digest = annotations?.[ANNOTATIONS.requestDigest];
  // Applied before the router stored digests: the key's first use cannot be told apart.
  if (typeof digest !== "string") return "none";
  return digest === request.digest ? "same" : "other";
}

/**
 * Throws an `idempotency-key-reused` {@linkcode PublishError} when an object already applied
 * for `request.idempotencyKey` came from a different request (body, query or topic), naming
 * every such object; `existing[i]` is `rendered[i]` as stored, or null.
 */
export function checkKeyReuse(
  rendered: Rendered[],
  existing: (KubeObject | null)[],
  request: KeyedRequest,
): void {
  const used = rendered.filter((_, i) => earlierUse(existing[i], request) === "other");
  if (used.length === 0) return;
  const objects = used.map(describeRendered);
  throw new PublishError(
    `Idempotency-Key is already used with a different request payload: ` +
      `"${request.idempotencyKey}" was first sent with another body or other query values, ` +
      `and applied ${objects.join(", ")}; nothing was applied. Send a new key for a new ` +
      `request, or the first request's body and values to retry it`,
    {
      reason: "idempotency-key-reused",
      details: { idempotencyKey: request.idempotencyKey, objects },
    },
  );
}

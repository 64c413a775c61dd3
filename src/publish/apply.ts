/**
 * The apply step of a publish: settled objects, in order, each reported on its own line. An
 * object the API server refuses does not stop the others; the publish's deadline does.
 * @module
 */

import {
  applyObject,
  type KubeApiError,
  type KubeObject,
  type ResolvedObject,
} from "../kube/apply.ts";
import type { KubeConnection } from "../kube/connection.ts";
import { earlierUse, type KeyedRequest } from "./idempotency.ts";
import { ANNOTATIONS, LABELS } from "./labels.ts";
import type { Rendered } from "./render.ts";
import { failure, identity, type ObjectOutcome, type ObjectReport } from "./report.ts";

/** Options for {@linkcode applyAll}. */
export interface ApplyAllOptions {
  /** The publish's REQUEST_UUID, which labels its objects. */
  requestUuid: string;
  /** Ask the API server for a server-side dry run: validate, store nothing. */
  dryRun?: boolean;
  /**
   * With an Idempotency-Key: the request, and each object as it was read before anything was
   * written (`readExisting`). An object this very request applied before is left as it is;
   * the others are applied and compared with what was read, to tell `unchanged` from
   * `configured`.
   */
  keyed?: { request: KeyedRequest; existing: (KubeObject | null)[] };
  /** Aborts when the publish's time is up. */
  deadline: AbortSignal;
  remainingMs: () => number;
  /** The publish's time budget, named in the report of objects it left no time for. */
  budgetMs: number;
  onRetry?: (error: KubeApiError) => void;
  /** Called for each object applied or failed, with the time it took (metrics). */
  onApplied?: (kind: string, outcome: ObjectOutcome, seconds: number) => void;
}

/** Applies `settled[i]` (rendered as `rendered[i]`) one after the other; one line each. */
export async function applyAll(
  kube: KubeConnection,
  rendered: Rendered[],
  settled: ResolvedObject[],
  options: ApplyAllOptions,
): Promise<ObjectReport[]> {
  const reports: ObjectReport[] = [];
  for (const [i, resolved] of settled.entries()) {
    const item = rendered[i];
    if (options.deadline.aborted) {
      reports.push(timedOut(item, options.budgetMs));
      continue;
    }
    const started = performance.now();
    const before = options.keyed?.existing[i];
    const report = options.keyed && earlierUse(before, options.keyed.request) === "same"
      ? done(item, options)
      : await applyOne(kube, item, resolved, { ...options, before });
    reports.push(report);
    options.onApplied?.(item.object.kind, report.outcome, (performance.now() - started) / 1000);
  }
  return reports;
}

/**
 * The report line of an object an earlier attempt of this request applied: nothing is sent.
 * Applying it again could only differ in what is not the request's (the request token's
 * expiry, a label of the run), and would fail on fields that cannot change, such as a Job's
 * pod template.
 */
function done(item: Rendered, options: ApplyAllOptions): ObjectReport {
  return options.dryRun
    ? { ...identity(item), outcome: "dry-run", object: item.object }
    : { ...identity(item), outcome: "unchanged" };
}

async function applyOne(
  kube: KubeConnection,
  item: Rendered,
  resolved: ResolvedObject,
  options: ApplyAllOptions & { before: KubeObject | null | undefined },
): Promise<ObjectReport> {
  const digest = options.keyed?.request.digest;
  try {
    const applied = await applyObject(kube, resolved, {
      deadline: options.deadline,
      remainingMs: options.remainingMs,
      dryRun: options.dryRun,
      checkExisting: options.keyed !== undefined,
      before: options.before,
      ownerLabel: [LABELS.requestUuid, options.requestUuid],
      ...(digest !== undefined ? { ownerAnnotation: [ANNOTATIONS.requestDigest, digest] } : {}),
      onRetry: options.onRetry,
    });
    return options.dryRun
      ? { ...identity(item), ...applied, outcome: "dry-run", object: item.object }
      : { ...identity(item), ...applied };
  } catch (error) {
    return failure(item, error);
  }
}

function timedOut(item: Rendered, budgetMs: number): ObjectReport {
  return {
    ...identity(item),
    outcome: "failed",
    error: `not applied: the publish ran out of time (${budgetMs} ms)`,
    reason: "Timeout",
    code: 0,
  };
}

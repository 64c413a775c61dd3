/**
 * Applying one object. Named objects go through server-side apply, so publishing a fixed-name
 * object again updates it like `kubectl apply`. Objects written with `generateName` are
 * created under a name the router derives from the request, so a retried or replayed request
 * finds its own object (409 with its label) instead of creating a second one. Failures that
 * pass are retried within the publish's deadline.
 * @module
 */

import { isDeepStrictEqual } from "node:util";
import { isSuccessfulStatus, STATUS_CODE } from "../http/status.ts";
import type { KubeConnection, ResourceInfo } from "./connection.ts";
import { answerJson, KubeApiError, statusError } from "./errors.ts";
import { resourcePath } from "./paths.ts";
import { withRetries } from "./retry.ts";

export { KubeApiError } from "./errors.ts";

/** The field manager recorded in `managedFields` for everything the router applies. */
export const FIELD_MANAGER = "gitfaas";

/** A Kubernetes object as plain JSON. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

/** What applying did. */
export type ApplyOutcome = "created" | "configured" | "unchanged";

/** An object ready to apply: discovery done, namespace and name settled. */
export interface ResolvedObject {
  object: KubeObject;
  resource: ResourceInfo;
  /** True for objects written with `generateName`: created under a derived name, never updated. */
  create: boolean;
}

/** The applied object's identity and what happened to it. */
export interface Applied {
  outcome: ApplyOutcome;
  namespace?: string;
  name: string;
}

/** The time budget and identity of the publish an object belongs to. */
export interface ApplyOptions {
  /** Aborts when the publish's time is up. */
  deadline: AbortSignal;
  /** Time left in ms. */
  remainingMs: () => number;
  /** Ask the API server for a server-side dry run: validate, store nothing. */
  dryRun?: boolean;
  /** Look for the object first, to tell `unchanged` from `configured` (replays). */
  checkExisting?: boolean;
  /**
   * The object as {@linkcode readObject} found it before the publish wrote anything (`null`:
   * there was none), read instead of looking again when `checkExisting` is set.
   */
  before?: KubeObject | null;
  /** The label that marks objects of this request, to recognise our own earlier create. */
  ownerLabel: [string, string];
  /**
   * An annotation an earlier attempt of this request wrote with the label: an object with the
   * label but another value here was made by another request under the same label, not ours.
   */
  ownerAnnotation?: [string, string];
  onRetry?: (error: KubeApiError, attempt: number) => void;
}

/** How `object`'s kind is served (discovery), retried like any request within the deadline. */
export function discoverResource(
  kube: KubeConnection,
  object: KubeObject,
  options: Pick<ApplyOptions, "deadline" | "remainingMs" | "onRetry">,
): Promise<ResourceInfo> {
  return withRetries(() => discover(kube, object, options.deadline), options);
}

/**
 * The stored object `resolved` names (its name settled), or null when there is none; retried
 * like any request within the deadline.
 */
export async function readObject(
  kube: KubeConnection,
  resolved: ResolvedObject,
  options: Pick<ApplyOptions, "deadline" | "remainingMs" | "onRetry">,
): Promise<KubeObject | null> {
  const { object, resource } = resolved;
  const path = resourcePath(object.apiVersion, resource.name, {
    namespace: resource.namespaced ? object.metadata?.namespace : undefined,
    name: object.metadata?.name ?? "",
  });
  try {
    return await withRetries(() => call(kube, "GET", path, options), options);
  } catch (error) {
    if (error instanceof KubeApiError && error.status === STATUS_CODE.NotFound) return null;
    throw error;
  }
}

/** Applies a resolved object. */
export async function applyObject(
  kube: KubeConnection,
  resolved: ResolvedObject,
  options: ApplyOptions,
): Promise<Applied> {
  const { object, resource } = resolved;
  const metadata = object.metadata!;
  const namespace = resource.namespaced ? metadata.namespace : undefined;
  const collection = resourcePath(object.apiVersion, resource.name, { namespace });
  const objectPath = (name: string) =>
    resourcePath(object.apiVersion, resource.name, { namespace, name });
  // As URLSearchParams would write it (FIELD_MANAGER needs no escaping), without building one.
  const query = `fieldManager=${FIELD_MANAGER}${options.dryRun ? "&dryRun=All" : ""}`;
  const send = (method: string, path: string, contentType: string) =>
    withRetries(
      () => call(kube, method, path, options, { body: JSON.stringify(object), contentType }),
      options,
    );

  if (resolved.create) {
    const name = metadata.name!;
    try {
      await send("POST", `${collection}?${query}`, "application/json");
      return { outcome: "created", namespace: metadata.namespace, name };
    } catch (error) {
      if (!(error instanceof KubeApiError) || error.reason !== "AlreadyExists") throw error;
      // Ours from an earlier attempt of this request? Then it is done, not a conflict.
      const existing = await withRetries(
        () => call(kube, "GET", objectPath(name), options),
        options,
      );
      if (!isOwn(existing, options)) throw error;
      return { outcome: "unchanged", namespace: metadata.namespace, name };
    }
  }

  const path = objectPath(metadata.name!);
  let before: KubeObject | undefined;
  if (options.checkExisting) {
    before =
      (options.before !== undefined ? options.before : await readObject(kube, resolved, options)) ??
        undefined;
  }
  const { status, body } = await withRetries(
    () =>
      callWithStatus(kube, "PATCH", `${path}?${query}&force=true`, options, {
        body: JSON.stringify(object),
        contentType: "application/apply-patch+yaml",
      }),
    options,
  );
  const outcome = applyOutcome(status, before, body, { ...options, applied: object });
  return {
    outcome,
    namespace: body.metadata?.namespace ?? metadata.namespace,
    name: body.metadata?.name ?? metadata.name!,
  };
}

/**
 * What a server-side apply did: `created` (201), `unchanged` when the object is as it was before
 * in everything but what the server and controllers write, else `configured`.
 */
function applyOutcome(
  status: number,
  before: KubeObject | undefined,
  after: KubeObject,
  options: Pick<ApplyOptions, "checkExisting" | "ownerLabel" | "ownerAnnotation"> & {
    applied: KubeObject;
  },
): ApplyOutcome {
  if (status === STATUS_CODE.Created) return "created";
  if (before) {
    return isDeepStrictEqual(ownView(before, options.applied), ownView(after, options.applied))
      ? "unchanged"
      : "configured";
  }
  // Missing when looked for, there when applied: an earlier attempt of this same request,
  // still running (a client that gave up and retried), created it with the same content.
  return options.checkExisting && isOwn(after, options) ? "unchanged" : "configured";
}

/** Whether `stored` was made by this request: its label, and its annotation when it has one. */
function isOwn(
  stored: KubeObject | undefined,
  options: Pick<ApplyOptions, "ownerLabel" | "ownerAnnotation">,
): boolean {
  const [key, value] = options.ownerLabel;
  if (stored?.metadata?.labels?.[key] !== value) return false;
  if (!options.ownerAnnotation) return true;
  const [annotation, expected] = options.ownerAnnotation;
  const annotations = stored.metadata?.annotations as Record<string, string> | undefined;
  const found = annotations?.[annotation];
  return found === undefined || found === expected;
}

/**
 * A stored object without what others write: its status, the server's bookkeeping
 * (resourceVersion, generation, managedFields) and the annotations the applied object does not
 * set. A controller writing status between the read and the apply (the Deployment controller
 * does, often) moves the resourceVersion, which must not turn an apply that changed nothing
 * into `configured`.
 */
function ownView(stored: KubeObject, applied: KubeObject): unknown {
  const { status: _status, metadata = {}, ...rest } = stored;
  const {
    resourceVersion: _resourceVersion,
    generation: _generation,
    managedFields: _managedFields,
    annotations = {},
    ...ownMetadata
  } = metadata;
  const set = new Set(Object.keys(applied.metadata?.annotations ?? {}));
  const own = Object.entries(annotations as Record<string, string>).filter(([k]) => set.has(k));
  return { ...rest, metadata: { ...ownMetadata, annotations: Object.fromEntries(own) } };
}

async function call(
  kube: KubeConnection,
  method: string,
  path: string,
  options: Pick<ApplyOptions, "deadline">,
  init: { body?: string; contentType?: string } = {},
): Promise<KubeObject> {
  return (await callWithStatus(kube, method, path, options, init)).body;
}

async function callWithStatus(
  kube: KubeConnection,
  method: string,
  path: string,
  options: Pick<ApplyOptions, "deadline">,
  init: { body?: string; contentType?: string } = {},
): Promise<{ status: number; body: KubeObject }> {
  const response = await kube.request(method, path, { ...init, signal: options.deadline });
  if (!isSuccessfulStatus(response.status)) throw statusError(response);
  return { status: response.status, body: answerJson<KubeObject>(response, path) };
}

async function discover(
  kube: KubeConnection,
  object: KubeObject,
  deadline: AbortSignal,
): Promise<ResourceInfo> {
  let resource: ResourceInfo | undefined;
  try {
    resource = await kube.resource(object.apiVersion, object.kind, deadline);
  } catch (error) {
    if (!(error instanceof KubeApiError) || error.status !== STATUS_CODE.NotFound) throw error;
    throw new KubeApiError(`the API server does not serve ${object.apiVersion}`, {
      status: STATUS_CODE.NotFound,
      reason: "NotFound",
      cause: error,
    });
  }
  if (!resource) {
    throw new KubeApiError(`the API server has no kind ${object.kind} in ${object.apiVersion}`, {
      status: STATUS_CODE.NotFound,
      reason: "NotFound",
    });
  }
  return resource;
}

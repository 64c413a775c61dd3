/**
 * Applying one object: server-side apply for named objects (so re-publishing a fixed-name
 * object updates it like `kubectl apply`), create for `generateName` objects. Errors carry the
 * API server's own Status message and reason.
 * @module
 */

import type { KubeConnection, ResourceInfo } from "./connection.ts";

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
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

/** What applying did. */
export type ApplyOutcome = "created" | "configured";

/** The applied object's identity and what happened to it. */
export interface Applied {
  outcome: ApplyOutcome;
  namespace?: string;
  name: string;
  /** The object as the API server returned it. */
  object: KubeObject;
}

/** The API server refused or failed a request, or could not be reached. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  /**
   * @param status HTTP status, or 0 when no answer came.
   * @param reason The Status reason (`AlreadyExists`, `Invalid`...), or `Unreachable`/`Timeout`.
   * @param retryAfterSeconds The server's Retry-After, when it sent one.
   */
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** Whether trying again later may succeed (no answer, 429, 5xx). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** Options for {@linkcode applyObject}. */
export interface ApplyOptions {
  /** Namespace for namespaced objects that name none. */
  namespace: string;
  /** Ask the API server for a server-side dry run: validate, store nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** Discovers how `object` is served, sets its namespace when needed, and applies it. */
export async function applyObject(
  kube: KubeConnection,
  object: KubeObject,
  options: ApplyOptions,
): Promise<Applied> {
  const resource = await discover(kube, object);
  const metadata = object.metadata ??= {};
  if (resource.namespaced) metadata.namespace ??= options.namespace;
  else delete metadata.namespace;

  const collection = collectionPath(object.apiVersion, resource, metadata.namespace);
  const query = new URLSearchParams({ fieldManager: FIELD_MANAGER });
  if (options.dryRun) query.set("dryRun", "All");
  let response: Response;
  try {
    if (metadata.name) {
      query.set("force", "true");
      response = await kube.request(
        "PATCH",
        `${collection}/${encodeURIComponent(metadata.name)}?${query}`,
        {
          body: JSON.stringify(object),
          contentType: "application/apply-patch+yaml",
          signal: options.signal,
        },
      );
    } else {
      response = await kube.request("POST", `${collection}?${query}`, {
        body: JSON.stringify(object),
        contentType: "application/json",
        signal: options.signal,
      });
    }
  } catch (error) {
    throw transportError(error, kube.server);
  }
  const body = await response.text();
  if (!response.ok) throw statusError(response, body);
  const returned = JSON.parse(body) as KubeObject;
  return {
    outcome: response.status === 201 ? "created" : "configured",
    namespace: returned.metadata?.namespace,
    name: returned.metadata?.name ?? metadata.name ?? "",
    object: returned,
  };
}

async function discover(kube: KubeConnection, object: KubeObject): Promise<ResourceInfo> {
  let resource: ResourceInfo | undefined;
  try {
    resource = await kube.resource(object.apiVersion, object.kind);
  } catch (error) {
    const status = (error as { code?: number }).code;
    if (status === 404) {
      throw new KubeApiError(
        `the API server does not serve ${object.apiVersion}`,
        404,
        "NotFound",
      );
    }
    if (typeof status === "number" && status >= 400) {
      throw new KubeApiError(
        `discovery of ${object.apiVersion} failed with HTTP ${status}`,
        status,
        "DiscoveryFailed",
      );
    }
    throw transportError(error, kube.server);
  }
  if (!resource) {
    throw new KubeApiError(
      `the API server has no kind ${object.kind} in ${object.apiVersion}`,
      404,
      "NotFound",
    );
  }
  return resource;
}

function collectionPath(apiVersion: string, resource: ResourceInfo, namespace?: string): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return resource.namespaced
    ? `${base}/namespaces/${encodeURIComponent(namespace!)}/${resource.name}`
    : `${base}/${resource.name}`;
}

function statusError(response: Response, body: string): KubeApiError {
  let message = body.trim() || response.statusText;
  let reason = response.statusText || "Error";
  try {
    const status = JSON.parse(body);
    if (status?.kind === "Status") {
      message = status.message ?? message;
      reason = status.reason ?? reason;
    }
  } catch {
    // Not a Status body (a proxy in the way, say): keep the raw text.
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return new KubeApiError(
    message,
    response.status,
    reason,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}

function transportError(error: unknown, server: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const e = error as { name?: string; message?: string };
  if (e.name === "TimeoutError" || e.name === "AbortError") {
    return new KubeApiError(`the API server at ${server} did not answer in time`, 0, "Timeout");
  }
  return new KubeApiError(
    `cannot reach the API server at ${server}: ${(e.message ?? String(error)).split("\n")[0]}`,
    0,
    "Unreachable",
  );
}

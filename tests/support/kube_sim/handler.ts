/**
 * HTTP routing of the simulated apiserver: discovery, OpenAPI, and the
 * resource verbs, turning {@link ApiError}s into Status responses.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { managerFromUserAgent } from "./fields.ts";
import { isObject, type JsonObject } from "./patch.ts";
import type { ResourceDef, ResourceRegistry } from "./resources.ts";
import { allOf, fieldMatcher, labelMatcher } from "./selectors.ts";
import {
  ApiError,
  badRequest,
  type FieldError,
  invalidObject,
  methodNotAllowed,
  notSupported,
  pathNotFound,
  required,
} from "./status.ts";
import type { ObjectStore, WriteContext } from "./store.ts";
import type { WatchHub } from "./watch.ts";

/** What the handler records about a request, filled in while routing. */
export interface RouteInfo {
  /** Kubernetes verb, e.g. `list` or `patch`. */
  verb: string;
  /** Plural resource, with `/status` for the subresource. */
  resource: string;
  /** Namespace from the URL. */
  namespace?: string;
  /** Whether the request was a dry run. */
  dryRun: boolean;
}

/** Everything the handler needs from the simulator. */
export interface HandlerContext {
  /** Served resources. */
  registry: ResourceRegistry;
  /** Object storage. */
  store: ObjectStore;
  /** Open watches. */
  watches: WatchHub;
  /** `host:port`, reported by `GET /api`. */
  serverAddress: string;
}

const jsonHeaders = { "content-type": "application/json" };

/** A JSON response. */
export function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: headers ? { ...jsonHeaders, ...headers } : jsonHeaders,
  });
}

/** The Status response for an error. */
export function errorResponse(error: ApiError): Response {
  return json(error.code, error.toStatus(), error.headers);
}

const version = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2024-12-11T18:04:20Z",
  goVersion: "go1.23.3",
  compiler: "gc",
  platform: "linux/amd64",
};

/** Answers one authenticated request. */
export async function handle(
  req: Request,
  url: URL,
  ctx: HandlerContext,
  info: RouteInfo,
): Promise<Response> {
  try {
    return await route(req, url, ctx, info);
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error);
    const message = error instanceof Error ? error.message : String(error);
    return errorResponse(new ApiError(500, "InternalError", `Internal error occurred: ${message}`));
  }
}

function route(
  req: Request,
  url: URL,
  ctx: HandlerContext,
  info: RouteInfo,
): Promise<Response> | Response {
  const segs = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  const method = req.method;
  const discovery = (body: JsonObject | undefined) => {
    info.verb = method.toLowerCase();
    if (method !== "GET") throw methodNotAllowed();
    if (!body) throw pathNotFound();
    return json(200, body);
  };
  switch (segs[0]) {
    case "api":
      if (segs.length === 1) return discovery(ctx.registry.apiVersions(ctx.serverAddress));
      if (segs.length === 2) return discovery(ctx.registry.apiResourceList(segs[1]));
      return resource(req, url, ctx, info, segs[1], segs.slice(2));
    case "apis":
      if (segs.length === 1) return discovery(ctx.registry.apiGroupList());
      if (segs.length === 2) return discovery(ctx.registry.apiGroup(segs[1]));
      if (segs.length === 3) {
        return discovery(ctx.registry.apiResourceList(`${segs[1]}/${segs[2]}`));
      }
      return resource(req, url, ctx, info, `${segs[1]}/${segs[2]}`, segs.slice(3));
    case "version":
      return discovery(segs.length === 1 ? version : undefined);
    case "openapi":
      // v2 stays unserved: kubectl only needs v3 (see ResourceRegistry.openApiV3).
      if (segs[1] !== "v3") return discovery(undefined);
      if (segs.length === 2) return discovery(ctx.registry.openApiV3Root());
      return discovery(ctx.registry.openApiV3(segs.slice(3).join("/")));
    case "healthz":
    case "livez":
    case "readyz":
      info.verb = "get";
      return new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } });
    default:
      info.verb = method.toLowerCase();
      throw pathNotFound();
  }
}

interface Target {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function resolve(registry: ResourceRegistry, apiVersion: string, rest: string[]): Target {
  let namespace: string | undefined;
  let parts = rest;
  // `/api/v1/namespaces/x/status` is a namespace's subresource, not a resource in x.
  const namespaceSub = apiVersion === "v1" && (rest[2] === "status" || rest[2] === "finalize");
  if (rest[0] === "namespaces" && rest.length >= 3 && !namespaceSub) {
    namespace = rest[1];
    parts = rest.slice(2);
  }
  if (parts.length > 3) throw pathNotFound();
  const [plural, name, subresource] = parts;
  const def = registry.byPath(apiVersion, plural);
  if (!def) throw pathNotFound();
  if (namespace !== undefined && !def.namespaced) throw pathNotFound();
  if (namespace === undefined && def.namespaced && name !== undefined) throw pathNotFound();
  if (subresource !== undefined && !(subresource === "status" && def.hasStatus)) {
    throw pathNotFound();
  }
  return { def, namespace, name, subresource };
}

function optionsError(kind: string, errors: FieldError[]): ApiError {
  return invalidObject({ group: "meta.k8s.io", plural: "", kind }, "", errors);
}

function dryRunOf(url: URL, optionsKind: string): boolean {
  const values = url.searchParams.getAll("dryRun");
  for (const v of values) {
    if (v !== "All") throw optionsError(optionsKind, [notSupported("dryRun", v, ["All"])]);
  }
  return values.length > 0;
}

function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

async function readBody(req: Request, kind: string): Promise<unknown> {
  const text = await req.text();
  const type = mediaType(req);
  if (type.includes("yaml")) {
    try {
      return parseYaml(text);
    } catch (error) {
      throw badRequest(`error converting YAML to JSON: ${(error as Error).message}`);
    }
  }
  if (type !== "" && type !== "application/json" && type !== "*/*") {
    // kubectl's imperative generators (`create namespace|configmap|job ...`) send
    // protobuf, which needs every type's schema to decode; manifests go as JSON.
    const hint = type.includes("protobuf")
      ? " (kube-sim decodes JSON and YAML only; use a manifest with `kubectl create -f`)"
      : "";
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      "the body of the request was in an unknown format - accepted media types include: " +
        "application/json, application/yaml, application/vnd.kubernetes.protobuf, application/cbor" +
        hint,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const summary = text.length > 30 ? `${text.slice(0, 30)}...` : text;
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; ` +
        `json parse error: ${(error as Error).message} (${summary})`,
    );
  }
}

function writeContext(req: Request, url: URL, dryRun: boolean): WriteContext {
  const explicit = url.searchParams.get("fieldManager");
  return {
    dryRun,
    manager: explicit || managerFromUserAgent(req.headers.get("user-agent")),
  };
}

async function resource(
  req: Request,
  url: URL,
  ctx: HandlerContext,
  info: RouteInfo,
  apiVersion: string,
  rest: string[],
): Promise<Response> {
  const { def, namespace, name, subresource } = resolve(ctx.registry, apiVersion, rest);
  const q = url.searchParams;
  const { store } = ctx;
  const scope = subresource === "status" ? "status" : "main";
  info.resource = subresource ? `${def.plural}/${subresource}` : def.plural;
  info.namespace = namespace;
  const method = req.method;

  if (name === undefined) {
    const match = () =>
      allOf(labelMatcher(q.get("labelSelector")), fieldMatcher(q.get("fieldSelector")));
    switch (method) {
      case "GET": {
        const watching = q.get("watch") === "true" || q.get("watch") === "1";
        if (watching) {
          info.verb = "watch";
          const stream = ctx.watches.open({
            def,
            namespace,
            match: match(),
            resourceVersion: q.get("resourceVersion"),
            timeoutSeconds: Number(q.get("timeoutSeconds") ?? 0),
          });
          return new Response(stream, { headers: jsonHeaders });
        }
        info.verb = "list";
        const limit = Number(q.get("limit") ?? 0);
        return json(
          200,
          store.list(def, namespace, { match: match(), limit, continueToken: q.get("continue") }),
        );
      }
      case "POST": {
        info.verb = "create";
        if (def.namespaced && namespace === undefined) throw methodNotAllowed();
        const dryRun = info.dryRun = dryRunOf(url, "CreateOptions");
        const body = await readBody(req, def.kind);
        return json(201, store.create(def, namespace, body, writeContext(req, url, dryRun)));
      }
      case "DELETE": {
        info.verb = "deletecollection";
        const dryRun = info.dryRun = dryRunOf(url, "DeleteOptions");
        return json(
          200,
          store.deleteCollection(def, namespace, writeContext(req, url, dryRun), match()),
        );
      }
      default:
        info.verb = method.toLowerCase();
        throw methodNotAllowed();
    }
  }

  switch (method) {
    case "GET":
      info.verb = "get";
      return json(200, store.get(def, namespace, name));
    case "PUT": {
      info.verb = "update";
      const dryRun = info.dryRun = dryRunOf(url, "UpdateOptions");
      const body = await readBody(req, def.kind);
      return json(
        200,
        store.update(def, namespace, name, body, writeContext(req, url, dryRun), scope),
      );
    }
    case "PATCH": {
      info.verb = "patch";
      const dryRun = info.dryRun = dryRunOf(url, "PatchOptions");
      const type = mediaType(req);
      const apply = type === "application/apply-patch+yaml";
      // The apiserver validates PatchOptions before it looks at the object.
      if (apply && !q.get("fieldManager")) {
        throw optionsError("PatchOptions", [
          required("fieldManager", "is required for apply patch"),
        ]);
      }
      if (!apply && q.has("force")) {
        throw optionsError("PatchOptions", [{
          type: "FieldValueForbidden",
          field: "force",
          body: "Forbidden: may not be specified for non-apply patch",
        }]);
      }
      const wc = { ...writeContext(req, url, dryRun), force: q.get("force") === "true" };
      const { object, created } = store.patch(
        def,
        namespace,
        name,
        type,
        await req.text(),
        wc,
        scope,
      );
      return json(created ? 201 : 200, object);
    }
    case "DELETE": {
      info.verb = "delete";
      if (subresource) throw methodNotAllowed();
      info.dryRun = dryRunOf(url, "DeleteOptions");
      const text = await req.text();
      let options: unknown;
      if (text.trim() !== "") {
        try {
          options = JSON.parse(text);
        } catch {
          throw badRequest("the object provided is unrecognized (must be of type DeleteOptions)");
        }
      }
      if (isObject(options) && Array.isArray(options.dryRun) && options.dryRun.includes("All")) {
        info.dryRun = true;
      }
      return json(
        200,
        store.delete(def, namespace, name, writeContext(req, url, info.dryRun), options),
      );
    }
    default:
      info.verb = method.toLowerCase();
      throw methodNotAllowed();
  }
}

/**
 * The runs API: requests and runs with their live status, waiting for a request to end,
 * cancelling, and results. Every answer is read back from the cluster (through `RunsApi`), so
 * any replica answers any question.
 * @module
 */

import { Buffer } from "node:buffer";
import type { Result } from "../../runs/results.ts";
import type { Deleted, RequestFilter } from "../../runs/runs.ts";
import type { RequestView, RunView } from "../../runs/run_view.ts";
import { isFinal, type Status } from "../../runs/status.ts";
import { isRunId } from "../../runs/trace_context.ts";
import { callerOf, type TokenScope } from "../auth.ts";
import { type BodyBudget, readBody } from "../body.ts";
import { HttpError } from "../http_error.ts";
import { json } from "../json.ts";
import { readRoute } from "../read_route.ts";
import type { Route } from "../route.ts";
import { STATUS_CODE } from "../status.ts";
import { waitOf } from "../wait.ts";

/** What the runs routes read and write through. */
export interface RunsApi {
  request(uuid: string, signal?: AbortSignal): Promise<RequestView | undefined>;
  requests(filter: RequestFilter): RequestView[];
  runs(limit: number): RunView[];
  run(runId: string): RunView | undefined;
  wait(uuid: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<
    RequestView | undefined
  >;
  cancel(uuid: string, options: { descendants: boolean }): Promise<Deleted[]>;
  cancelRun(runId: string): Promise<Deleted[]>;
  putResult(uuid: string, result: Result): Promise<boolean>;
  getResult(uuid: string): Promise<Result | undefined>;
  /** The request whose objects carry this `FUNCTION_UID` (upstream's `/response` alias). */
  requestOfFunction(functionUid: string): string | undefined;
}

/** Options of {@linkcode runsRoutes}. */
export interface RunsRouteOptions {
  /** Absent: the router renders only, and the runs API says so. */
  runs?: RunsApi;
  /** Largest result accepted (MAX_RESULT_BYTES). */
  maxResultBytes: number;
  /** Bytes of bodies held at once (MAX_BODY_BYTES_IN_FLIGHT), shared with publishes. */
  bodyBudget?: BodyBudget;
  /** Time allowed to receive a result (BODY_TIMEOUT). */
  bodyTimeoutMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STATUSES: readonly Status[] = ["pending", "running", "succeeded", "failed", "deleted"];
const PREVIEW_BYTES = 2048;

/** The routes, and what a request token may do on each. */
export function runsRoutes(
  options: RunsRouteOptions,
): { routes: Route[]; scopes: Map<Route, TokenScope> } {
  const api = () => {
    if (!options.runs) {
      throw new HttpError(
        STATUS_CODE.NotFound,
        "runs are followed in the cluster, and this router only renders (GITFAAS_APPLY is off)",
      );
    }
    return options.runs;
  };
  const postResult: Route = {
    pattern: new URLPattern({ pathname: "/requests/:uuid/result" }),
    method: "POST",
    handler: (request, params) => storeResult(api(), request, uuidOf(params), options),
  };
  const postResponse: Route = {
    pattern: new URLPattern({ pathname: "/response/:id" }),
    method: "POST",
    handler: (request, params) => {
      const id = uuidOf(params, "id");
      return storeResult(api(), request, api().requestOfFunction(id) ?? id, options);
    },
  };
  const routes: Route[] = [
    readRoute("/requests", (request) => listRequests(api(), new URL(request.url))),
    readRoute("/requests/:uuid", (request, params) => getRequest(api(), request, uuidOf(params))),
    postResult,
    readRoute("/requests/:uuid/result", (_, params) => sendResult(api(), uuidOf(params))),
    postResponse,
    readRoute("/response/:uuid", (_, params) => sendResult(api(), uuidOf(params))),
    {
      pattern: new URLPattern({ pathname: "/requests/:uuid" }),
      method: "DELETE",
      handler: async (request, params) => {
        const uuid = uuidOf(params);
        if (!await api().request(uuid)) throw notFound(`request ${uuid}`);
        const descendants = new URL(request.url).searchParams.get("descendants") === "true";
        return json({ deleted: await api().cancel(uuid, { descendants }) });
      },
    },
    readRoute("/runs", (request) => {
      const limit = limitOf(new URL(request.url));
      return json({ runs: api().runs(limit).map(runSummary) });
    }),
    readRoute(
      "/runs/:runId",
      (_, params) => json(api().run(runIdOf(params)) ?? notFoundRun(params)),
    ),
    {
      pattern: new URLPattern({ pathname: "/runs/:runId" }),
      method: "DELETE",
      handler: async (_, params) => {
        const runId = runIdOf(params);
        if (!api().run(runId)) notFoundRun(params);
        return json({ deleted: await api().cancelRun(runId) });
      },
    },
  ];
  const scopes = new Map<Route, TokenScope>([
    [postResult, (claims, params) => params?.pathname.groups.uuid === claims.requestUuid],
    // The function uid is resolved in the handler, which checks the caller again.
    [postResponse, () => true],
  ]);
  return { routes, scopes };
}

async function getRequest(api: RunsApi, request: Request, uuid: string): Promise<Response> {
  const waitMs = waitOf(new URL(request.url));
  const view = waitMs === undefined
    ? await api.request(uuid)
    : await api.wait(uuid, { timeoutMs: waitMs });
  if (!view) throw notFound(`request ${uuid}`);
  const body = await withResult(api, view, { full: waitMs !== undefined });
  const final = isFinal(view.status);
  return json(body, waitMs !== undefined && !final ? STATUS_CODE.Accepted : STATUS_CODE.OK);
}

/** A request with its result: a preview, or (for a wait) the whole body. */
export async function withResult(
  api: Pick<RunsApi, "getResult">,
  view: RequestView,
  options: { full: boolean },
): Promise<RequestView & { result?: Record<string, unknown> }> {
  const result = await api.getResult(view.requestUuid);
  if (!result) return view;
  const textual = /^text\/|[/+]json\b|[/+]xml\b|^application\/(yaml|x-yaml)/i.test(
    result.contentType,
  );
  const shown = options.full ? result.body : result.body.subarray(0, PREVIEW_BYTES);
  const bytes = Buffer.from(shown);
  return {
    ...view,
    result: {
      contentType: result.contentType,
      bytes: result.body.byteLength,
      url: `/requests/${view.requestUuid}/result`,
      ...(textual
        ? { [options.full ? "text" : "preview"]: bytes.toString("utf-8") }
        : options.full
        ? { base64: bytes.toString("base64") }
        : {}),
    },
  };
}

function listRequests(api: RunsApi, url: URL): Response {
  const status = url.searchParams.get("status") ?? undefined;
  if (status !== undefined && !STATUSES.includes(status as Status)) {
    throw new HttpError(
      STATUS_CODE.BadRequest,
      `status must be one of ${STATUSES.join(", ")}`,
    );
  }
  const topic = url.searchParams.get("topic") ?? undefined;
  const requests = api.requests({ topic, status: status as Status, limit: limitOf(url) });
  return json({ requests });
}

async function storeResult(
  api: RunsApi,
  request: Request,
  uuid: string,
  options: RunsRouteOptions,
): Promise<Response> {
  const caller = callerOf(request);
  if (caller.kind === "request" && caller.claims.requestUuid !== uuid) {
    throw new HttpError(STATUS_CODE.Forbidden, "a request token may only post its own result");
  }
  const body = await readBody(request, options.maxResultBytes, {
    budget: options.bodyBudget,
    timeoutMs: options.bodyTimeoutMs,
  }).catch((error) => {
    if (error instanceof HttpError && error.status === STATUS_CODE.ContentTooLarge) {
      throw new HttpError(
        STATUS_CODE.ContentTooLarge,
        `the result is larger than MAX_RESULT_BYTES (${options.maxResultBytes} bytes)`,
        { details: { limitBytes: options.maxResultBytes }, cause: error },
      );
    }
    throw error;
  });
  try {
    const contentType = request.headers.get("content-type") || "application/octet-stream";
    if (!await api.putResult(uuid, { contentType, body })) throw notFound(`request ${uuid}`);
    return json({ requestUuid: uuid, bytes: body.byteLength, contentType }, STATUS_CODE.Created);
  } finally {
    options.bodyBudget?.give(body.byteLength);
  }
}

async function sendResult(api: RunsApi, uuid: string): Promise<Response> {
  const result = await api.getResult(uuid);
  if (!result) {
    throw new HttpError(
      STATUS_CODE.NotFound,
      `request ${uuid} has no result: none was posted yet, or the request is gone`,
    );
  }
  return new Response(result.body as Uint8Array<ArrayBuffer>, {
    headers: { "content-type": result.contentType },
  });
}

function runSummary(run: RunView) {
  return {
    ...run,
    requests: run.requests.map((r) => ({
      requestUuid: r.requestUuid,
      topic: r.topic,
      parent: r.parent,
      status: r.status,
    })),
  };
}

function limitOf(url: URL): number {
  const text = url.searchParams.get("limit");
  if (text === null) return 50;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new HttpError(STATUS_CODE.BadRequest, "limit must be a whole number from 1 to 500");
  }
  return limit;
}

function uuidOf(params: URLPatternResult | undefined, name = "uuid"): string {
  const uuid = params?.pathname.groups[name] ?? "";
  if (!UUID.test(uuid)) {
    throw new HttpError(
      STATUS_CODE.BadRequest,
      `"${uuid}" is not a request uuid (8-4-4-4-12 lowercase hex)`,
    );
  }
  return uuid;
}

function runIdOf(params: URLPatternResult | undefined): string {
  const runId = params?.pathname.groups.runId ?? "";
  if (!isRunId(runId)) {
    throw new HttpError(STATUS_CODE.BadRequest, `"${runId}" is not a run id (32 lowercase hex)`);
  }
  return runId;
}

function notFound(what: string): HttpError {
  return new HttpError(
    STATUS_CODE.NotFound,
    `${what} is unknown: it never existed, or every object of it is gone (TTL or cancel)`,
  );
}

function notFoundRun(params: URLPatternResult | undefined): never {
  throw notFound(`run ${params?.pathname.groups.runId}`);
}

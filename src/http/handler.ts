/**
 * The HTTP API as a route table: each route in its own module under `routes/`, dispatched by
 * `route()`, behind one error boundary (`error_response.ts`) that turns whatever a handler
 * throws into a status and a JSON `{"error": "..."}`, and a 500 that is logged for a bug.
 * @module
 */

import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { PreviewOptions } from "../publish/preview.ts";
import type { Publisher } from "../publish/publisher.ts";
import type { Syncer } from "../sync/syncer.ts";
import type { WebPage } from "../web/page.ts";
import { authenticator, guarded } from "./auth.ts";
import type { BodyBudget } from "./body.ts";
import { errorBoundary } from "./error_response.ts";
import { HttpError } from "./http_error.ts";
import { withoutHeadBodies } from "./read_route.ts";
import { type Route, route, routeMethods } from "./route.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { probeRoutes } from "./routes/probes.ts";
import { publishRoute } from "./routes/publish.ts";
import { refreshRoute } from "./routes/refresh.ts";
import { type RunsApi, runsRoutes } from "./routes/runs.ts";
import { renderRoute } from "./routes/render.ts";
import { type RuntimeStatus, statusRoute } from "./routes/status.ts";
import { topicsRoute } from "./routes/topics.ts";
import { webPageRoutes } from "./routes/web_page.ts";
import { webhookRoute } from "./routes/webhook.ts";
import { STATUS_CODE } from "./status.ts";

/** What the handler serves. */
export interface HandlerOptions {
  syncer: Pick<Syncer, "index" | "status" | "sync">;
  /** `POST /webhook/git`; absent: webhooks are off and it answers 404. */
  webhook?: { handle(request: Request): Promise<Response>; status(): unknown };
  publisher: Pick<Publisher, "publish">;
  maxBodyBytes: number;
  /**
   * Bytes of request bodies held at once (MAX_BODY_BYTES_IN_FLIGHT): publishes, renders and
   * results share it; absent: unbounded (in-process tests).
   */
  bodyBudget?: BodyBudget;
  /** Time allowed to receive a body (BODY_TIMEOUT); absent: no limit. */
  bodyTimeoutMs?: number;
  /** Shown on `/status`: where the index comes from (no credentials). */
  source: Record<string, unknown>;
  /** Shown on `/status`: how the router runs. */
  runtime?: RuntimeStatus;
  /** `POST /render/<topic>`: namespace and policy of the preview; absent: it answers 404. */
  preview?: PreviewOptions;
  /** The web page at `GET /` and `/assets/…`; absent: they answer 404. */
  page?: WebPage;
  /** Query limits for publishes. */
  maxQueryParams: number;
  maxQueryValueBytes: number;
  /**
   * When set, every route but the probes, the webhook, `/metrics` and the web page needs
   * `Authorization: Bearer <token>` (or, where it may act, a request token).
   */
  publishToken?: string;
  /** The key request tokens are signed with; absent: they are not accepted. */
  requestTokenKey?: Uint8Array;
  /** The runs API; absent (render-only): its routes say runs need a cluster. */
  runs?: RunsApi;
  /** Largest result a step may post (MAX_RESULT_BYTES). */
  maxResultBytes?: number;
  /** The live replicas, for `/status`. */
  replicas?: () => Promise<unknown>;
  /** True while shutting down: /readyz answers 503 so no new traffic is sent here. */
  draining?: () => boolean;
  /** Served on `/metrics`; publishes are counted in it. */
  metrics?: Metrics;
  logger?: Logger;
}

/** Builds the request handler the server (`app/serve.ts`) calls for every request. */
export function createHandler(
  options: HandlerOptions,
): (request: Request) => Promise<Response> {
  const routes = routeTable(options);
  const dispatch = route(routes, (request) => noRoute(routes, request));
  return withoutHeadBodies(
    countingAborts(errorBoundary(dispatch, { logger: options.logger }), options),
  );
}

/**
 * `handler`, noting every request whose client went away before sending its body (answered
 * 499, which nobody receives): a line at info, since it is no fault of the router, and
 * `gitfaas_requests_aborted_total{route}`.
 */
function countingAborts(
  handler: (request: Request) => Promise<Response>,
  options: Pick<HandlerOptions, "metrics" | "logger">,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const response = await handler(request);
    if (response.status !== STATUS_CODE.ClientClosedRequest) return response;
    const { pathname } = new URL(request.url);
    const label = routeLabel(pathname);
    options.metrics?.aborted(label);
    options.logger?.info("the client closed the connection before sending the whole body", {
      method: request.method,
      path: pathname,
      route: label,
    });
    return response;
  };
}

/** The first path segment of the routes that read a body, for a bounded metrics label. */
function routeLabel(pathname: string): string {
  const segment = pathname.split("/")[1] ?? "";
  return ["publish", "render", "webhook", "requests"].includes(segment) ? segment : "other";
}

/** Every route, in the order they are tried; the ones behind the token are marked here. */
export function routeTable(options: HandlerOptions): Route[] {
  const { syncer } = options;
  const index = () => syncer.index;
  const authenticate = authenticator({
    publishToken: options.publishToken,
    requestTokenKey: options.requestTokenKey,
  });
  const limits = {
    maxBodyBytes: options.maxBodyBytes,
    bodyBudget: options.bodyBudget,
    bodyTimeoutMs: options.bodyTimeoutMs,
    maxQueryParams: options.maxQueryParams,
    maxQueryValueBytes: options.maxQueryValueBytes,
  };
  const publish = publishRoute({
    publisher: options.publisher,
    index,
    limits,
    runs: options.runs,
    metrics: options.metrics,
    logger: options.logger,
  });
  const runs = runsRoutes({
    runs: options.runs,
    maxResultBytes: options.maxResultBytes ?? 512 * 1024,
    bodyBudget: options.bodyBudget,
    bodyTimeoutMs: options.bodyTimeoutMs,
  });
  // A request token may publish (children of its own request: the publisher checks) and post
  // its own result; nothing else.
  runs.scopes.set(publish, () => true);
  return [
    ...(options.page ? webPageRoutes(options.page) : []),
    ...probeRoutes({ index, draining: options.draining }),
    ...guarded(
      [
        statusRoute({
          index,
          syncStatus: () => syncer.status(),
          source: options.source,
          runtime: options.runtime,
          webhookStatus: options.webhook && (() => options.webhook!.status()),
          replicas: options.replicas,
        }),
        topicsRoute({ index }),
        refreshRoute({ sync: () => syncer.sync() }),
        publish,
        ...runs.routes,
        ...(options.preview ? [renderRoute({ index, preview: options.preview, limits })] : []),
      ],
      authenticate,
      runs.scopes,
    ),
    webhookRoute(options.webhook),
    metricsRoute(options.metrics),
  ];
}

/** The answer when no route matched: 405 naming the methods the path has, or 404. */
function noRoute(routes: Route[], request: Request): never {
  const methods = routes.filter((r) => r.pattern.test(request.url)).flatMap(routeMethods);
  if (methods.length > 0) {
    const allow = [...new Set(methods)].join(", ");
    throw new HttpError(
      STATUS_CODE.MethodNotAllowed,
      `${request.method} is not allowed here; use ${allow}`,
      { headers: { allow } },
    );
  }
  throw new HttpError(STATUS_CODE.NotFound, `no such endpoint: ${new URL(request.url).pathname}`);
}

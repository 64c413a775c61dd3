/**
 * The HTTP API: routes, and the translation of every outcome to a status and a JSON body.
 * Handlers never throw past this module: bad input gets a clear JSON error, and an unexpected
 * failure a 500 that is logged.
 * @module
 */

import { GitError } from "../git/git_source.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { type Publisher, PublishError } from "../publish/publisher.ts";
import type { Syncer } from "../sync/syncer.ts";
import { IndexBuildError } from "../topics/topic_index.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { bearerCheck } from "./auth.ts";
import { errorResponse, HttpError, json } from "./json.ts";
import { parsePublishRequest } from "./publish_request.ts";

/** What the handler serves. */
export interface HandlerOptions {
  syncer: Syncer;
  /** `POST /webhook/git`; absent: webhooks are off and it answers 404. */
  webhook?: { handle(request: Request): Promise<Response>; status(): unknown };
  publisher: Publisher;
  maxBodyBytes: number;
  /** Shown on `/status`: where the index comes from (no credentials). */
  source: Record<string, unknown>;
  /** Query limits for publishes. */
  maxQueryParams?: number;
  maxQueryValueBytes?: number;
  /** When set, /publish, /refresh, /status and /topics need `Authorization: Bearer <token>`. */
  publishToken?: string;
  /** True while shutting down: /readyz answers 503 so no new traffic is sent here. */
  draining?: () => boolean;
  /** Served on `/metrics`; publishes are counted in it. */
  metrics?: Metrics;
  logger?: Logger;
}

type Route = {
  pattern: URLPattern;
  methods: Record<string, (request: Request, match: URLPatternResult) => Promise<Response>>;
  /** Whether the bearer token (when configured) is needed. */
  guarded?: boolean;
};

/** Builds the request handler for `Deno.serve`. */
export function createHandler(options: HandlerOptions): (request: Request) => Promise<Response> {
  const { syncer, publisher } = options;
  const logger = options.logger ?? silentLogger;
  const authorize = options.publishToken ? bearerCheck(options.publishToken) : () => {};

  const refresh = async () => {
    try {
      const result = await syncer.sync();
      return json(result);
    } catch (error) {
      throw syncHttpError(error);
    }
  };

  const routes: Route[] = [
    route("/healthz", { GET: () => Promise.resolve(json({ status: "ok" })) }),
    route("/readyz", {
      GET: () => {
        const index = syncer.index;
        if (options.draining?.()) {
          return Promise.resolve(json({ ready: false, error: "shutting down" }, 503));
        }
        return Promise.resolve(
          index
            ? json({ ready: true, revision: index.revision })
            : json({ ready: false, error: "no topic index loaded yet" }, 503),
        );
      },
    }),
    route("/status", {
      GET: () => {
        const index = syncer.index;
        const unusable = index
          ? Object.fromEntries(
            [...index.topics.values()].filter((t) => t.problems.length > 0)
              .map((t) => [t.name, t.problems]),
          )
          : {};
        return Promise.resolve(json({
          source: options.source,
          ...syncer.status(),
          unusableTopics: unusable,
          webhook: options.webhook?.status() ?? { enabled: false },
        }));
      },
    }, true),
    route("/topics", {
      GET: () => {
        const index = syncer.index;
        if (!index) throw new HttpError(503, "no topic index loaded yet");
        const topics = [...index.topics.values()].map((t) => ({
          name: t.name,
          manifests: t.manifests.map((m) => m.path),
          usable: t.problems.length === 0,
          ...(t.problems.length > 0 ? { problems: t.problems } : {}),
        }));
        return Promise.resolve(json({ revision: index.revision, topics }));
      },
    }, true),
    route("/refresh", { GET: refresh, POST: refresh }, true),
    route("/webhook/git", {
      POST: (request) => {
        if (options.webhook) return options.webhook.handle(request);
        throw new HttpError(
          404,
          "webhooks are off: set WEBHOOK_SECRET to turn on POST /webhook/git",
        );
      },
    }),
    route("/metrics", {
      GET: async () => {
        if (!options.metrics) throw new HttpError(404, "metrics are off");
        return new Response(await options.metrics.text(), {
          headers: { "content-type": options.metrics.contentType },
        });
      },
    }),
    route("/publish/*", {
      POST: async (request, match) => {
        const started = performance.now();
        const raw = match.pathname.groups["0"] ?? "";
        const topic = topicLabel(raw);
        const response = await publish(request, raw).catch((error) => {
          if (error instanceof HttpError) return errorResponse(error);
          throw error;
        });
        options.metrics?.published(topic, response.status, (performance.now() - started) / 1000);
        return response;
      },
    }, true),
  ];

  /** A topic name for metrics: only names in the live index, so label values stay bounded. */
  function topicLabel(raw: string): string {
    const name = raw.split("&")[0];
    return syncer.index?.topics.has(name) ? name : "unknown";
  }

  async function publish(request: Request, raw: string): Promise<Response> {
    const parsed = await parsePublishRequest(request, raw, {
      maxBodyBytes: options.maxBodyBytes,
      maxQueryParams: options.maxQueryParams,
      maxQueryValueBytes: options.maxQueryValueBytes,
    });
    try {
      const result = await publisher.publish(parsed);
      return json(result.report, result.status);
    } catch (error) {
      if (error instanceof PublishError) {
        throw new HttpError(
          error.status,
          error.message,
          error.details,
          error.retryAfterSeconds ? { "retry-after": String(error.retryAfterSeconds) } : {},
        );
      }
      throw error;
    }
  }

  return async (request: Request) => {
    try {
      for (const { pattern, methods, guarded } of routes) {
        const match = pattern.exec(request.url);
        if (!match) continue;
        if (guarded) authorize(request);
        const handle = methods[request.method];
        if (!handle) {
          const allow = Object.keys(methods).join(", ");
          throw new HttpError(405, `${request.method} is not allowed here; use ${allow}`, {}, {
            allow,
          });
        }
        return await handle(request, match);
      }
      throw new HttpError(404, `no such endpoint: ${new URL(request.url).pathname}`);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      logger.error("request failed", {
        method: request.method,
        path: new URL(request.url).pathname,
        error: (error as Error).stack ?? String(error),
      });
      return json({ error: `internal error: ${(error as Error).message}` }, 500);
    }
  };
}

function route(pathname: string, methods: Route["methods"], guarded = false): Route {
  return { pattern: new URLPattern({ pathname }), methods, guarded };
}

/** A failed sync as an HTTP error: 422 for a commit that cannot serve, 502 for Git failures. */
export function syncHttpError(error: unknown): HttpError {
  if (error instanceof IndexBuildError) {
    return new HttpError(422, error.message, {
      revision: error.revision,
      problems: error.problems,
    });
  }
  if (error instanceof GitError) {
    return new HttpError(502, error.message, { kind: error.kind });
  }
  return new HttpError(500, `sync failed: ${(error as Error).message}`);
}

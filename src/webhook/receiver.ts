/**
 * `POST /webhook/git`: receives push deliveries from GitHub, GitLab, Gitea, Forgejo and Gogs,
 * checks their signature on the raw bytes before anything else is read from the body, and
 * answers at once. A push to the followed branch then drives syncs until its commit is live,
 * retrying briefly when the delivery outran the Git server.
 *
 * Order of checks: provider headers (400), signature header present (401), a token signature
 * (GitLab's, which is the secret itself) valid (401), content type (415), then the body: within
 * `maxBodyBytes` (413), in time (408), with room among the bodies not verified yet (503); then an
 * HMAC signature valid (401), delivery id not seen before (200 duplicate), JSON (400), event and
 * payload (200 ignored, 200 ping, 202 accepted).
 *
 * Nothing is reserved for a delivery before its signature is checked: an unsigned sender that
 * stalls holds no slot, and one that sends holds only the bytes it actually sent, for at most
 * `bodyTimeoutMs`. So unsigned traffic cannot starve signed deliveries short of out-sending
 * them (a flood the network, not the router, has to stop).
 * @module
 */

import { BodyBudget, mediaType, parseJsonBody, readBody } from "../http/body.ts";
import { errorAnswer } from "../http/error_response.ts";
import { HttpError } from "../http/http_error.ts";
import { json } from "../http/json.ts";
import { STATUS_CODE } from "../http/status.ts";
import { backoffDelay, delay } from "../lib/async.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import { IndexBuildError } from "../topics/topic_index.ts";
import { decidePush, type FollowedBranch } from "./push_event.ts";
import { type DeliveryHeaders, type Provider, readDeliveryHeaders } from "./providers.ts";
import { ReplayCache, type ReplayCacheOptions } from "./replay_cache.ts";
import {
  importWebhookSecret,
  verifyHmacSha256,
  verifyToken,
  type WebhookSecret,
} from "./verify.ts";

/** What the receiver drives: the router's `Syncer` fits. */
export interface WebhookSyncTarget {
  /** Syncs now, or joins the follow-up of the sync under way. */
  sync(): Promise<unknown>;
  /** The live index, whose `revision` is checked against the pushed commit. */
  readonly index: { readonly revision: string } | null;
}

/** Options for {@linkcode WebhookReceiver.create}. */
export interface WebhookReceiverOptions {
  /** `WEBHOOK_SECRET`. */
  secret: string;
  syncer: WebhookSyncTarget;
  followed: FollowedBranch;
  /** `WEBHOOK_MAX_BYTES`: larger deliveries get 413 without being read in full. */
  maxBodyBytes: number;
  logger?: Logger;
  /** How long to keep syncing until a pushed commit is live. Default 10,000 ms. */
  liveDeadlineMs?: number;
  /** The first wait between syncs; it doubles up to 2,000 ms. Default 250 ms. */
  retryDelayMs?: number;
  /**
   * Bytes of deliveries received and not verified yet, at once; a delivery whose bytes do not
   * fit gets 503 with Retry-After. Counted as they arrive, not as declared, since a declared
   * length costs a sender nothing. Default 16 × `maxBodyBytes`.
   */
  maxUnverifiedBytes?: number;
  /** Time allowed to receive a body. Default 10,000 ms. */
  bodyTimeoutMs?: number;
  replay?: ReplayCacheOptions;
  /** Called after every answered delivery (metrics). */
  onDelivery?: (record: DeliveryRecord) => void;
  /**
   * Called with each accepted push before it is answered, so every replica hears of it (the
   * push fan-out records it on the API server). A failure is logged; the push is still followed
   * here, and the poller brings the others along.
   */
  onPush?: (push: { ref: string; revision: string }) => Promise<void>;
}

/** How a delivery was answered. */
export type DeliveryOutcome = "accepted" | "ping" | "ignored" | "duplicate" | "rejected";

/** One delivery, as `/status` shows it. */
export interface DeliveryRecord {
  time: string;
  provider: Provider | null;
  event: string | null;
  id: string | null;
  outcome: DeliveryOutcome;
  /** The HTTP status answered. */
  status: number;
  /** Why it was ignored or rejected. */
  detail?: string;
}

/** What became of the last accepted push. */
export interface PushRecord {
  time: string;
  provider: Provider;
  id: string | null;
  ref: string;
  revision: string;
  /**
   * `syncing` until one of: `live` (the pushed commit serves), `superseded` (a newer push came
   * first), `failed` (the commit cannot be used, see `error`), `timed-out` (not live within the
   * deadline; the poller will keep trying).
   */
  state: "syncing" | "live" | "superseded" | "failed" | "timed-out";
  /** Syncs run for it so far. */
  attempts: number;
  /** Milliseconds from the delivery to the commit being live. */
  liveAfterMs?: number;
  error?: string;
}

/** The `webhook` key of `/status`. */
export interface WebhookStatus {
  enabled: true;
  lastDelivery: DeliveryRecord | null;
  lastPush: PushRecord | null;
}

type Target = { after: string; started: number; deadline: number; record: PushRecord };
type Answer = { status: number; body: unknown; outcome: DeliveryOutcome; detail?: string };

const MAX_ID_LENGTH = 200;
const MAX_RETRY_DELAY_MS = 2000;

/** Receives signed push deliveries and keeps the live index up with them. */
export class WebhookReceiver {
  readonly #secret: WebhookSecret;
  readonly #options: WebhookReceiverOptions;
  readonly #logger: Logger;
  readonly #replays: ReplayCache;
  readonly #unverified: BodyBudget;
  #lastDelivery: DeliveryRecord | null = null;
  #target: Target | undefined;
  #lastPush: PushRecord | null = null;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;

  private constructor(secret: WebhookSecret, options: WebhookReceiverOptions) {
    this.#secret = secret;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#replays = new ReplayCache(options.replay);
    this.#unverified = new BodyBudget(options.maxUnverifiedBytes ?? 16 * options.maxBodyBytes);
  }

  /** Imports the secret and returns a receiver ready to {@linkcode handle} deliveries. */
  static create(options: WebhookReceiverOptions): WebhookReceiver {
    if (options.secret === "") throw new TypeError("the webhook secret must not be empty");
    return new WebhookReceiver(importWebhookSecret(options.secret), options);
  }

  /** Answers one delivery; never throws. */
  async handle(request: Request): Promise<Response> {
    let headers: DeliveryHeaders | null = null;
    try {
      headers = readDeliveryHeaders(request.headers);
      const { status, body, outcome, detail } = await this.#receive(request, headers);
      this.#record(headers, { outcome, status, detail });
      return json(body, status);
    } catch (error) {
      await request.body?.cancel().catch(() => undefined);
      const answer = errorAnswer(error, { logger: this.#logger, request });
      this.#record(headers, {
        outcome: "rejected",
        status: answer.status,
        detail: answer.body.error,
      });
      return json(answer.body, answer.status, answer.headers);
    }
  }

  /** What `/status` shows under `webhook`. */
  status(): WebhookStatus {
    return structuredClone({
      enabled: true,
      lastDelivery: this.#lastDelivery,
      lastPush: this.#lastPush,
    });
  }

  /** Resolves when no push is being followed any more (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  /** Stops following pushes; a sync under way finishes on its own. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  async #receive(request: Request, headers: DeliveryHeaders | null): Promise<Answer> {
    if (!headers) {
      throw new HttpError(
        STATUS_CODE.BadRequest,
        "not a Git webhook delivery: expected an X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event, X-Forgejo-Event or X-Gogs-Event header",
      );
    }
    const { signature } = headers;
    if (signature.kind === "missing" || signature.kind === "malformed") {
      throw new HttpError(STATUS_CODE.Unauthorized, signature.problem);
    }
    if (headers.id !== null && headers.id.length > MAX_ID_LENGTH) {
      throw new HttpError(
        STATUS_CODE.BadRequest,
        `the delivery id is longer than ${MAX_ID_LENGTH} characters`,
      );
    }
    // GitLab sends the secret itself: checked before a byte of the body is read.
    if (signature.kind === "token" && !verifyToken(this.#secret, signature.token)) {
      throw new HttpError(
        STATUS_CODE.Unauthorized,
        `${signature.header} does not match WEBHOOK_SECRET: set the webhook's secret token to it`,
      );
    }
    const type = mediaType(request);
    if (type !== "application/json" && type !== "") {
      throw new HttpError(
        STATUS_CODE.UnsupportedMediaType,
        type === "application/x-www-form-urlencoded"
          ? "form-encoded deliveries are not accepted: set the webhook's content type to application/json"
          : `content type ${type} is not accepted: set the webhook's content type to application/json`,
      );
    }

    const body = await this.#readBody(request);
    let payload: unknown;
    try {
      if (
        signature.kind === "hmac-sha256" &&
        !verifyHmacSha256(this.#secret, body, { signatureHex: signature.hex })
      ) {
        throw new HttpError(
          STATUS_CODE.Unauthorized,
          `${signature.header} does not match the body: the webhook's secret differs from WEBHOOK_SECRET, or the body was changed on the way`,
        );
      }
      // Signed from here on. Only signed deliveries may take a place in the replay cache.
      if (headers.id !== null && !this.#replays.remember(`${headers.provider}:${headers.id}`)) {
        return { status: STATUS_CODE.OK, body: { duplicate: true }, outcome: "duplicate" };
      }
      payload = parseJsonBody(body);
    } finally {
      this.#unverified.give(body.byteLength);
    }
    return await this.#act(headers, payload);
  }

  /** What a signed, new, well-formed delivery asks for, done and answered. */
  async #act(headers: DeliveryHeaders, payload: unknown): Promise<Answer> {
    const decision = decidePush(
      { provider: headers.provider, event: headers.event, payload },
      this.#options.followed,
    );
    switch (decision.action) {
      case "ping":
        return { status: STATUS_CODE.OK, body: { pong: true }, outcome: "ping" };
      case "ignore":
        return {
          status: STATUS_CODE.OK,
          body: { ignored: decision.reason },
          outcome: "ignored",
          detail: decision.reason,
        };
      case "invalid":
        throw new HttpError(STATUS_CODE.BadRequest, decision.reason);
      case "sync":
        await this.#options.onPush?.({ ref: decision.ref, revision: decision.after }).catch(
          (error) =>
            this.#logger.warn("cannot tell the other replicas about the push", {
              revision: decision.after,
              error: String(error?.message ?? error),
            }),
        );
        this.#follow(headers, decision);
        return {
          status: STATUS_CODE.Accepted,
          body: { accepted: true, ref: decision.ref, revision: decision.after },
          outcome: "accepted",
        };
    }
  }

  /** The body, its bytes taken from the unverified budget as they arrive (given back above). */
  async #readBody(request: Request): Promise<Uint8Array> {
    try {
      return await readBody(request, this.#options.maxBodyBytes, {
        budget: this.#unverified,
        upfront: false,
        timeoutMs: this.#options.bodyTimeoutMs ?? 10_000,
      });
    } catch (error) {
      if (error instanceof HttpError && error.status === STATUS_CODE.ContentTooLarge) {
        throw new HttpError(
          STATUS_CODE.ContentTooLarge,
          `the delivery is larger than WEBHOOK_MAX_BYTES (${this.#options.maxBodyBytes} bytes)`,
          { details: { limitBytes: this.#options.maxBodyBytes }, cause: error },
        );
      }
      throw error;
    }
  }

  #record(
    headers: DeliveryHeaders | null,
    answer: { outcome: DeliveryOutcome; status: number; detail?: string },
  ): void {
    const record: DeliveryRecord = {
      time: new Date().toISOString(),
      provider: headers?.provider ?? null,
      event: headers?.event ?? null,
      id: headers?.id ?? null,
      ...answer,
    };
    if (record.detail === undefined) delete record.detail;
    this.#lastDelivery = record;
    try {
      this.#options.onDelivery?.(record);
    } catch (error) {
      this.#logger.error("webhook delivery hook failed", { error: String(error) });
    }
    const { time: _, ...fields } = record;
    // A sender that went away (499) is no fault to warn about.
    if (answer.outcome === "rejected" && answer.status !== STATUS_CODE.ClientClosedRequest) {
      this.#logger.warn("webhook delivery refused", fields);
    } else this.#logger.info("webhook delivery", fields);
  }

  /** Makes `after` the commit to bring live, replacing any older push still being followed. */
  #follow(headers: DeliveryHeaders, push: { ref: string; after: string }): void {
    const now = Date.now();
    if (this.#target) this.#finish(this.#target, "superseded");
    const record: PushRecord = {
      time: new Date(now).toISOString(),
      provider: headers.provider,
      id: headers.id,
      ref: push.ref,
      revision: push.after,
      state: "syncing",
      attempts: 0,
    };
    this.#lastPush = record;
    this.#target = {
      after: push.after,
      started: performance.now(),
      deadline: performance.now() + (this.#options.liveDeadlineMs ?? 10_000),
      record,
    };
    this.#wake?.();
    this.#loop ??= this.#run().finally(() => this.#loop = undefined);
  }

  /** Syncs until the newest pushed commit is live, it fails for good, or time is up. */
  async #run(): Promise<void> {
    const baseDelay = this.#options.retryDelayMs ?? 250;
    while (this.#target && !this.#stopped) {
      const target = this.#target;
      target.record.attempts++;
      let error: unknown;
      try {
        await this.#options.syncer.sync();
      } catch (e) {
        error = e;
      }
      if (this.#target !== target) continue; // a newer push arrived during the sync
      if (this.#options.syncer.index?.revision === target.after) {
        target.record.liveAfterMs = Math.round(performance.now() - target.started);
        this.#finish(target, "live");
        continue;
      }
      if (error instanceof IndexBuildError && error.revision === target.after) {
        this.#finish(target, "failed", error.message);
        continue;
      }
      const left = target.deadline - performance.now();
      if (left <= 0) {
        const why = error instanceof Error
          ? error.message
          : `the Git server still serves ${this.#options.syncer.index?.revision ?? "nothing"}`;
        this.#finish(target, "timed-out", why);
        continue;
      }
      const wait = backoffDelay(target.record.attempts - 1, {
        minTimeout: baseDelay,
        maxTimeout: MAX_RETRY_DELAY_MS,
      });
      await this.#sleep(Math.min(wait, left));
    }
  }

  #finish(target: Target, state: PushRecord["state"], error?: string): void {
    target.record.state = state;
    if (error !== undefined) target.record.error = error;
    if (this.#target === target) this.#target = undefined;
    const fields = {
      revision: target.after,
      id: target.record.id,
      attempts: target.record.attempts,
      liveAfterMs: target.record.liveAfterMs,
      error,
    };
    if (state === "live" || state === "superseded") {
      this.#logger.info(`pushed commit ${state}`, fields);
    } else if (state === "failed") {
      const serving = this.#options.syncer.index
        ? "the last good index keeps serving"
        : "no index yet: publishes answer 503 until a sync succeeds";
      this.#logger.warn(`pushed commit cannot be used; ${serving}`, fields);
    } else this.#logger.warn("pushed commit not live in time; the poller keeps trying", fields);
  }

  /** Waits `ms`, or less when a new push or `stop` wakes the loop. */
  async #sleep(ms: number): Promise<void> {
    const wake = new AbortController();
    this.#wake = () => wake.abort();
    await delay(ms, { signal: wake.signal }).catch(() => undefined);
    this.#wake = undefined;
  }
}

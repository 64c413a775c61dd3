import { assertEquals, assertRejects } from "./support/assert.ts";
import { KubeApiError } from "../src/kube/errors.ts";
import { GaveUpError, withRetries } from "../src/kube/retry.ts";

function budget(ms: number) {
  const started = performance.now();
  return {
    deadline: AbortSignal.timeout(ms),
    remainingMs: () => ms - (performance.now() - started),
  };
}

Deno.test("failures that pass are retried until success", async () => {
  let calls = 0;
  const result = await withRetries(() => {
    calls++;
    if (calls < 3) throw new KubeApiError("busy", { status: 503, reason: "ServiceUnavailable" });
    return Promise.resolve("ok");
  }, { ...budget(5000), baseDelayMs: 1 });
  assertEquals(result, "ok");
  assertEquals(calls, 3);
});

Deno.test("answers a retry cannot fix are not retried", async () => {
  for (
    const [status, reason] of [[400, "BadRequest"], [403, "Forbidden"], [404, "NotFound"], [
      409,
      "AlreadyExists",
    ], [422, "Invalid"]] as const
  ) {
    let calls = 0;
    await assertRejects(() =>
      withRetries(() => {
        calls++;
        throw new KubeApiError("no", { status, reason });
      }, { ...budget(5000), baseDelayMs: 1 }), KubeApiError);
    assertEquals(calls, 1, `${status}`);
  }
});

Deno.test("Retry-After is honoured, and a wait past the deadline gives up at once", async () => {
  let calls = 0;
  const times: number[] = [];
  await withRetries(() => {
    times.push(performance.now());
    if (++calls === 1) {
      throw new KubeApiError("slow down", {
        status: 429,
        reason: "TooManyRequests",
        retryAfterSeconds: 0.2,
      });
    }
    return Promise.resolve();
  }, budget(5000));
  assertEquals(times[1] - times[0] >= 195, true, `waited ${times[1] - times[0]} ms`);

  const started = performance.now();
  const error = await assertRejects(
    () =>
      withRetries(() => {
        throw new KubeApiError("slow down", {
          status: 429,
          reason: "TooManyRequests",
          retryAfterSeconds: 60,
        });
      }, budget(1000)),
    GaveUpError,
    "gave up after 1 attempt",
  );
  assertEquals(error.attempts, 1);
  assertEquals((error.cause as KubeApiError).message, "slow down");
  assertEquals(performance.now() - started < 500, true);
});

Deno.test("a retry the deadline cuts short reports what the API server last answered", async () => {
  // The API server answers 503 at once, then the retry is still waiting for its answer when
  // the publish's time is up: the server kept failing (502), the router did not time out on a
  // silent server (504).
  const { deadline, remainingMs } = budget(300);
  let calls = 0;
  const error = await assertRejects(
    () =>
      withRetries(() => {
        if (++calls === 1) {
          throw new KubeApiError("busy", { status: 503, reason: "ServiceUnavailable" });
        }
        return new Promise<never>((_, reject) => {
          deadline.addEventListener("abort", () => {
            reject(new KubeApiError("no answer in time", { status: 0, reason: "Timeout" }));
          });
        });
      }, { deadline, remainingMs, baseDelayMs: 1 }),
    GaveUpError,
    "gave up after 2 attempts: busy",
  );
  assertEquals([error.status, error.reason, error.attempts], [503, "ServiceUnavailable", 2]);

  // A server that never answered at all is a timeout.
  const silent = budget(100);
  const timedOut = await assertRejects(
    () =>
      withRetries(
        () =>
          new Promise<never>((_, reject) => {
            silent.deadline.addEventListener("abort", () => {
              reject(new KubeApiError("no answer in time", { status: 0, reason: "Timeout" }));
            });
          }),
        { ...silent, baseDelayMs: 1 },
      ),
    GaveUpError,
  );
  assertEquals([timedOut.status, timedOut.reason, timedOut.attempts], [0, "Timeout", 1]);
});

import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import {
  abortable,
  backoffDelay,
  deadline,
  debounce,
  delay,
  isTimeout,
  Limiter,
  pacer,
} from "../src/lib/async.ts";

Deno.test("delay waits, and an abort ends the wait with the signal's reason", async () => {
  const started = performance.now();
  await delay(20);
  assert(performance.now() - started >= 15);
  const controller = new AbortController();
  const waiting = delay(10_000, { signal: controller.signal });
  controller.abort(new Error("stop"));
  await assertRejects(() => waiting, Error, "stop");
  await assertRejects(() => delay(1, { signal: AbortSignal.abort(new Error("early")) }), Error);
});

Deno.test("abortable stops the wait, not the work", async () => {
  const work = Promise.withResolvers<string>();
  const controller = new AbortController();
  const waiting = abortable(work.promise, controller.signal);
  controller.abort(new Error("gone"));
  await assertRejects(() => waiting, Error, "gone");
  work.resolve("done");
  assertEquals(await work.promise, "done");
  assertEquals(await abortable(Promise.resolve(1), new AbortController().signal), 1);
});

Deno.test("deadline rejects with a TimeoutError once the time is up", async () => {
  const never = new Promise<never>(() => {});
  const error = await deadline(never, 10).catch((e) => e);
  assert(isTimeout(error), String(error));
  assertEquals(await deadline(Promise.resolve("in time"), 1000), "in time");
  const controller = new AbortController();
  const waiting = deadline(never, 10_000, { signal: controller.signal });
  controller.abort(new Error("shutdown"));
  await assertRejects(() => waiting, Error, "shutdown");
});

Deno.test("backoffDelay doubles from minTimeout up to maxTimeout, less its jitter", () => {
  const bounds = { minTimeout: 250, maxTimeout: 2000 };
  assertEquals([0, 1, 2, 3, 4, 40].map((n) => backoffDelay(n, bounds)), [
    250,
    500,
    1000,
    2000,
    2000,
    2000,
  ]);
  for (let i = 0; i < 100; i++) {
    const wait = backoffDelay(2, { ...bounds, jitter: 0.5 });
    assert(wait >= 500 && wait <= 1000, `${wait}`);
  }
  assertEquals(backoffDelay(2, { ...bounds, multiplier: 3 }), 2000);
  assertEquals(backoffDelay(1, { ...bounds, multiplier: 3 }), 750);
});

Deno.test("debounce calls once, with the last arguments, after the burst; clear drops it", async () => {
  const calls: number[] = [];
  const debounced = debounce((n: number) => calls.push(n), 20);
  debounced(1);
  debounced(2);
  debounced(3);
  assert(debounced.pending);
  await delay(60);
  assertEquals(calls, [3]);
  assertEquals(debounced.pending, false);
  debounced(4);
  debounced.clear();
  debounced(5);
  debounced.flush();
  assertEquals(calls, [3, 5]);
  const controller = new AbortController();
  const dropped = debounce(() => calls.push(6), 10, { signal: controller.signal });
  dropped();
  controller.abort();
  await delay(30);
  assertEquals(calls, [3, 5]);
});

Deno.test("the limiter lets a fixed number in at once and the rest in order", async () => {
  const limiter = new Limiter(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(Array.from({ length: 6 }, (_, i) =>
    limiter.run(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      order.push(i);
      running--;
    })));
  assertEquals(most, 2);
  assertEquals(order, [0, 1, 2, 3, 4, 5]);
  assertEquals(limiter.queued, 0);
});

Deno.test("a waiter whose deadline passes leaves the queue", async () => {
  const limiter = new Limiter(1);
  const hold = Promise.withResolvers<void>();
  const first = limiter.run(() => hold.promise);
  const waiting = limiter.run(() => Promise.resolve("never"), AbortSignal.timeout(20));
  await assertRejects(() => waiting, DOMException);
  assertEquals(limiter.queued, 0);
  hold.resolve();
  await first;
});

Deno.test("pacer: no pause before its time, then a timer turn that lets other work in", async () => {
  const pause = pacer(20);
  let ran = false;
  setTimeout(() => ran = true, 0);
  await pause(); // within 20 ms of its creation: resolves without a turn
  assertEquals(ran, false);
  const until = performance.now() + 25;
  while (performance.now() < until) {
    // a long synchronous step
  }
  await pause();
  assertEquals(ran, true, "the timer queued before ran during the pause");
});

/**
 * The memory-reducing collection after a build: once the router is quiet, only when the heap is
 * small enough that the pause is short, and not at all without V8's `gc`.
 */

import { assertEquals } from "./support/assert.ts";
import { memoryRelease } from "../src/app/memory_release.ts";

const MB = 2 ** 20;

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

Deno.test("builds in a row get one collection, after the quiet time", async () => {
  const calls: unknown[] = [];
  const memory = memoryRelease({ delayMs: 20, gc: (o) => calls.push(o), heapUsed: () => 20 * MB });
  memory.soon();
  memory.soon();
  memory.soon();
  assertEquals(calls.length, 0);
  await waitFor(() => calls.length > 0);
  await new Promise((r) => setTimeout(r, 60));
  assertEquals(calls, [{ type: "major", execution: "sync", flavor: "last-resort" }]);
});

Deno.test("no collection when the heap is too large for a short pause, or once stopped", async () => {
  const calls: unknown[] = [];
  const large = memoryRelease({ delayMs: 1, gc: (o) => calls.push(o), heapUsed: () => 90 * MB });
  large.soon();
  const stopped = memoryRelease({ delayMs: 1, gc: (o) => calls.push(o), heapUsed: () => MB });
  stopped.soon();
  stopped.stop();
  const control = memoryRelease({
    delayMs: 30,
    gc: () => calls.push("control"),
    heapUsed: () => MB,
  });
  control.soon();
  await waitFor(() => calls.includes("control"));
  assertEquals(calls, ["control"]);
});

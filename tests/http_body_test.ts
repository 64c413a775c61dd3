import { assert, assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { BodyBudget, parseJsonBody, readBody } from "../src/http/body.ts";
import { errorAnswer } from "../src/http/error_response.ts";
import { HttpError, RequestAbortedError } from "../src/http/http_error.ts";

function streamed(chunks: number, size: number): { request: Request; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size));
    },
  });
  return {
    request: new Request("http://x/", { method: "POST", body }),
    pulled: () => pulled,
  };
}

Deno.test("a body without Content-Length stops being read once past the limit", async () => {
  const { request, pulled } = streamed(1000, 1024);
  const error = await assertRejects(() => readBody(request, 4096), HttpError);
  assertEquals(error.status, 413);
  assertEquals(pulled() <= 6, true, `read ${pulled()} chunks of 1000`);
});

Deno.test("a declared Content-Length over the limit is refused before reading", async () => {
  const request = new Request("http://x/", {
    method: "POST",
    body: "x".repeat(10),
    headers: { "content-length": "10" },
  });
  const error = await assertRejects(() => readBody(request, 5), HttpError);
  assertEquals(error.status, 413);
});

Deno.test("a body within the limit is read whole, in several chunks", async () => {
  const { request } = streamed(4, 1000);
  assertEquals((await readBody(request, 4000)).byteLength, 4000);
});

Deno.test("parseJsonBody parses strict UTF-8 JSON and answers 400 saying why otherwise", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  assertEquals(parseJsonBody(bytes('{"a":[1,"é"]}')), { a: [1, "é"] });
  for (const bad of [bytes("{"), bytes(""), new Uint8Array([0x22, 0xff, 0x22])]) {
    const error = assertThrows(() => parseJsonBody(bad), HttpError);
    assertEquals(error.status, 400);
    assertEquals(error.message.startsWith("the body is not valid JSON"), true);
  }
});

/** A request whose body stream counts the chunks pulled from it. */
function counted(
  chunks: Uint8Array[],
  headers: Record<string, string> = {},
): { request: Request; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks.length) return controller.close();
      controller.enqueue(chunks[pulled++]);
    },
  });
  const request = new Request("http://x/", { method: "POST", body, headers });
  return { request, pulled: () => pulled };
}

Deno.test("a declared body that does not fit in the budget gets 503 before a byte is read", async () => {
  const budget = new BodyBudget(1000);
  assert(budget.tryTake(600));
  const { request, pulled } = counted([new Uint8Array(500)], { "content-length": "500" });
  const error = await assertRejects(() => readBody(request, 1000, { budget }), HttpError);
  assertEquals(error.status, 503);
  assertEquals(error.headers["retry-after"], "1");
  assertEquals(pulled(), 0, "nothing was read");
  assertEquals(budget.used, 600, "nothing stays taken");
});

Deno.test("a body's bytes stay taken until given back; a refused body gives them back", async () => {
  const budget = new BodyBudget(1000);
  const ok = counted([new Uint8Array(300), new Uint8Array(100)], { "content-length": "400" });
  const body = await readBody(ok.request, 1000, { budget });
  assertEquals(budget.used, 400);
  budget.give(body.byteLength);
  assertEquals(budget.used, 0);

  const tooLarge = counted([new Uint8Array(600), new Uint8Array(600)]);
  const error = await assertRejects(() => readBody(tooLarge.request, 1000, { budget }), HttpError);
  assertEquals(error.status, 413);
  assertEquals(budget.used, 0);
});

Deno.test("without a declared length, bytes are taken as they arrive; past the budget, 503", async () => {
  const budget = new BodyBudget(1000);
  assert(budget.tryTake(500));
  const { request, pulled } = counted(Array.from({ length: 8 }, () => new Uint8Array(100)));
  const error = await assertRejects(() => readBody(request, 10_000, { budget }), HttpError);
  assertEquals(error.status, 503);
  assertEquals(pulled() <= 7, true, `read ${pulled()} chunks`);
  assertEquals(budget.used, 500);
});

Deno.test("upfront: false takes only what arrives, whatever the declared length", async () => {
  const budget = new BodyBudget(1000);
  const { request } = counted([new Uint8Array(10)], { "content-length": "10" });
  const stalled = new Request("http://x/", {
    method: "POST",
    headers: { "content-length": "900" },
    body: new ReadableStream({ pull: () => new Promise(() => {}) }),
  });
  const waiting = readBody(stalled, 1000, { budget, upfront: false, timeoutMs: 200 });
  const body = await readBody(request, 1000, { budget, upfront: false });
  assertEquals(body.byteLength, 10);
  assertEquals((await assertRejects(() => waiting, HttpError)).status, 408);
  assertEquals(budget.used, 10);
});

Deno.test("a body that stalls gets 408 after timeoutMs, and its bytes are given back", async () => {
  const budget = new BodyBudget(1000);
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return new Promise(() => {});
      sent = true;
      controller.enqueue(new Uint8Array(100));
    },
  });
  const request = new Request("http://x/", { method: "POST", body });
  const error = await assertRejects(
    () => readBody(request, 1000, { budget, timeoutMs: 100 }),
    HttpError,
  );
  assertEquals(error.status, 408);
  assertEquals(error.message, "the body did not arrive within 0.1 s");
  assertEquals(budget.used, 0);
});

Deno.test("a client that goes away mid-body is a RequestAbortedError, answered 499", async () => {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(new Error("connection reset"));
      sent = true;
      controller.enqueue(new Uint8Array(10));
    },
  });
  const request = new Request("http://x/", { method: "POST", body });
  const error = await assertRejects(() => readBody(request, 1000), RequestAbortedError);
  assertEquals(errorAnswer(error).status, 499);
  assertEquals(errorAnswer(error).unexpected, false);
});

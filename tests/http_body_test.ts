import { assertEquals, assertRejects, assertThrows } from "./support/assert.ts";
import { parseJsonBody, readBody } from "../src/http/body.ts";
import { HttpError } from "../src/http/http_error.ts";

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

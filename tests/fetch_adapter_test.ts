/**
 * `toRequest`: a `node:http` request becomes the web `Request` the handlers read, its headers
 * as `Headers` would hold them whatever names the client sent.
 */

import { createServer, type IncomingMessage } from "node:http";
import { assertEquals } from "./support/assert.ts";
import { toRequest } from "../src/app/fetch_adapter.ts";

/** The headers `toRequest` gives for a request sent with `lines` as its header lines. */
async function headersFor(lines: string[]): Promise<[string, string][]> {
  const seen = Promise.withResolvers<[string, string][]>();
  const server = createServer((req: IncomingMessage, res) => {
    const request = toRequest(req);
    seen.resolve(request instanceof Request ? [...request.headers] : [["status", "400"]]);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = ["GET / HTTP/1.1", "Host: router.test", ...lines, "Connection: close", "", ""];
  await conn.write(new TextEncoder().encode(head.join("\r\n")));
  const headers = await seen.promise;
  await conn.readable.cancel().catch(() => undefined);
  await new Promise((resolve) => server.close(resolve));
  return headers;
}

Deno.test("repeated headers are joined as Headers joins them, any name kept as data", async () => {
  const headers = await headersFor([
    "X-Tag: a",
    "x-tag: b",
    "Constructor: c",
    "toString: d",
  ]);
  assertEquals(headers, [
    ["connection", "close"],
    ["constructor", "c"],
    ["host", "router.test"],
    ["tostring", "d"],
    ["x-tag", "a, b"],
  ]);
  assertEquals(
    await headersFor(["__proto__: p", "Set-Cookie: a=1", "set-cookie: b=2"]),
    [
      ["__proto__", "p"],
      ["connection", "close"],
      ["host", "router.test"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ],
  );
});

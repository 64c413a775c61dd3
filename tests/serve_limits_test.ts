/**
 * Both HTTP servers keep the same limits (`serve_native.ts`, which the router uses on this
 * Deno, and `serve_node.ts`, its fallback), tested in-process with raw TCP clients: a slow
 * head, an idle kept-alive connection, a stalled body, an error answer before the body, the
 * connection cap with idle connections making room, a handler that throws, and a graceful
 * shutdown that lets a request in flight finish. The router as a whole is tested against the
 * same limits in `http_limits_e2e_test.ts`.
 *
 * Timing: every limit is 300 ms; each assertion allows ten seconds, and "not before" bounds are
 * only ones a timer cannot break (a timeout never fires early).
 */

import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { jsonBodyOf, RawConnection, statusOf } from "./support/raw_http.ts";
import { readBody } from "../src/http/body.ts";
import { HttpError } from "../src/http/http_error.ts";
import { nativeServing, serveNative } from "../src/app/serve_native.ts";
import { serveNode } from "../src/app/serve_node.ts";
import type { ServeOptions, Server } from "../src/app/server_options.ts";

const LIMIT_MS = 300;
const MARGIN_MS = 10_000;
const answered = (received: string) => /\r\n\r\n/.test(received);

/** Resolved when a `/slow` request has reached the handler. */
let slowArrived = Promise.withResolvers<void>();

/** `/read` reads the body within the limits; `/refuse` answers 503 without reading it. */
async function handler(request: Request): Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path === "/throw") throw new Error("a bug");
  if (path === "/refuse") return Response.json({ error: "full" }, { status: 503 });
  if (path === "/slow") {
    slowArrived.resolve();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (path !== "/read") return Response.json({ ok: true });
  try {
    const body = await readBody(request, 1000, { timeoutMs: LIMIT_MS });
    return Response.json({ bytes: body.byteLength });
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return Response.json({ error: error.message }, { status: error.status });
  }
}

const servers: [string, typeof serveNative][] = [["node:http", serveNode]];
if (nativeServing()) servers.unshift(["Deno's server", serveNative]);
assert(nativeServing(), "this Deno serves connection by connection, as the router expects");

for (const [name, serve] of servers) {
  const start = (options: Partial<ServeOptions> = {}) =>
    serve(handler, {
      hostname: "127.0.0.1",
      port: 0,
      headerTimeoutMs: LIMIT_MS,
      bodyTimeoutMs: LIMIT_MS,
      idleTimeoutMs: LIMIT_MS,
      maxConnections: 100,
      ...options,
    });
  const urlOf = (server: Server) => `http://127.0.0.1:${server.port}`;

  Deno.test(`${name}: slow heads, idle connections and stalled bodies are closed`, async (t) => {
    const server = await start();
    const url = urlOf(server);
    try {
      await t.step("a head that never ends: closed, at most with a 408", async () => {
        const conn = await RawConnection.open(url);
        await conn.send("POST /read HTTP/1.1\r\nHost: x\r\n");
        const trickle = setInterval(() => conn.send("X-Slow: yes\r\n"), 50);
        try {
          const closedAfter = await conn.closedWithin(MARGIN_MS);
          assert(closedAfter >= LIMIT_MS, `closed after ${closedAfter} ms`);
        } finally {
          clearInterval(trickle);
        }
        assert([undefined, 408].includes(statusOf(conn.received)), conn.received);
      });

      await t.step("a kept-alive connection left idle: closed after the idle timeout", async () => {
        const conn = await RawConnection.open(url);
        await conn.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
        await conn.waitFor(answered, MARGIN_MS);
        assertEquals(statusOf(conn.received), 200);
        const closedAfter = await conn.closedWithin(MARGIN_MS);
        assert(closedAfter >= LIMIT_MS, `closed after ${closedAfter} ms`);
      });

      await t.step("a body that stalls: 408, connection: close, closed", async () => {
        const conn = await RawConnection.open(url);
        await conn.send(
          "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nthe first ten",
        );
        await conn.closedWithin(MARGIN_MS);
        assertEquals(statusOf(conn.received), 408);
        assertMatch(conn.received, /\r\nconnection: close\r\n/i);
      });

      await t.step("an error answer before the body is sent: answered, closed", async () => {
        const conn = await RawConnection.open(url);
        await conn.send("POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
        await conn.closedWithin(MARGIN_MS);
        assertEquals(statusOf(conn.received), 503);
        assertEquals(jsonBodyOf(conn.received), { error: "full" });
      });

      await t.step("a body sent in full: answered, and the connection is kept", async () => {
        const conn = await RawConnection.open(url);
        await conn.send("POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        await conn.waitFor(answered, MARGIN_MS);
        assertEquals(jsonBodyOf(conn.received), { bytes: 5 });
        assertMatch(conn.received, /\r\nkeep-alive: timeout=\d+\r\n/i);
        assert(conn.open, "closed right after a good answer");
        await conn.close();
      });

      await t.step("a handler that throws: 500 with JSON, and serving goes on", async () => {
        const thrown = await fetch(`${url}/throw`);
        assertEquals(thrown.status, 500);
        assertEquals(Object.keys(await thrown.json()), ["error"]);
        const next = await fetch(`${url}/ok`);
        assertEquals(await next.json(), { ok: true });
      });
    } finally {
      await server.shutdown(1000);
    }
  });

  Deno.test(`${name}: connections beyond the cap are closed; idle ones make room`, async () => {
    const opened: number[] = [];
    const server = await start({
      maxConnections: 3,
      headerTimeoutMs: 60_000,
      idleTimeoutMs: 60_000,
      onConnections: (open) => opened.push(open),
    });
    const url = urlOf(server);
    const held: RawConnection[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const conn = await RawConnection.open(url);
        await conn.send("GET /ok HTTP/1.1\r\nHost: x\r\n");
        held.push(conn);
      }
      const extra = await RawConnection.open(url);
      await extra.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
      await extra.closedWithin(MARGIN_MS);
      assertEquals(extra.received, "", "the connection beyond the cap got no answer");
      for (const conn of held) {
        assert(conn.open, "a connection within the cap was closed");
        await conn.send("\r\n");
        await conn.waitFor(answered, MARGIN_MS);
      }
      // All three are idle now: a new one closes the longest idle and is served.
      const next = await RawConnection.open(url);
      await next.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
      await next.waitFor(answered, MARGIN_MS);
      assertEquals(statusOf(next.received), 200);
      await held[0].closedWithin(MARGIN_MS);
      assert(held[1].open && held[2].open, "only the longest idle one was closed");
      assertEquals(Math.max(...opened), 3);
      await next.close();
    } finally {
      for (const conn of held) await conn.close();
      await server.shutdown(1000);
    }
  });

  Deno.test(`${name}: shutdown lets a request in flight finish, then refuses`, async () => {
    const server = await start();
    const url = urlOf(server);
    const idle = await RawConnection.open(url);
    await idle.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    await idle.waitFor(answered, MARGIN_MS);
    slowArrived = Promise.withResolvers<void>();
    const slow = fetch(`${url}/slow`);
    await slowArrived.promise;
    assertEquals(await server.shutdown(5_000), true);
    assertEquals(await (await slow).json(), { ok: true });
    await idle.closedWithin(MARGIN_MS);
    const refused = await fetch(`${url}/ok`).then(() => false, () => true);
    assert(refused, "a new request was served after shutdown");
  });
}

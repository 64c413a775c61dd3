/**
 * `route()` behaves as the standard library's: first match wins, `method` defaults to GET and
 * may list several, anything else goes to the default handler with the params of no route.
 */

import { assertEquals } from "./support/assert.ts";
import { type Route, route } from "../src/http/route.ts";

const pattern = (pathname: string) => new URLPattern({ pathname });
const answer = (text: string) => () => new Response(text);

const routes: Route[] = [
  {
    pattern: pattern("/items/:id"),
    handler: (_r, params) => new Response(params?.pathname.groups.id),
  },
  { pattern: pattern("/items/*"), method: ["POST", "PUT"], handler: answer("write") },
  { pattern: pattern("/items/first"), handler: answer("never: an earlier route matches") },
];
const handle = route(
  routes,
  (request) => new Response(`default ${request.method}`, { status: 404 }),
);

async function call(path: string, method = "GET"): Promise<[number, string]> {
  const response = await handle(new Request(`http://router.test${path}`, { method }));
  return [response.status, await response.text()];
}

Deno.test("the first route whose pattern and method match answers, with its params", async () => {
  assertEquals(await call("/items/first"), [200, "first"]);
  assertEquals(await call("/items/7", "PUT"), [200, "write"]);
  assertEquals(await call("/items/7", "POST"), [200, "write"]);
});

Deno.test("a method no route takes, or a path none matches, goes to the default handler", async () => {
  assertEquals(await call("/items/7", "DELETE"), [404, "default DELETE"]);
  assertEquals(await call("/elsewhere"), [404, "default GET"]);
});

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

Deno.test("patterns match as URLPattern does, whatever their literal start", async () => {
  const handle = route([
    { pattern: pattern("/a{/}?"), handler: answer("a") },
    { pattern: pattern("/files/(.*)"), handler: answer("files") },
    {
      pattern: pattern("/%C3%A9t%C3%A9/:x"),
      handler: (_r, p) => new Response(p?.pathname.groups.x),
    },
    { pattern: new URLPattern({ search: "q=1" }), handler: answer("any path, q=1") },
  ], () => new Response("default", { status: 404 }));
  const call = async (path: string) => {
    const response = await handle(new Request(`http://router.test${path}`));
    return [response.status, await response.text()];
  };
  assertEquals(await call("/a"), [200, "a"]);
  assertEquals(await call("/a/"), [200, "a"]);
  assertEquals(await call("/ab"), [404, "default"]);
  assertEquals(await call("/files/x/y?z=/a"), [200, "files"]);
  assertEquals(await call("/été/1"), [200, "1"]);
  assertEquals(await call("/elsewhere?q=1"), [200, "any path, q=1"]);
  assertEquals(await call("/a?q=1"), [200, "a"]);
});

// deno-lint-ignore-file no-explicit-any -- tests read deep into Kubernetes objects
/**
 * End to end, over HTTP: what the web page is served with (security and cache headers, HEAD,
 * revalidation) and the API fields it reads that exist for it: `/status`'s mode, namespace and
 * poll interval, `/topics`' kinds and values, and `POST /render/<topic>`, which renders without
 * writing anything to the API server. The page itself is tested in a browser in
 * `web_browser_e2e_test.ts`.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { startStack } from "./support/fixtures.ts";
import { WEB_FILES } from "./support/web_fixtures.ts";

Deno.test("the page is served with a strict CSP, cache headers, HEAD and revalidation", async (t) => {
  const stack = await startStack({ files: WEB_FILES, env: { PUBLISH_TOKEN: "web-token" } });
  const { router } = stack;
  try {
    let html = "";
    let etag = "";
    await t.step("GET / is the page, open without the token", async () => {
      const response = await router.fetch("/");
      html = await response.text();
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
      assertStringIncludes(response.headers.get("content-security-policy")!, "default-src 'self'");
      assertStringIncludes(
        response.headers.get("content-security-policy")!,
        "frame-ancestors 'none'",
      );
      assertEquals(response.headers.get("x-content-type-options"), "nosniff");
      assertEquals(response.headers.get("cache-control"), "no-cache");
      etag = response.headers.get("etag")!;
      assertMatch(etag, /^"[0-9a-f]{32}"$/);
      assertStringIncludes(html, "<title>gitfaas</title>");
      assert(!/<script>|\sstyle=|\son\w+=/.test(html), "no inline script, style or handler");
    });

    await t.step("the page's assets are addressed by content and kept for a year", async () => {
      const script = /src="(\/assets\/app\.js\?v=[0-9a-f]{12})"/.exec(html)?.[1];
      const style = /href="(\/assets\/app\.css\?v=[0-9a-f]{12})"/.exec(html)?.[1];
      assert(script && style, html);
      const js = await router.fetch(script);
      const body = await js.text();
      assertEquals(js.status, 200);
      assertEquals(js.headers.get("content-type"), "text/javascript; charset=utf-8");
      assertEquals(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assertStringIncludes(body, "sessionStorage");
      const css = await router.fetch(style);
      await css.body?.cancel();
      assertEquals(css.headers.get("content-type"), "text/css; charset=utf-8");
      const stale = await router.fetch("/assets/app.js?v=000000000000");
      await stale.body?.cancel();
      assertEquals(stale.status, 200);
      assertEquals(stale.headers.get("cache-control"), "no-cache");
    });

    await t.step("HEAD answers the headers without the body", async () => {
      const response = await router.fetch("/", { method: "HEAD" });
      assertEquals(response.status, 200);
      assertEquals(await response.text(), "");
      assertEquals(response.headers.get("etag"), etag);
      assertEquals(response.headers.get("content-length"), String(new Blob([html]).size));
    });

    await t.step("a known ETag gets 304 with no body", async () => {
      const response = await router.fetch("/", { headers: { "if-none-match": etag } });
      assertEquals(response.status, 304);
      assertEquals(await response.text(), "");
      assertEquals(response.headers.get("etag"), etag);
    });

    await t.step("unknown assets and other methods get JSON errors", async () => {
      const missing = await router.call("/assets/nothing.js");
      assertEquals(missing.status, 404);
      assertStringIncludes(missing.body.error, "/assets/nothing.js");
      const post = await router.call("/", { method: "POST" });
      assertEquals(post.status, 405);
      assertEquals(post.headers.get("allow"), "GET, HEAD");
    });

    await t.step("the data the page shows needs the token", async () => {
      for (const path of ["/status", "/topics"]) {
        assertEquals((await router.call(path)).status, 401, path);
      }
      const render = await router.call("/render/echo", { method: "POST", body: "" });
      assertEquals(render.status, 401);
    });
  } finally {
    await stack.close();
  }
});

Deno.test("status, topics and render give the page what it shows", async (t) => {
  const stack = await startStack({ files: WEB_FILES, env: { GIT_POLL_INTERVAL: "45" } });
  const { router, kube } = stack;
  const render = (path: string, body: string, type = "application/json") =>
    router.call(path, { method: "POST", body, headers: { "content-type": type } });
  try {
    await t.step("/status says how the router runs", async () => {
      const { status, body } = await router.call("/status");
      assertEquals(status, 200);
      assertEquals(body.mode, "apply");
      assertEquals(body.namespace, "default");
      assertEquals(body.pollIntervalSeconds, 45);
      assertMatch(body.revision, /^[0-9a-f]{40}$/);
      assert(body.indexBuiltAt);
      assertEquals(Object.keys(body.unusableTopics), ["secret"]);
    });

    await t.step("/topics lists the kinds each topic creates and the values it takes", async () => {
      const { body } = await router.call("/topics");
      const echo = body.topics.find((t: any) => t.name === "echo");
      assertEquals(echo.kinds, [{ apiVersion: "batch/v1", kind: "Job" }]);
      assertEquals(echo.values, ["replicas", "greeting"]);
      const secret = body.topics.find((t: any) => t.name === "secret");
      assertEquals(secret.kinds, [{ apiVersion: "v1", kind: "Secret" }]);
      assertEquals(secret.usable, false);
    });

    await t.step("render shows the objects a publish would apply, and applies none", async () => {
      const before = kube.requests.filter((r) => r.method !== "GET").length;
      const { status, body } = await render("/render/echo?greeting=hi&replicas=2", '{"a":1}');
      assertEquals(status, 200, JSON.stringify(body));
      assertEquals(body.topic, "echo");
      assertEquals(body.revision, (await router.call("/status")).body.revision);
      assertEquals(body.problems, []);
      assertEquals(body.objects.length, 1);
      const [job] = body.objects;
      assertEquals([job.kind, job.apiVersion, job.namespace, job.manifest], [
        "Job",
        "batch/v1",
        "default",
        "echo.yaml",
      ]);
      assertMatch(job.name, /^echo-[a-z0-9]{10}$/);
      assertEquals(job.object.spec.parallelism, 2);
      const env = job.object.spec.template.spec.containers[0].env;
      assertEquals(env.find((e: any) => e.name === "GREETING").value, "hi");
      assertEquals(atob(env.find((e: any) => e.name === "MESSAGE").value), '{"a":1}');
      assertEquals(job.object.metadata.labels["gitfaas.io/topic"], "echo");
      assertEquals(kube.objects({ kind: "Job" }), []);
      assertEquals(kube.requests.filter((r) => r.method !== "GET").length, before);
    });

    await t.step(
      "a value that moves an object out of the allowed namespaces is a problem",
      async () => {
        const { status, body } = await render("/render/placed?ns=kube-system", "");
        assertEquals(status, 200);
        assertEquals(body.objects[0].namespace, "kube-system");
        assertMatch(body.objects[0].name, /^placed-[a-z0-9]{5}$/);
        assertEquals(body.problems.length, 1);
        assertStringIncludes(body.problems[0], "placed.yaml: document 1 (Job");
        assertStringIncludes(body.problems[0], 'namespace "kube-system" is not allowed');
        const fine = await render("/render/placed?ns=default", "");
        assertEquals(fine.body.problems, []);
      },
    );

    await t.step("a value that makes no valid name is a problem", async () => {
      const bad = await render("/render/named?name=Not_A_Name", "");
      assertEquals(bad.body.problems, [
        'named.yaml: document 1 (ConfigMap "Not_A_Name"): metadata.name "Not_A_Name" is not a ' +
        "valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter " +
        "or digit, at most 253 characters",
      ]);
      const none = await render("/render/named", "");
      assertEquals(none.body.problems, [
        "named.yaml: document 1 (ConfigMap): metadata.name is empty, and there is no " +
        "metadata.generateName",
      ]);
      assertEquals((await render("/render/named?name=fine", "")).body.problems, []);
    });

    await t.step("an unusable topic renders, with the index build's problems", async () => {
      const { status, body } = await render("/render/secret", "hello", "text/plain");
      assertEquals(status, 200);
      assertEquals(body.objects[0].kind, "Secret");
      assert(body.problems.length >= 1);
      assertStringIncludes(body.problems[0], "secret.yaml");
      assertStringIncludes(body.problems.join("\n"), "Secret is a denied kind (DENIED_KINDS)");
    });

    await t.step("bad requests get the publish's errors", async () => {
      const unknown = await render("/render/nope", "");
      assertEquals(unknown.status, 404);
      assertStringIncludes(unknown.body.error, 'unknown topic "nope"');
      const badJson = await render("/render/echo", "{not json");
      assertEquals(badJson.status, 400);
      assertStringIncludes(badJson.body.error, "not valid JSON");
      const get = await router.call("/render/echo");
      assertEquals(get.status, 405);
    });
  } finally {
    await stack.close();
  }
});

/**
 * The floors a publish is compared with, each an HTTP server in its own process:
 *
 * - `bare`: reading the body and answering 202: the cost of HTTP alone.
 * - `proxy`: the same, plus one request per manifest to the API server simulator, sent like a
 *   publish sends it (server-side apply of a new Job, JSON body, bearer token, kept-alive
 *   HTTP/1.1 connections). Over HTTPS (SIM_CA set) through a `Deno.HttpClient` holding the CA,
 *   HTTP/1.1 only; over plain HTTP (no SIM_CA) through `fetch`'s default client: both exactly
 *   as `src/kube/connection.ts` does. `POST /?hops=3` makes three in a row, like a
 *   three-manifest topic.
 *
 * Each on one of three servers, with the same handler: `deno` (`Deno.serve`), `native`: the
 * router's server (`serveNative()` of `src/app/serve_native.ts`, Deno's server connection by
 * connection with the router's limits), or `node`: the
 * router's `node:http` server, `serveNode()` of `src/app/serve_node.ts` (with the router's default
 * timeouts and connection cap, requests turned into web `Request`s by `fetch_adapter.ts`), so
 * the difference between the two is what the router pays for its choice of server.
 *
 * Prints `{port, pid}` when listening.
 * Run: `deno run -A bench/floor_server.ts bare|proxy [deno|node|native]` (proxy reads SIM_URL,
 * SIM_TOKEN and, for HTTPS, SIM_CA).
 * @module
 */

import { serveNative } from "../src/app/serve_native.ts";
import { serveNode } from "../src/app/serve_node.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { reply } from "./lib/child.ts";

const [mode, serverKind = "deno"] = Deno.args;
const NAMESPACE = "default";

function bare(request: Request): Promise<Response> {
  return request.arrayBuffer().then(() =>
    new Response('{"ok":true}\n', { status: 202, headers: { "content-type": "application/json" } })
  );
}

function proxy(): (request: Request) => Promise<Response> {
  const server = Deno.env.get("SIM_URL")!;
  const ca = Deno.env.get("SIM_CA");
  // HTTP/1.1 over TLS, the default client over plain HTTP, like the router (see
  // src/kube/connection.ts).
  const client = ca
    ? Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(ca)], http2: false })
    : undefined;
  const headers = {
    authorization: `Bearer ${Deno.env.get("SIM_TOKEN")}`,
    accept: "application/json",
    "content-type": "application/apply-patch+yaml",
  };
  return async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    const hops = Number(new URL(request.url).searchParams.get("hops") ?? 1);
    const names: string[] = [];
    for (let i = 0; i < hops; i++) {
      const name = `floor-${crypto.randomUUID().slice(0, 13)}`;
      const response = await fetch(
        `${server}/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${name}?fieldManager=gitfaas&force=true`,
        { method: "PATCH", headers, body: JSON.stringify(job(name, body)), client },
      );
      const text = await response.text();
      if (response.status !== 201) return new Response(text, { status: 502 });
      names.push(JSON.parse(text).metadata.name);
    }
    return new Response(JSON.stringify({ names }) + "\n", {
      status: 202,
      headers: { "content-type": "application/json" },
    });
  };
}

/** A Job the size and shape of the one a publish renders. */
function job(name: string, body: Uint8Array) {
  const labels = {
    "app.kubernetes.io/managed-by": "gitfaas",
    "gitfaas.io/topic": "job",
    "gitfaas.io/request-uuid": crypto.randomUUID(),
  };
  const message = btoa(String.fromCharCode(...body));
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NAMESPACE, labels },
    spec: {
      ttlSecondsAfterFinished: 600,
      backoffLimit: 2,
      parallelism: 1,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          containers: [{
            name: "echo",
            image: "busybox",
            env: [
              { name: "MESSAGE", value: message },
              { name: "REQUEST_UUID", value: labels["gitfaas.io/request-uuid"] },
              { name: "TOPIC", value: "job" },
              { name: "FUNCTION_UID", value: crypto.randomUUID() },
              { name: "GREETING", value: "hello" },
            ],
          }],
        },
      },
    },
  };
}

const handler = mode === "bare" ? bare : mode === "proxy" ? proxy() : undefined;
if (!handler || !["deno", "node", "native"].includes(serverKind)) {
  throw new Error(
    `usage: floor_server.ts bare|proxy [deno|node|native], got ${Deno.args.join(" ")}`,
  );
}
const limits = {
  hostname: "127.0.0.1",
  port: 0,
  headerTimeoutMs: DEFAULTS.headerTimeoutMs,
  bodyTimeoutMs: DEFAULTS.bodyTimeoutMs,
  idleTimeoutMs: DEFAULTS.idleTimeoutMs,
  maxConnections: DEFAULTS.maxConnections,
};
const port = serverKind === "deno"
  ? Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler).addr.port
  : serverKind === "node"
  ? (await serveNode(handler, limits)).port
  : (await serveNative(handler, limits)).port;
reply({ port, pid: Deno.pid });
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

/**
 * The floors a publish is compared with, each an HTTP server in its own process:
 *
 * - `bare`: `Deno.serve` reading the body and answering 202: the cost of HTTP alone.
 * - `proxy`: the same, plus one request per manifest to the API server simulator, sent like a
 *   publish sends it (server-side apply of a new Job, JSON body, bearer token, TLS with the
 *   simulator's CA, kept-alive HTTP/1.1 connections). `POST /?hops=3` makes three in a row, like a
 *   three-manifest topic.
 *
 * Prints `{port}` when listening.
 * Run: `deno run -A bench/floor_server.ts bare|proxy` (proxy reads SIM_URL, SIM_TOKEN, SIM_CA).
 * @module
 */

import { reply } from "./lib/child.ts";

const mode = Deno.args[0];
const NAMESPACE = "default";

function bare(request: Request): Promise<Response> {
  return request.arrayBuffer().then(() =>
    new Response('{"ok":true}\n', { status: 202, headers: { "content-type": "application/json" } })
  );
}

function proxy(): (request: Request) => Promise<Response> {
  const server = Deno.env.get("SIM_URL")!;
  // HTTP/1.1, like the router (see src/kube/connection.ts).
  const client = Deno.createHttpClient({
    caCerts: [Deno.readTextFileSync(Deno.env.get("SIM_CA")!)],
    http2: false,
  });
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
if (!handler) throw new Error(`usage: floor_server.ts bare|proxy, got ${mode}`);
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
reply({ port: server.addr.port, pid: Deno.pid });
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

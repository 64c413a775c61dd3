/**
 * The upstream project's way to publish, for comparison: render each manifest of the topic
 * with `Mustache.render` (text templating), then run `kubectl apply -f -` as a subprocess per
 * manifest, one after the other, against the API server simulator over TLS.
 *
 * Prints `{port, kubectl}` when listening.
 * Run: `deno run -A bench/upstream_server.ts <kubectl> <kubeconfig> <dir>`.
 * @module
 */

import { Buffer } from "node:buffer";
import Mustache from "mustache";
import { reply } from "./lib/child.ts";
import { FILES, TOPICS } from "./lib/templates.ts";

const [kubectl, kubeconfig, dir] = Deno.args;
const encoder = new TextEncoder();

function random(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(length)), (b) => alphabet[b % 36])
    .join("");
}

/** Runs `kubectl apply -f -` with `yaml` on its standard input. */
async function apply(yaml: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(kubectl, {
    args: [`--kubeconfig=${kubeconfig}`, `--cache-dir=${dir}/cache`, "apply", "-f", "-"],
    env: { HOME: dir },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(yaml));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const output = new TextDecoder().decode(code === 0 ? stdout : stderr).trim();
  return { code, output };
}

async function publish(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const topic = url.pathname.replace(/^\/publish\//, "");
  const files = TOPICS[topic];
  if (!files) return new Response("unknown topic\n", { status: 404 });
  const body = new Uint8Array(await request.arrayBuffer());
  const values: Record<string, string> = Object.fromEntries(url.searchParams);
  values.MESSAGE = values.PAYLOAD = Buffer.from(body).toString("base64");
  values.REQUEST_UUID = crypto.randomUUID();
  values.TOPIC = topic;
  const applied: string[] = [];
  for (const file of files) {
    const yaml = Mustache.render(FILES[file], {
      ...values,
      RANDOM: random(10),
      FUNCTION_UID: crypto.randomUUID(),
    });
    const { code, output } = await apply(yaml);
    if (code !== 0) return new Response(`${file}: ${output}\n`, { status: 502 });
    applied.push(output);
  }
  return new Response(JSON.stringify({ applied }) + "\n", { status: 202 });
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, publish);
reply({ port: server.addr.port, pid: Deno.pid, kubectl });
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

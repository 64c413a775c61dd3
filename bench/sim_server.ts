/**
 * The Kubernetes API simulator in its own process, so it does not share an event loop with the
 * load generator, behind TLS the way a real API server is.
 *
 * TLS is terminated by a `node:tls` server that sets TCP_NODELAY on every connection, as the Go
 * API server does, and relays the bytes to the simulator's plain-HTTP listener (ALPN offers h2
 * and http/1.1, like the API server). The simulator's own TLS mode is not used here: `Deno.serve`
 * over TLS leaves Nagle's algorithm on, and every answer larger than about 800 bytes then waits
 * ~40 ms for the client's delayed ACK, which would measure the simulator, not the clients.
 *
 * The simulator's plain-HTTP listener is offered too (`httpUrl`, `httpKubeconfig`), for an API
 * server reached without TLS (a local proxy, `kubectl proxy`, a sidecar): the router and the
 * proxy floor then make the same call without the TLS work on either side.
 *
 * Prints `{url, httpUrl, token, caFile, kubeconfig, httpKubeconfig, pid}` once listening, then
 * answers commands on standard input, one JSON line each: `latency <ms>` sets the latency added
 * to every answer; `stats` reports and clears the request log (count per verb, answers that
 * were not 2xx); `clear` deletes every Job and ConfigMap in `default` (between routers, so
 * each lists and caches only its own).
 *
 * Run: `deno run -A bench/sim_server.ts <dir>` (writes `<dir>/kubeconfig`,
 * `<dir>/kubeconfig-http` and `<dir>/ca.pem`).
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { KubeSim } from "../tests/support/kube_sim/mod.ts";
import { testCertificates } from "../tests/support/tls.ts";
import { commands, reply } from "./lib/child.ts";

const dir = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "gitfaas-sim-" });
const sim = await KubeSim.start({ tls: false });
const plainPort = Number(new URL(sim.url).port);
const certs = await testCertificates();

const front = tls.createServer({
  cert: certs.certPem,
  key: certs.keyPem,
  ALPNProtocols: ["h2", "http/1.1"],
}, (client) => {
  client.setNoDelay(true);
  const upstream = net.connect({ host: "127.0.0.1", port: plainPort, noDelay: true });
  upstream.setNoDelay(true);
  client.pipe(upstream).pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
});
await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
const url = `https://127.0.0.1:${(front.address() as net.AddressInfo).port}`;

await Deno.writeTextFile(`${dir}/ca.pem`, certs.caPem);
await Deno.writeTextFile(`${dir}/kubeconfig`, kubeconfig(url, certs.caPem));
await Deno.writeTextFile(`${dir}/kubeconfig-http`, kubeconfig(sim.url));
reply({
  url,
  httpUrl: sim.url,
  token: sim.token,
  caFile: `${dir}/ca.pem`,
  kubeconfig: `${dir}/kubeconfig`,
  httpKubeconfig: `${dir}/kubeconfig-http`,
  pid: Deno.pid,
});

for await (const line of commands()) {
  const [name, arg] = line.trim().split(/\s+/);
  if (name === "latency") {
    sim.setLatency(Number(arg));
    reply({ latencyMs: Number(arg) });
  } else if (name === "stats") {
    const byVerb: Record<string, number> = {};
    let non2xx = 0;
    for (const r of sim.requests) {
      byVerb[r.verb] = (byVerb[r.verb] ?? 0) + 1;
      if (r.status < 200 || r.status > 299) non2xx++;
    }
    reply({ requests: sim.requests.length, byVerb, non2xx });
    sim.requests.length = 0;
  } else if (name === "clear") {
    for (
      const path of [
        "/apis/batch/v1/namespaces/default/jobs",
        "/api/v1/namespaces/default/configmaps",
      ]
    ) {
      await sim.call("DELETE", path);
    }
    sim.requests.length = 0;
    reply({ cleared: true });
  } else reply({ error: `unknown command ${line}` });
}
front.close();
await sim.close();

/**
 * A kubeconfig with the simulator's token: with the CA for the TLS front; for the plain
 * listener with `insecure-skip-tls-verify: true`, because client-node (which reads the router's
 * kubeconfig) refuses an `http://` server without it, although there is no TLS to skip.
 */
function kubeconfig(server: string, caPem?: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: kube-sim",
    "  cluster:",
    `    server: ${JSON.stringify(server)}`,
    caPem
      ? `    certificate-authority-data: ${JSON.stringify(btoa(caPem))}`
      : "    insecure-skip-tls-verify: true",
    "users:",
    "- name: kube-sim",
    "  user:",
    `    token: ${JSON.stringify(sim.token)}`,
    "contexts:",
    "- name: kube-sim",
    "  context:",
    "    cluster: kube-sim",
    "    user: kube-sim",
    "    namespace: default",
    "current-context: kube-sim",
    "",
  ].join("\n");
}

/**
 * Why the router talks HTTP/1.1 to the API server, and why the simulator sits behind its own
 * TLS front: one `fetch` at a time (server-side apply of a ConfigMap whose body has the given
 * size), median of 7, for
 *
 * - `fetch, HTTP/2 allowed` → the simulator's TLS front (TCP_NODELAY, ALPN h2): Deno's fetch
 *   keeps Nagle on and writes HEADERS and DATA frames separately, so bodies over ~1 KB wait
 *   for the server's delayed ACK (~40 ms);
 * - `fetch, HTTP/1.1` → the same front: head and body go out in one write;
 * - `fetch, HTTP/1.1` → `KubeSim`'s own TLS listener (`Deno.serve`), which leaves Nagle on for
 *   its answers, so answers over ~800 bytes wait too;
 * - `fetch`'s default client → the simulator's plain-HTTP listener (`Deno.serve`), the API
 *   server the publish benchmark's HTTP cells use: it must not wait either.
 * @module
 */

import { KubeSim } from "../tests/support/kube_sim/mod.ts";
import type { BenchContext } from "./lib/context.ts";
import { median, round } from "./lib/stats.ts";

export const BODY_BYTES = [500, 1_500, 4_000, 16_000];

/** Median ms per request, by body size, for one client and server. */
export interface TransportRow {
  client: string;
  server: string;
  medianMs: Record<string, number>;
}

/** Runs the comparison. */
export async function runTransportBench(context: BenchContext): Promise<TransportRow[]> {
  const front = context.sim.ready;
  const ownTls = await KubeSim.start({ tls: true });
  try {
    const frontCa = await Deno.readTextFile(String(front.caFile));
    const setups: {
      client: string;
      server: string;
      http2: boolean;
      sim: { url: string; token: string; ca?: string };
    }[] = [
      {
        client: "fetch, HTTP/2 allowed",
        server: "TLS front (TCP_NODELAY)",
        http2: true,
        sim: { url: String(front.url), token: String(front.token), ca: frontCa },
      },
      {
        client: "fetch, HTTP/1.1",
        server: "TLS front (TCP_NODELAY)",
        http2: false,
        sim: { url: String(front.url), token: String(front.token), ca: frontCa },
      },
      {
        client: "fetch, HTTP/1.1",
        server: "KubeSim's own TLS (Deno.serve)",
        http2: false,
        sim: { url: ownTls.url, token: ownTls.token, ca: ownTls.caPem! },
      },
      {
        client: "fetch, default client",
        server: "plain HTTP (Deno.serve)",
        http2: true,
        sim: { url: String(front.httpUrl), token: String(front.token) },
      },
    ];
    const rows: TransportRow[] = [];
    for (const setup of setups) {
      // Without a CA (plain HTTP) the router uses fetch's default client: so does this row.
      const ca = setup.sim.ca;
      const client = ca ? Deno.createHttpClient({ caCerts: [ca], http2: setup.http2 }) : undefined;
      const medianMs: Record<string, number> = {};
      try {
        for (const bytes of BODY_BYTES) {
          const times: number[] = [];
          for (let i = 0; i < 7; i++) {
            const name = `transport-${rows.length}-${bytes}-${i}`;
            const body = JSON.stringify({
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name },
              data: { value: "x".repeat(bytes - 90) },
            });
            const t0 = performance.now();
            const response = await fetch(
              `${setup.sim.url}/api/v1/namespaces/default/configmaps/${name}` +
                "?fieldManager=bench&force=true",
              {
                method: "PATCH",
                headers: {
                  authorization: `Bearer ${setup.sim.token}`,
                  "content-type": "application/apply-patch+yaml",
                },
                body,
                client,
              },
            );
            await response.text();
            if (response.status !== 201) throw new Error(`apply answered ${response.status}`);
            times.push(performance.now() - t0);
          }
          medianMs[bytes] = round(median(times), 2);
        }
      } finally {
        client?.close();
      }
      rows.push({ client: setup.client, server: setup.server, medianMs });
      context.progress(`transport ${setup.client} → ${setup.server}: ${JSON.stringify(medianMs)}`);
    }
    return rows;
  } finally {
    await ownTls.close();
  }
}

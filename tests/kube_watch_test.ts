// Needs: the API simulator (list with limit and continue, watch).
import { assertEquals } from "./support/assert.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { connectKube } from "../src/kube/connection.ts";
import { listAndWatch, type WatchedObject } from "../src/kube/watch.ts";

Deno.test("a large list is read in pages and kept trimmed; the watch goes on from it", async () => {
  const sim = await KubeSim.start({ tls: false, namespaces: ["jobs"] });
  const dir = await Deno.makeTempDir();
  await sim.writeKubeconfig(`${dir}/config`, { namespace: "jobs" });
  const kube = await connectKube({ kubeconfig: `${dir}/config`, maxInflight: 8 });
  const path = "/api/v1/namespaces/jobs/configmaps";
  const stop = new AbortController();
  try {
    for (let i = 0; i < 25; i++) {
      await sim.call("POST", path, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `cm-${String(i).padStart(2, "0")}`, labels: { app: "x" } },
        data: { big: "x".repeat(1000) },
      });
    }
    let listed: string[] = [];
    const events: string[] = [];
    let notify = () => {};
    await listAndWatch<WatchedObject, string>(kube, path, {
      labelSelector: "app=x",
      signal: stop.signal,
      pageSize: 10,
      // What a cache keeps of each object: here its name only.
      keep: (object) => object.metadata.name,
      handlers: {
        onList: (names) => listed = names,
        onEvent: (type, object) => {
          events.push(`${type} ${object.metadata.name}`);
          notify();
        },
      },
    });
    assertEquals(listed.length, 25);
    assertEquals(listed[0], "cm-00");
    assertEquals(listed[24], "cm-24");
    // Three pages of at most 10, each asked with the limit.
    const lists = sim.requests.filter((r) => r.verb === "list" && r.path === path);
    assertEquals(lists.length, 3);
    assertEquals(lists.every((r) => new URLSearchParams(r.query).get("limit") === "10"), true);
    assertEquals(new URLSearchParams(lists[1].query).has("continue"), true);

    const seen = new Promise<void>((resolve) => notify = resolve);
    await sim.call("POST", path, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm-25", labels: { app: "x" } },
    });
    await seen;
    assertEquals(events, ["ADDED cm-25"]);
  } finally {
    stop.abort();
    kube.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});

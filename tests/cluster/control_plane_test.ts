/**
 * The control plane itself is what it claims to be: the pinned release, telling its true
 * version; one Ready node; authentication required; the admission plugins of a real cluster
 * (PodSecurity here) deciding.
 */

import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { kubernetesVersion } from "../support/cluster/binaries.ts";
import { NODE_NAME } from "../support/cluster/control_plane.ts";
import { attachCluster, createNamespace, deleteNamespace } from "../support/cluster/testing.ts";

Deno.test("kubectl version tells the release pinned in tests/cluster/kubernetes/go.mod", async () => {
  const cluster = await attachCluster();
  try {
    const { code, stdout, stderr } = await cluster.kubectl(["version", "-o", "json"]);
    assertEquals(code, 0, stderr);
    const versions = JSON.parse(stdout);
    const pinned = await kubernetesVersion();
    assertEquals(versions.clientVersion.gitVersion, pinned);
    assertEquals(versions.serverVersion.gitVersion, pinned);
  } finally {
    await cluster.stop();
  }
});

Deno.test("one Ready node, and no request without a login", async () => {
  const cluster = await attachCluster();
  try {
    const nodes = await cluster.kubectl(["get", "nodes", "--no-headers"]);
    assertEquals(nodes.stdout.trim().split(/\s+/).slice(0, 2), [NODE_NAME, "Ready"]);
    // Without the client certificate: anonymous requests are not allowed to read anything.
    const client = Deno.createHttpClient({ caCerts: [cluster.caPem] });
    const anonymous = await fetch(`${cluster.server}/api/v1/namespaces`, { client } as RequestInit);
    const status = await anonymous.json();
    client.close();
    assertEquals([anonymous.status, status.reason], [403, "Forbidden"]);
    assertStringIncludes(status.message, 'User "system:anonymous" cannot list resource');
  } finally {
    await cluster.stop();
  }
});

Deno.test("PodSecurity admission refuses a privileged pod where the namespace enforces baseline", async () => {
  const cluster = await attachCluster();
  const namespace = await createNamespace(cluster, "podsecurity");
  try {
    const label = await cluster.kubectl([
      "label",
      "namespace",
      namespace,
      "pod-security.kubernetes.io/enforce=baseline",
    ]);
    assertEquals(label.code, 0, label.stderr);
    const privileged = await cluster.kubectl(["-n", namespace, "apply", "-f", "-"], {
      stdin: JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "privileged" },
        spec: {
          containers: [{ name: "main", image: "busybox", securityContext: { privileged: true } }],
        },
      }),
    });
    assertEquals(privileged.code, 1);
    assertStringIncludes(privileged.stderr, 'violates PodSecurity "baseline:latest"');
  } finally {
    await deleteNamespace(cluster, namespace);
    await cluster.stop();
  }
});

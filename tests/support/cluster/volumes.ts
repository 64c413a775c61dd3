/**
 * A volume provisioner for the test control plane. A real cluster has a storage driver that
 * makes a PersistentVolume for each claim; this one has no kubelet and no driver, so a pod with
 * an ephemeral volume (a claim per pod) would never be scheduled. This loop plays the driver:
 * for every claim still waiting it creates a matching `hostPath` PersistentVolume reserved for
 * that claim (the controller manager's binder then binds them, as in a real cluster), and it
 * deletes the volumes whose claim is gone. Nothing is ever written to the `hostPath`: kwok runs
 * no container.
 * @module
 */

/** Marks the volumes this provisioner made. */
const MANAGED_LABEL = "gitfaas.test/provisioned";

/** How the provisioner talks to the API server (the cluster's admin requests). */
export type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

async function items(fetcher: Fetcher, path: string): Promise<Obj[]> {
  const response = await fetcher(path);
  if (response.status !== 200) {
    await response.body?.cancel();
    return [];
  }
  return (await response.json()).items ?? [];
}

/** The volume that serves `claim`: its size, access modes and class, reserved for it. */
function volumeFor(claim: Obj): Obj {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `pvc-${claim.metadata.uid}`, labels: { [MANAGED_LABEL]: "true" } },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? "1Gi" },
      accessModes: claim.spec.accessModes ?? ["ReadWriteOnce"],
      storageClassName: claim.spec.storageClassName ?? "",
      volumeMode: claim.spec.volumeMode ?? "Filesystem",
      persistentVolumeReclaimPolicy: "Retain",
      hostPath: { path: `/tmp/gitfaas-test-volumes/${claim.metadata.uid}` },
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid: claim.metadata.uid,
      },
    },
  };
}

/** One pass: a volume for each waiting claim, and away with volumes whose claim is gone. */
export async function provisionOnce(fetcher: Fetcher): Promise<void> {
  const [claims, volumes] = await Promise.all([
    items(fetcher, "/api/v1/persistentvolumeclaims"),
    items(fetcher, `/api/v1/persistentvolumes?labelSelector=${MANAGED_LABEL}%3Dtrue`),
  ]);
  const claimUids = new Set(claims.map((c) => c.metadata.uid));
  const served = new Set(volumes.map((v) => v.spec.claimRef?.uid));
  for (const claim of claims) {
    if (claim.spec.volumeName || served.has(claim.metadata.uid)) continue;
    if (claim.metadata.deletionTimestamp) continue;
    const response = await fetcher("/api/v1/persistentvolumes", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(volumeFor(claim)),
    });
    await response.body?.cancel();
  }
  for (const volume of volumes) {
    if (claimUids.has(volume.spec.claimRef?.uid)) continue;
    const response = await fetcher(`/api/v1/persistentvolumes/${volume.metadata.name}`, {
      method: "DELETE",
    });
    await response.body?.cancel();
  }
}

/** Runs {@linkcode provisionOnce} every `intervalMs` until `signal` aborts. */
export async function runProvisioner(
  fetcher: Fetcher,
  options: { signal: AbortSignal; intervalMs?: number },
): Promise<void> {
  const { signal } = options;
  while (!signal.aborted) {
    // A failed pass (the API server restarting, say) is simply tried again.
    await provisionOnce(fetcher).catch(() => undefined);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.intervalMs ?? 500);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}

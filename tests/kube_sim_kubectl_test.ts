/**
 * Fidelity of the Kubernetes API simulator against the real `kubectl`.
 *
 * kubectl runs with nothing but a kubeconfig and `--cache-dir` (so its
 * discovery cache stays out of $HOME): no `--validate=false`, no
 * `--insecure-skip-tls-verify`.
 */

import nodeAssert from "node:assert/strict";
import { onPath } from "./support/on_path.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";

const kubectlPath = onPath("kubectl");
if (!kubectlPath) console.warn("kubectl is not on PATH: skipping the kubectl fidelity tests");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A simulator, a kubeconfig for it and a kubectl runner. */
async function withKubectl(
  fn: (sim: KubeSim, kubectl: (...args: string[]) => Promise<Run>, dir: string) => Promise<void>,
): Promise<void> {
  const sim = await KubeSim.start();
  const dir = await Deno.makeTempDir({ prefix: "kube_sim_kubectl_" });
  try {
    await sim.writeKubeconfig(`${dir}/kubeconfig`);
    const kubectl = async (...args: string[]): Promise<Run> => {
      const out = await new Deno.Command(kubectlPath!, {
        args: [`--kubeconfig=${dir}/kubeconfig`, `--cache-dir=${dir}/cache`, ...args],
        env: { HOME: dir },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
    };
    await fn(sim, kubectl, dir);
  } finally {
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const jobYaml = (name: string, label = "b") =>
  `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  labels:
    a: ${label}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
`;

Deno.test({
  name: "kubectl: create, get, server-side apply, conflicts, invalid names, selectors, delete",
  ignore: !kubectlPath,
  fn: () =>
    withKubectl(async (sim, kubectl, dir) => {
      await Deno.writeTextFile(`${dir}/job.yaml`, jobYaml("x"));
      const created = await kubectl("create", "-f", `${dir}/job.yaml`);
      nodeAssert.equal(created.code, 0, created.stderr);
      nodeAssert.equal(created.stdout.trim(), "job.batch/x created");
      // kubectl asked the server to validate fields instead of downloading schemas.
      const post = sim.requests.find((r) => r.verb === "create")!;
      nodeAssert.match(post.query, /fieldValidation=Strict/);

      const got = await kubectl("get", "job", "x", "-o", "json");
      nodeAssert.equal(got.code, 0, got.stderr);
      const obj = JSON.parse(got.stdout);
      nodeAssert.equal(obj.kind, "Job");
      nodeAssert.equal(obj.metadata.namespace, "default");
      nodeAssert.equal(
        obj.metadata.uid,
        sim.getObject("batch/v1", "Job", "default", "x")!.metadata.uid,
      );

      const applied = await kubectl("apply", "--server-side", "-f", `${dir}/job.yaml`);
      nodeAssert.equal(applied.code, 0, applied.stderr);
      nodeAssert.equal(applied.stdout.trim(), "job.batch/x serverside-applied");
      const afterFirst = sim.getObject("batch/v1", "Job", "default", "x")!;
      const again = await kubectl("apply", "--server-side", "-f", `${dir}/job.yaml`);
      nodeAssert.equal(again.code, 0, again.stderr);
      const afterSecond = sim.getObject("batch/v1", "Job", "default", "x")!;
      nodeAssert.equal(afterSecond.metadata.resourceVersion, afterFirst.metadata.resourceVersion);
      const managers = afterSecond.metadata.managedFields.map((
        m: { manager: string; operation: string },
      ) => `${m.manager}/${m.operation}`);
      nodeAssert.deepEqual(managers, ["kubectl-create/Update", "kubectl/Apply"]);

      const dup = await kubectl("create", "-f", `${dir}/job.yaml`);
      nodeAssert.equal(dup.code, 1);
      nodeAssert.match(
        dup.stderr,
        /Error from server \(AlreadyExists\): .*jobs\.batch "x" already exists/,
      );

      await Deno.writeTextFile(`${dir}/changed.yaml`, jobYaml("x", "c"));
      const clash = await kubectl(
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        `${dir}/changed.yaml`,
      );
      nodeAssert.equal(clash.code, 1);
      // Both earlier writers own the label: the creator (Update) and the applier.
      nodeAssert.match(
        clash.stderr,
        /Apply failed with 2 conflicts: conflicts with "kubectl":\n- \.metadata\.labels\.a\nconflicts with "kubectl-create" using batch\/v1:\n- \.metadata\.labels\.a\n/,
      );
      const forced = await kubectl(
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        `${dir}/changed.yaml`,
      );
      nodeAssert.equal(forced.code, 0, forced.stderr);
      nodeAssert.equal(sim.getObject("batch/v1", "Job", "default", "x")!.metadata.labels.a, "c");

      await Deno.writeTextFile(`${dir}/bad.yaml`, jobYaml("Bad_Name"));
      const bad = await kubectl("create", "-f", `${dir}/bad.yaml`);
      nodeAssert.equal(bad.code, 1);
      nodeAssert.match(
        bad.stderr,
        /The Job "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/,
      );

      await Deno.writeTextFile(`${dir}/other.yaml`, jobYaml("other", "other"));
      const createdOther = await kubectl("create", "-f", `${dir}/other.yaml`);
      nodeAssert.equal(createdOther.code, 0, createdOther.stderr);
      const selected = await kubectl("get", "jobs", "-l", "a=c", "-o", "name");
      nodeAssert.equal(selected.stdout.trim(), "job.batch/x");
      const table = await kubectl("get", "jobs", "-l", "a=other");
      nodeAssert.equal(table.code, 0, table.stderr);
      nodeAssert.match(table.stdout, /^NAME\s+.*\nother\s+/);

      const deleted = await kubectl("delete", "job", "x");
      nodeAssert.equal(deleted.code, 0, deleted.stderr);
      nodeAssert.equal(deleted.stdout.trim(), 'job.batch "x" deleted');
      nodeAssert.deepEqual(sim.objects({ kind: "Job" }).map((j) => j.metadata.name), ["other"]);
      const missing = await kubectl("get", "job", "x");
      nodeAssert.equal(missing.code, 1);
      nodeAssert.match(missing.stderr, /Error from server \(NotFound\): jobs\.batch "x" not found/);
    }),
});

Deno.test({
  name: "kubectl: client-side apply, patch, label, discovery and namespaces",
  ignore: !kubectlPath,
  fn: () =>
    withKubectl(async (sim, kubectl, dir) => {
      await Deno.writeTextFile(`${dir}/job.yaml`, jobYaml("csa"));
      const first = await kubectl("apply", "-f", `${dir}/job.yaml`);
      nodeAssert.equal(first.stdout.trim(), "job.batch/csa created", first.stderr);
      const second = await kubectl("apply", "-f", `${dir}/job.yaml`);
      nodeAssert.equal(second.stdout.trim(), "job.batch/csa unchanged", second.stderr);

      const patched = await kubectl(
        "patch",
        "job",
        "csa",
        "--type=merge",
        "-p",
        '{"metadata":{"annotations":{"k":"v"}}}',
      );
      nodeAssert.equal(patched.stdout.trim(), "job.batch/csa patched", patched.stderr);
      const jsonPatched = await kubectl(
        "patch",
        "job",
        "csa",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/metadata/labels/j","value":"p"}]',
      );
      nodeAssert.equal(jsonPatched.code, 0, jsonPatched.stderr);
      const labeled = await kubectl("label", "job", "csa", "extra=yes");
      nodeAssert.equal(labeled.stdout.trim(), "job.batch/csa labeled", labeled.stderr);
      const stored = sim.getObject("batch/v1", "Job", "default", "csa")!;
      nodeAssert.deepEqual(stored.metadata.labels, { a: "b", j: "p", extra: "yes" });
      nodeAssert.equal(stored.metadata.annotations.k, "v");

      const resources = await kubectl("api-resources", "-o", "name");
      for (
        const r of [
          "jobs.batch",
          "configmaps",
          "namespaces",
          "customresourcedefinitions.apiextensions.k8s.io",
        ]
      ) {
        nodeAssert.ok(resources.stdout.split("\n").includes(r), `${r} missing from api-resources`);
      }
      const version = await kubectl("version", "-o", "json");
      nodeAssert.equal(JSON.parse(version.stdout).serverVersion.gitVersion, "v1.32.0");

      const namespaces = await kubectl("get", "namespaces", "-o", "name");
      nodeAssert.deepEqual(namespaces.stdout.trim().split("\n"), [
        "namespace/default",
        "namespace/kube-system",
      ]);
      await Deno.writeTextFile(
        `${dir}/ns.yaml`,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n",
      );
      nodeAssert.equal((await kubectl("create", "-f", `${dir}/ns.yaml`)).code, 0);
      nodeAssert.equal((await kubectl("apply", "-n", "team", "-f", `${dir}/job.yaml`)).code, 0);
      const all = await kubectl("get", "jobs", "-A", "-o", "name");
      nodeAssert.deepEqual(all.stdout.trim().split("\n"), ["job.batch/csa", "job.batch/csa"]);
      const gone = await kubectl("delete", "namespace", "team");
      nodeAssert.equal(gone.code, 0, gone.stderr);
      nodeAssert.deepEqual(sim.objects({ namespace: "team" }), []);
    }),
});

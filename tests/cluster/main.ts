/**
 * `deno task cluster [--kubeconfig PATH]`: a real Kubernetes control plane on this machine, for
 * trying the router against it (README, "A real cluster on your machine"). Builds the programs
 * the first time, starts them, writes an admin kubeconfig, prints one line when ready, and stops
 * everything on Ctrl-C or SIGTERM.
 * @module
 */

import { parseArgs } from "node:util";
import { GoMissingError } from "../support/cluster/binaries.ts";
import { ClusterStartError, startCluster } from "../support/cluster/control_plane.ts";

const USAGE = "usage: deno task cluster [--kubeconfig PATH]";

async function main(): Promise<number> {
  let kubeconfig: string | undefined;
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: { kubeconfig: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    kubeconfig = values.kubeconfig;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  // Signals are handled from the start, so a Ctrl-C during the start also stops what started.
  const stop = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, () => stop.resolve());

  const started = Date.now();
  const progress = (line: string) => console.error(line);
  const starting = startCluster({ kubeconfigPath: kubeconfig, progress });
  const first = await Promise.race([starting.then(() => "started"), stop.promise]).catch(
    (error) => error,
  );
  if (first instanceof GoMissingError || first instanceof ClusterStartError) {
    console.error(first.message);
    return 1;
  }
  if (first instanceof Error) throw first;
  if (first !== "started") {
    console.error("stopping…");
    await starting.then((cluster) => cluster.stop()).catch(() => undefined);
    return 130;
  }
  const cluster = await starting;
  const path = kubeconfig ?? cluster.kubeconfigPath;
  console.log(
    `cluster ready in ${Math.round((Date.now() - started) / 1000)} s: Kubernetes ` +
      `${cluster.version} at ${cluster.server}, one node; KUBECONFIG=${path} (Ctrl-C stops it)`,
  );
  await stop.promise;
  console.error("stopping…");
  await cluster.stop();
  if (kubeconfig) await Deno.remove(kubeconfig).catch(() => undefined);
  return 0;
}

if (import.meta.main) Deno.exit(await main());

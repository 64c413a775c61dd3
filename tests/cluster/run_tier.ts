/**
 * `deno task test:cluster [FILE…]`: the test tier that runs against a real control plane. Builds
 * the programs if needed, starts one cluster, runs the tests in `tests/cluster/` (or the files
 * given) with `GITFAAS_TEST_CLUSTER` pointing at it, and stops it. Without Go (and nothing
 * built yet), it says so in one line and passes: the main suite does not need Go.
 * @module
 */

import { ensureBinaries, GoMissingError } from "../support/cluster/binaries.ts";
import { startCluster } from "../support/cluster/control_plane.ts";
import { CLUSTER_ENV } from "../support/cluster/testing.ts";

async function main(): Promise<number> {
  const log = (line: string) => console.error(line);
  try {
    await ensureBinaries({ progress: log });
  } catch (error) {
    if (!(error instanceof GoMissingError)) throw error;
    console.log(`cluster tier skipped: ${error.message}`);
    return 0;
  }
  const started = Date.now();
  const cluster = await startCluster({ progress: log });
  log(`cluster ${cluster.version} ready in ${Math.round((Date.now() - started) / 1000)} s`);
  // A Ctrl-C reaches the test process too; the cluster is stopped once it has ended.
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  try {
    const files = Deno.args.length > 0 ? Deno.args : ["tests/cluster/"];
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", ...files],
      cwd: new URL("../../", import.meta.url),
      env: { [CLUSTER_ENV]: cluster.description },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    return code;
  } finally {
    Deno.removeSignalListener("SIGINT", ignore);
    await cluster.stop();
  }
}

if (import.meta.main) Deno.exit(await main());

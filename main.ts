/**
 * gitfaas: a GitOps event router for Kubernetes. Reads its settings from the environment and
 * serves until SIGTERM or SIGINT. `--dev [folder]` serves a folder's working tree instead of a
 * Git remote (default `examples/`), render-only (no cluster) unless GITFAAS_APPLY=true.
 * @module
 */

import { startRouter } from "./src/app/router.ts";
import {
  checkDataDir,
  checkSourceDir,
  ENV_NAMES,
  readEnv,
  readSettings,
  type Settings,
  SettingsError,
} from "./src/settings/settings.ts";
import { KubeConfigError } from "./src/kube/connection.ts";

if (import.meta.main) {
  let settings: Settings | undefined;
  try {
    const dev = Deno.args.indexOf("--dev");
    const sourceDir = dev === -1 ? undefined : (Deno.args[dev + 1] ?? "examples");
    // Only the variables it uses, so the process runs with --allow-env=<those names>.
    const env = readEnv(ENV_NAMES);
    settings = readSettings(env, { sourceDir });
    checkDataDir(settings);
    checkSourceDir(settings);
    const router = await startRouter(settings, { env });
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await router.close();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  } catch (error) {
    if (error instanceof SettingsError || error instanceof KubeConfigError) {
      console.error(`gitfaas: ${error.message}`);
      Deno.exit(2);
    }
    if (error instanceof Deno.errors.AddrInUse && settings) {
      const { listenAddress, port } = settings;
      const host = listenAddress.includes(":") ? `[${listenAddress}]` : listenAddress;
      console.error(
        `gitfaas: port ${port} is already in use on ${host}: set PORT to a free one`,
      );
      Deno.exit(2);
    }
    throw error;
  }
}

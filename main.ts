/**
 * gitfaas: a GitOps event router for Kubernetes. Reads its settings from the environment and
 * serves until SIGTERM or SIGINT. `--dev [folder]` serves a folder's working tree instead of a
 * Git remote (default `examples/`), render-only (no cluster) unless GITFAAS_APPLY=true.
 * @module
 */

import { startRouter } from "./src/app/router.ts";
import {
  checkDataDir,
  ENV_NAMES,
  readEnv,
  readSettings,
  SettingsError,
} from "./src/settings/settings.ts";
import { KubeConfigError } from "./src/kube/connection.ts";

if (import.meta.main) {
  try {
    const dev = Deno.args.indexOf("--dev");
    const sourceDir = dev === -1 ? undefined : (Deno.args[dev + 1] ?? "examples");
    // Only the variables it uses, so the process runs with --allow-env=<those names>.
    const env = readEnv(ENV_NAMES);
    const settings = readSettings(env, { sourceDir });
    checkDataDir(settings);
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
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(`gitfaas: the port is already in use: set PORT to a free one`);
      Deno.exit(2);
    }
    throw error;
  }
}

/**
 * gitfaas: a GitOps event router for Kubernetes. Reads its settings from the environment and
 * serves until SIGTERM or SIGINT. `--dev [folder]` serves a folder's working tree instead of a
 * Git remote (default `examples/`), as a dry run unless GITFAAS_APPLY=true.
 * @module
 */

import { startRouter } from "./src/app.ts";
import { readSettings, SettingsError } from "./src/config/settings.ts";
import { KubeConfigError } from "./src/kube/connection.ts";

if (import.meta.main) {
  try {
    const dev = Deno.args.indexOf("--dev");
    const sourceDir = dev === -1 ? undefined : (Deno.args[dev + 1] ?? "examples");
    const router = await startRouter(readSettings(Deno.env.toObject(), { sourceDir }));
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
    throw error;
  }
}

/**
 * `deno task validate [folder]`: validates a pipeline repository (default: the current
 * folder) and exits 1 when anything is wrong, 2 when the settings are wrong. The policy comes
 * from the same environment variables the router reads.
 * @module
 */

import { readSettings, SettingsError } from "../settings/settings.ts";
import { validateRepository } from "./validate.ts";

if (import.meta.main) {
  const dir = Deno.args[0] ?? ".";
  try {
    const settings = readSettings(Deno.env.toObject(), { sourceDir: dir });
    const namespaces = settings.allowedNamespaces ?? [settings.namespace ?? "default"];
    const result = await validateRepository(dir, {
      configPath: settings.configPath,
      policy: {
        deniedKinds: settings.deniedKinds,
        allowedClusterKinds: settings.allowedClusterKinds,
        allowedNamespaces: namespaces === "*" ? "*" : new Set(namespaces),
        router: { serviceAccount: settings.routerServiceAccount },
      },
      maxManifestsPerTopic: settings.maxManifestsPerTopic,
      maxObjectsPerPublish: settings.maxObjectsPerPublish,
    });
    if (result.ok) {
      console.log(`ok: ${dir}: ${result.topics} topics, ${result.manifests} manifest files`);
    } else {
      for (const problem of result.problems) console.error(`${dir}: ${problem}`);
      console.error(`${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`);
      Deno.exit(1);
    }
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(`validate: ${error.message}`);
      Deno.exit(2);
    }
    if (error instanceof Deno.errors.NotFound) {
      console.error(`validate: no such folder: ${dir}`);
      Deno.exit(2);
    }
    throw error;
  }
}

/**
 * The index-build options of the sync benchmarks: the router's defaults, the default policy in
 * namespace `default`, and yaml's debug switches silenced as the router does at start.
 * @module
 */

import { DEFAULT_DENIED_KINDS, parseKindList } from "../../src/policy/policy.ts";
import { silenceYamlDebugSwitches } from "../../src/render/yaml_debug_switches.ts";
import { DEFAULTS } from "../../src/settings/settings.ts";
import type { BuildOptions } from "../../src/topics/topic_index.ts";

/** Build options as a router with default settings uses them. */
export function benchBuildOptions(): BuildOptions {
  silenceYamlDebugSwitches();
  return {
    configPath: "config.json",
    policy: {
      deniedKinds: parseKindList(DEFAULT_DENIED_KINDS),
      allowedClusterKinds: [],
      allowedNamespaces: new Set(["default"]),
    },
    maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
    maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
  };
}

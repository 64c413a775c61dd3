/**
 * The `validate` command: checks pipeline repositories, config files or single manifest
 * templates the way the router checks a commit, and lists every problem found in one pass.
 * Run it from a pipeline repository's own CI, by URL (README, "Check a pipeline repository"),
 * as `deno task validate`, or as `gitfaas validate` (`cli.ts`). Paths are relative to the
 * folder it runs in.
 *
 * Exit status: 0 when everything passes, 1 when problems were found, 2 for a usage error (an
 * unknown option, a path that does not exist, a bad setting).
 * @module
 */

import path from "node:path";
import { parseArgs } from "node:util";
import {
  readSettings,
  type Settings,
  SettingsError,
  settingsPolicy,
} from "../settings/settings.ts";
import { silenceYamlDebugSwitches } from "../render/yaml_debug_switches.ts";
import type { BuildOptions } from "../topics/topic_index.ts";
import { validateManifest, validateRepository, type ValidationResult } from "./validate.ts";

/**
 * The namespace objects go to when they name none, unless NAMESPACE or `--namespace` says
 * otherwise: the NAMESPACE deploy/ installs the router with (`tests/deploy_test.ts` checks),
 * where the Jobs of topics run, away from the router's own namespace and Secret.
 */
export const DEFAULT_NAMESPACE = "gitfaas-jobs";

/** The variables `validate` reads, when the process may read them: the router's own. */
const VALIDATE_ENV = [
  "CONFIG_PATH",
  "NAMESPACE",
  "ALLOWED_NAMESPACES",
  "DENIED_KINDS",
  "ALLOWED_CLUSTER_KINDS",
  "ROUTER_SERVICE_ACCOUNT",
  "MAX_MANIFESTS_PER_TOPIC",
  "MAX_OBJECTS_PER_PUBLISH",
  // Set by `deno task` to the folder it was started from (a task runs in the project's root).
  "INIT_CWD",
];

/** The help text of `validate`, under the name it is run as. */
export function validateUsage(program: string): string {
  return `Usage: ${program} [options] [path...]

Checks a pipeline repository the way the gitfaas router checks a commit before serving it,
and lists every problem found, each with its file and line.

A path, relative to the current folder, is one of:
  a folder         a pipeline repository (its config file at --config); the default is "."
  a .json file     a config file; its folder is taken as the repository
  any other file   one manifest template, checked on its own

Options:
  --namespace <name>  the namespace objects go to when they name none, and the only one they
                      may name unless ALLOWED_NAMESPACES says otherwise
                      (default: NAMESPACE, else "${DEFAULT_NAMESPACE}", as deploy/ installs the router)
  --config <path>     the config file inside the repository (default: CONFIG_PATH, else config.json)
  -h, --help          show this help

The policy comes from the router's own variables, read when set: DENIED_KINDS,
ALLOWED_NAMESPACES, ALLOWED_CLUSTER_KINDS, ROUTER_SERVICE_ACCOUNT, MAX_MANIFESTS_PER_TOPIC,
MAX_OBJECTS_PER_PUBLISH (README, "Configuration").

Exit status: 0 when every path passes, 1 when problems were found, 2 for a usage error.`;
}

/** Options for {@linkcode runValidate}. */
export interface RunOptions {
  /** The name the command is run as, for the help text and messages. */
  program?: string;
}

/** Runs `validate` with command-line `args`; resolves to the exit status. */
export async function runValidate(args: string[], options: RunOptions = {}): Promise<number> {
  // As the router does at start (`deno task validate` and `gitfaas validate` both come here):
  // a faster compile, nothing else changes.
  silenceYamlDebugSwitches();
  const program = options.program ?? "validate";
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        namespace: { type: "string" },
        config: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${program}: ${(error as Error).message} (${program} --help lists the options)`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(validateUsage(program));
    return 0;
  }
  const env = readGranted(VALIDATE_ENV);
  let settings: Settings;
  try {
    settings = readSettings({
      ...env,
      ...(parsed.values.namespace !== undefined ? { NAMESPACE: parsed.values.namespace } : {}),
      ...(parsed.values.config !== undefined ? { CONFIG_PATH: parsed.values.config } : {}),
    }, { sourceDir: "." });
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    console.error(`${program}: ${flagNames(error.message, parsed.values)}`);
    return 2;
  }
  const namespace = settings.namespace ?? DEFAULT_NAMESPACE;
  const build: BuildOptions = {
    configPath: settings.configPath,
    policy: settingsPolicy(settings, namespace),
    maxManifestsPerTopic: settings.maxManifestsPerTopic,
    maxObjectsPerPublish: settings.maxObjectsPerPublish,
  };

  // `deno task` runs in the project's root: paths are relative to where it was started.
  const base = env.INIT_CWD ?? Deno.cwd();
  const paths = parsed.positionals.length > 0 ? parsed.positionals : ["."];
  let status = 0;
  for (const given of paths) {
    const full = path.resolve(base, given);
    const result = await validatePath(full, given, build);
    if (result === undefined) {
      console.error(`${program}: no such file or folder: ${given}`);
      status = 2;
      continue;
    }
    const { folder, checked } = result;
    if (checked.ok) {
      const what = checked.topics > 0 ? `${checked.topics} topic${plural(checked.topics)}, ` : "";
      console.log(
        `ok: ${given}: ${what}${checked.manifests} manifest file${plural(checked.manifests)} ` +
          `(namespace ${namespace})`,
      );
      continue;
    }
    for (const problem of checked.problems) console.error(join(folder, problem));
    console.error(`${given}: ${checked.problems.length} problem${plural(checked.problems.length)}`);
    status = Math.max(status, 1);
  }
  return status;
}

/** Validates a folder, a config file or a manifest; undefined when `full` does not exist. */
async function validatePath(
  full: string,
  given: string,
  build: BuildOptions,
): Promise<{ folder: string; checked: ValidationResult } | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(full);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (info.isDirectory) {
    return { folder: given, checked: await validateRepository(full, build) };
  }
  const folder = path.dirname(given);
  if (full.endsWith(".json")) {
    const configPath = path.basename(full);
    return {
      folder,
      checked: await validateRepository(path.dirname(full), { ...build, configPath }),
    };
  }
  return { folder, checked: await validateManifest(full, build) };
}

/**
 * The variables among `names` that the process may read. Run with `--allow-env` it reads them
 * all; with less it checks with the defaults instead of stopping.
 */
function readGranted(names: readonly string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of names) {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state === "granted") {
      env[name] = Deno.env.get(name);
    }
  }
  return env;
}

/** A settings message about a value given as an option names the option. */
function flagNames(message: string, values: { namespace?: string; config?: string }): string {
  if (values.namespace !== undefined && message.startsWith("NAMESPACE ")) {
    return `--namespace${message.slice("NAMESPACE".length)}`;
  }
  if (values.config !== undefined && message.startsWith("CONFIG_PATH ")) {
    return `--config${message.slice("CONFIG_PATH".length)}`;
  }
  return message;
}

/** A problem's repository path, prefixed with the folder it was given as. */
function join(folder: string, problem: string): string {
  return folder === "." || folder === "" ? problem : `${folder.replace(/\/+$/, "")}/${problem}`;
}

function plural(n: number): string {
  return n === 1 ? "" : "s";
}

if (import.meta.main) Deno.exit(await runValidate(Deno.args));

/**
 * Reads what ships the router: the start task in deno.json, the Dockerfile, and the kustomize
 * base in `deploy/` (as files, or rendered by `kubectl kustomize` where kubectl is installed).
 * @module
 */

import { parse as parseYaml, parseAllDocuments } from "yaml";
import { onPath } from "./on_path.ts";

/** The repository root. */
export const ROOT: URL = new URL("../../", import.meta.url);

/** The argv of `deno task start` (deno.json), split the way the router harness splits it. */
export async function startCommand(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  return (config.tasks.start as string).trim().split(/\s+/);
}

/** The instructions of the Dockerfile that the tests look at. */
export interface Dockerfile {
  from: string;
  env: Record<string, string>;
  user?: string;
  workdir?: string;
  /** Exec-form CMD. */
  cmd?: string[];
  /** Exec-form ENTRYPOINT, when the Dockerfile sets one (it should not: the base's runs CMD). */
  entrypoint?: string[];
  /** COPY sources, in order. */
  copySources: string[];
  expose: string[];
}

/** Parses the repository's Dockerfile (line continuations, comments, exec-form CMD). */
export async function readDockerfile(): Promise<Dockerfile> {
  const text = await Deno.readTextFile(new URL("Dockerfile", ROOT));
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") && current === "") continue;
    if (line === "" && current === "") continue;
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " ";
      continue;
    }
    logical.push((current + line).trim());
    current = "";
  }
  const file: Dockerfile = { from: "", env: {}, copySources: [], expose: [] };
  for (const line of logical) {
    const [, instruction, rest] = line.match(/^(\S+)\s+([\s\S]*)$/) ?? [];
    switch (instruction?.toUpperCase()) {
      case "FROM":
        file.from = rest.split(/\s+/)[0];
        break;
      case "ENV":
        for (const [, key, value] of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g)) {
          file.env[key] = value;
        }
        break;
      case "USER":
        file.user = rest.trim();
        break;
      case "WORKDIR":
        file.workdir = rest.trim();
        break;
      case "CMD":
        file.cmd = JSON.parse(rest);
        break;
      case "ENTRYPOINT":
        file.entrypoint = JSON.parse(rest);
        break;
      case "COPY":
        file.copySources.push(...rest.split(/\s+/).filter((w) => !w.startsWith("--")).slice(0, -1));
        break;
      case "EXPOSE":
        file.expose.push(...rest.split(/\s+/));
        break;
    }
  }
  return file;
}

/** Deno permission flags of an argv: flag name → value (`true` for a flag without one). */
export function permissionFlags(argv: string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (const arg of argv) {
    const match = arg.match(/^(--(?:allow|deny|ignore)-[a-z]+|-A|--allow-all)(?:=(.*))?$/);
    if (match) flags.set(match[1], match[2] ?? true);
  }
  return flags;
}

/** A Kubernetes object as parsed YAML. */
// deno-lint-ignore no-explicit-any
export type Manifest = Record<string, any>;

/** One YAML file of `deploy/`, every document in it. */
export async function deployFile(name: string): Promise<Manifest[]> {
  const text = await Deno.readTextFile(new URL(`deploy/${name}`, ROOT));
  return parseAllDocuments(text).map((doc) => doc.toJS()).filter((o) => o !== null);
}

/** `deploy/kustomization.yaml`. */
export async function kustomization(): Promise<Manifest> {
  return parseYaml(await Deno.readTextFile(new URL("deploy/kustomization.yaml", ROOT)));
}

/** `deploy/config.env`: the variables it sets, and those it lists commented out (optional). */
export async function configEnv(): Promise<{ set: Map<string, string>; optional: Set<string> }> {
  const text = await Deno.readTextFile(new URL("deploy/config.env", ROOT));
  const set = new Map<string, string>();
  const optional = new Set<string>();
  for (const line of text.split("\n")) {
    const active = line.match(/^([A-Z][A-Z0-9_]*)=(.*)$/);
    if (active) set.set(active[1], active[2]);
    const commented = line.match(/^#\s*([A-Z][A-Z0-9_]*)=/);
    if (commented) optional.add(commented[1]);
  }
  return { set, optional };
}

/** What a kubectl run printed. */
export interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl (which must be on PATH) in the repository root with a clean environment. */
export async function kubectl(args: string[], home: string): Promise<KubectlRun> {
  const output = await new Deno.Command(onPath("kubectl")!, {
    args,
    cwd: ROOT,
    clearEnv: true,
    env: { HOME: home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** The base as `kubectl kustomize deploy/` renders it. */
export async function renderBase(home: string): Promise<Manifest[]> {
  const run = await kubectl(["kustomize", "deploy/"], home);
  if (run.code !== 0) throw new Error(`kubectl kustomize deploy/ failed:\n${run.stderr}`);
  return parseAllDocuments(run.stdout).map((doc) => doc.toJS()).filter((o) => o !== null);
}

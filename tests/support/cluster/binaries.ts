/**
 * The control plane's programs, built with Go from the modules in `tests/cluster/` into a cache
 * outside the repository (`~/.cache/gitfaas/cluster-<kubernetes version>/bin/`), once: a
 * program is built again only when its module's go.mod or go.sum changes.
 * @module
 */

import { onPath } from "../on_path.ts";

/** The folder of the Go modules. */
const MODULES = new URL("../../cluster/", import.meta.url);

/** One program of the control plane and where it is built from. */
export interface Component {
  /** File name in the cache, e.g. `kube-apiserver`. */
  name: string;
  /** Folder of its Go module under `tests/cluster/`. */
  module: "kubernetes" | "etcd" | "kwok";
  /** Go package of its `main`. */
  pkg: string;
}

/** Every program, in build order (the quick ones first, so a newcomer sees progress). */
export const COMPONENTS: readonly Component[] = [
  { name: "etcd", module: "etcd", pkg: "go.etcd.io/etcd/server/v3" },
  { name: "kwok", module: "kwok", pkg: "sigs.k8s.io/kwok/cmd/kwok" },
  { name: "kube-apiserver", module: "kubernetes", pkg: "k8s.io/kubernetes/cmd/kube-apiserver" },
  {
    name: "kube-controller-manager",
    module: "kubernetes",
    pkg: "k8s.io/kubernetes/cmd/kube-controller-manager",
  },
  { name: "kube-scheduler", module: "kubernetes", pkg: "k8s.io/kubernetes/cmd/kube-scheduler" },
  { name: "kubectl", module: "kubernetes", pkg: "k8s.io/kubernetes/cmd/kubectl" },
];

/** Go is not installed, so nothing can be built. */
export class GoMissingError extends Error {
  override name = "GoMissingError";
}

/** A `go build` failed. */
export class BuildError extends Error {
  override name = "BuildError";
}

/** Paths of the built programs, by name. */
export type Binaries = Record<string, string>;

/** The `k8s.io/kubernetes` release the modules pin, e.g. `v1.37.2`. */
export async function kubernetesVersion(): Promise<string> {
  const goMod = await Deno.readTextFile(new URL("kubernetes/go.mod", MODULES));
  // "// indirect": go mod tidy marks what only `tool` lines use so.
  const match = goMod.match(/^\s*k8s\.io\/kubernetes (v\d+\.\d+\.\d+)(\s*\/\/.*)?$/m);
  if (!match) throw new Error("tests/cluster/kubernetes/go.mod requires no k8s.io/kubernetes");
  return match[1];
}

/** `~/.cache/gitfaas/cluster-<version>/bin` (XDG_CACHE_HOME is honoured). */
export async function cacheDir(): Promise<string> {
  const base = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${base}/gitfaas/cluster-${await kubernetesVersion()}/bin`;
}

/** `-ldflags` that make the Kubernetes programs tell their real version. */
function ldflags(version: string): string {
  const [major, minor] = version.slice(1).split(".");
  const flags = ["-s", "-w"];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    flags.push(
      `-X ${pkg}.gitVersion=${version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    );
  }
  return flags.join(" ");
}

/** What a build depends on: the module's go.mod and go.sum, and the flags. */
async function stampOf(component: Component, flags: string): Promise<string> {
  const dir = new URL(`${component.module}/`, MODULES);
  const text = (await Deno.readTextFile(new URL("go.mod", dir))) +
    (await Deno.readTextFile(new URL("go.sum", dir))) + component.pkg + flags;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    return "";
  }
}

/** Options of {@linkcode ensureBinaries}. */
export interface EnsureOptions {
  /** Told one line per program: built, or taken from the cache. */
  progress?: (line: string) => void;
}

/**
 * Builds every program that is missing from the cache or out of date, and returns the paths.
 * Throws {@linkcode GoMissingError} where `go` is not on PATH and something must be built.
 */
export async function ensureBinaries(options: EnsureOptions = {}): Promise<Binaries> {
  const progress = options.progress ?? (() => {});
  const version = await kubernetesVersion();
  const dir = await cacheDir();
  await Deno.mkdir(dir, { recursive: true });
  const flags = ldflags(version);
  const binaries: Binaries = {};
  let index = 0;
  for (const component of COMPONENTS) {
    index++;
    const path = `${dir}/${component.name}`;
    const stamp = await stampOf(component, flags);
    binaries[component.name] = path;
    if (await readOrEmpty(`${path}.stamp`) === stamp) continue;
    const go = onPath("go");
    if (!go) {
      throw new GoMissingError(
        `Go is not installed: it is needed once to build ${component.name} (tests/cluster/)`,
      );
    }
    progress(`building ${component.name} (${index}/${COMPONENTS.length}) into ${dir}…`);
    const started = Date.now();
    // Built next to its final place and renamed, so an interrupted build leaves no half file.
    const partial = `${path}.partial`;
    const output = await new Deno.Command(go, {
      args: [
        "build",
        "-trimpath",
        "-buildvcs=false",
        "-ldflags",
        flags,
        "-o",
        partial,
        component.pkg,
      ],
      cwd: new URL(`${component.module}/`, MODULES),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (output.code !== 0) {
      await Deno.remove(partial).catch(() => undefined);
      throw new BuildError(
        `go build ${component.pkg} failed:\n${new TextDecoder().decode(output.stderr)}`,
      );
    }
    await Deno.rename(partial, path);
    await Deno.writeTextFile(`${path}.stamp`, `${stamp}\n`);
    progress(`built ${component.name} in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  return binaries;
}

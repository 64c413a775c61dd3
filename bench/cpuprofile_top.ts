/**
 * The hottest functions of a V8 `.cpuprofile` (as written by `deno run --cpu-prof`): self time
 * per function, and total time (self plus callees) per function, grouped by name and source
 * position, with the share of all samples; and, for the busy share only (idle samples left
 * out, optionally within a time window), the same per function plus the time per bucket (router
 * folder, server, fetch client, runtime, GC, native work: see {@linkcode bucketOf}).
 *
 * Run: `deno run -A bench/cpuprofile_top.ts <file.cpuprofile> [count] [filter]`, where `filter`
 * keeps only total-time rows whose location contains it (e.g. `/src/`).
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** A V8 CPU profile, as `--cpu-prof` writes it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A function's share of the profile. */
export interface HotFunction {
  name: string;
  location: string;
  selfMs: number;
  totalMs: number;
  selfPercent: number;
  totalPercent: number;
}

/** Self time per source file (`ext:` runtime modules, npm packages, router files, native ops). */
export function hotModules(
  rows: HotFunction[],
): { module: string; selfMs: number; selfPercent: number }[] {
  const byModule = new Map<string, { selfMs: number; selfPercent: number }>();
  for (const r of rows) {
    const module = r.location
      ? r.location.replace(/:\d+$/, "")
      : r.name.startsWith("op_")
      ? "(native ops)"
      : r.name;
    const entry = byModule.get(module) ?? { selfMs: 0, selfPercent: 0 };
    entry.selfMs += r.selfMs;
    entry.selfPercent += r.selfPercent;
    byModule.set(module, entry);
  }
  return [...byModule.entries()].map(([module, e]) => ({
    module,
    selfMs: Math.round(e.selfMs * 10) / 10,
    selfPercent: Math.round(e.selfPercent * 10) / 10,
  })).sort((a, b) => b.selfMs - a.selfMs);
}

/** Samples in `[fromUs, toUs]` of the profile's clock, or all when no window is given. */
export interface SampleWindow {
  fromUs: number;
  toUs: number;
}

/** Self and total time per function of `profile` (within `window`, when given). */
export function hotFunctions(profile: CpuProfile, window?: SampleWindow): HotFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  for (const { id, us } of samples(profile, window)) selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  const key = (frame: CallFrame) => `${frame.functionName || "(anonymous)"}\t${location(frame)}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (const [id, us] of selfUs) {
    all += us;
    const node = byId.get(id)!;
    const k = key(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + us);
    // Count each function once per sample, however deep it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const fk = key(byId.get(at)!.callFrame);
      if (seen.has(fk)) continue;
      seen.add(fk);
      total.set(fk, (total.get(fk) ?? 0) + us);
    }
  }
  return [...total.entries()].map(([k, us]) => {
    const [name, loc] = k.split("\t");
    const s = self.get(k) ?? 0;
    return {
      name,
      location: loc,
      selfMs: Math.round(s / 100) / 10,
      totalMs: Math.round(us / 100) / 10,
      selfPercent: Math.round((1000 * s) / all) / 10,
      totalPercent: Math.round((1000 * us) / all) / 10,
    };
  });
}

/** Each sample's node and the time it stands for, within `window` when given. */
function* samples(
  profile: CpuProfile,
  window?: SampleWindow,
): Iterable<{ id: number; us: number; at: number }> {
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    yield { id: profile.samples[i], us, at };
  }
}

/**
 * The time from the first to the last sample with a frame whose source location contains
 * `needle` on its stack (say, the publish route: the load, not the start-up), or undefined.
 */
export function windowOf(profile: CpuProfile, needle: string): SampleWindow | undefined {
  const { byId, parent } = tree(profile);
  const hit = new Map<number, boolean>();
  const has = (id: number): boolean => {
    const known = hit.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const result = location(node.callFrame).includes(needle) || (up !== undefined && has(up));
    hit.set(id, result);
    return result;
  };
  let fromUs = Infinity;
  let toUs = -Infinity;
  for (const { id, at } of samples(profile)) {
    if (!has(id)) continue;
    fromUs = Math.min(fromUs, at);
    toUs = Math.max(toUs, at);
  }
  return fromUs <= toUs ? { fromUs, toUs } : undefined;
}

/** Where the busy time of a profile went. */
export interface BusyProfile {
  /** Length of the window (or the whole profile). */
  windowMs: number;
  idleMs: number;
  /** Every sample but `(idle)`: JS, native work outside JS (`(program)`) and GC. */
  busyMs: number;
  /** Per function, self and total as a share of the busy time. */
  functions: HotFunction[];
  /** Per bucket ({@linkcode bucketOf}), largest first. */
  buckets: { bucket: string; ms: number; percent: number }[];
}

/** The busy share of `profile` (idle samples left out), within `window` when given. */
export function busyProfile(profile: CpuProfile, window?: SampleWindow): BusyProfile {
  const { byId, parent } = tree(profile);
  const bucketOfNode = new Map<number, string>();
  const bucketFor = (id: number): string => {
    let bucket = bucketOfNode.get(id);
    if (bucket === undefined) {
      const stack: CallFrame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        stack.push(byId.get(at)!.callFrame);
      }
      bucket = bucketOf(stack);
      bucketOfNode.set(id, bucket);
    }
    return bucket;
  };
  const byBucket = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  let firstAt = Infinity;
  let lastAt = -Infinity;
  for (const { id, us, at } of samples(profile, window)) {
    firstAt = Math.min(firstAt, at);
    lastAt = Math.max(lastAt, at);
    const bucket = bucketFor(id);
    if (bucket === IDLE) {
      idleUs += us;
      continue;
    }
    busyUs += us;
    byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + us);
  }
  // Shares of the busy time: hotFunctions gives shares of all samples, idle included.
  const all = busyUs + idleUs;
  const functions = hotFunctions(profile, window).filter((f) => f.name !== IDLE).map((f) => ({
    ...f,
    selfPercent: Math.round((10 * f.selfPercent * all) / busyUs) / 10,
    totalPercent: Math.round((10 * f.totalPercent * all) / busyUs) / 10,
  }));
  return {
    windowMs: Math.round((lastAt - firstAt) / 100) / 10,
    idleMs: Math.round(idleUs / 100) / 10,
    busyMs: Math.round(busyUs / 100) / 10,
    functions,
    buckets: [...byBucket.entries()].map(([bucket, us]) => ({
      bucket,
      ms: Math.round(us / 100) / 10,
      percent: Math.round((1000 * us) / busyUs) / 10,
    })).sort((a, b) => b.ms - a.ms),
  };
}

const IDLE = "(idle)";

/**
 * The bucket of one sample, from its stack (leaf first): idle, GC, native work outside any JS
 * function (`(program)`: V8 and the Rust runtime, where TLS, HTTP parsing and socket calls run),
 * or the first frame, from the leaf up, of a part that says who asked for the work: router
 * code (by folder of `src/`), the `node:http` server (with `node:net`'s sockets), `Deno.serve`,
 * the `fetch` client, an npm package. Frames that any part may run (streams, headers, URL,
 * promises, timers, events, `node:crypto`) are passed over to their caller; a stack with none
 * of those parts is the runtime's own work (a stream or timer run from the event loop), by the
 * module of its leaf.
 */
export function bucketOf(stack: readonly CallFrame[]): string {
  const leaf = stack[0];
  if (leaf.functionName === IDLE) return IDLE;
  if (leaf.functionName === "(garbage collector)") return "GC";
  if (leaf.functionName === "(program)") {
    return "native, outside any JS function (V8, Rust runtime: TLS, HTTP parsing, syscalls)";
  }
  for (const frame of stack) {
    const part = partOf(frame);
    if (part) return part;
  }
  const where = location(leaf).replace(/:\d+$/, "");
  return `runtime, no caller known (${
    where || (leaf.functionName.startsWith("op_") ? "op" : leaf.functionName || "anonymous")
  })`;
}

function partOf(frame: CallFrame): string | undefined {
  const at = location(frame);
  const router = /^src\/([^/]+)\//.exec(at);
  if (router) return `router src/${router[1]}`;
  if (at.startsWith("main.ts")) return "router main.ts";
  if (at.startsWith("npm:")) return `npm ${/^npm:((?:@[^/]+\/)?[^/]+)/.exec(at)?.[1]}`;
  if (
    /^node:(_http_|http|net\b)|^ext:deno_node\/(internal_binding\/(tcp|stream)_wrap|_http)/.test(at)
  ) {
    return "node:http server (and node:net sockets)";
  }
  if (at.startsWith("ext:deno_http/")) return "Deno.serve server";
  if (at.startsWith("ext:deno_fetch/26_fetch") || frame.functionName.startsWith("op_fetch")) {
    return "fetch client";
  }
  return undefined;
}

/** Nodes by id and each node's parent. */
function tree(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  return { byId, parent };
}

function location(frame: CallFrame): string {
  if (!frame.url) return "";
  const url = frame.url
    .replace(/^file:\/\/.*?\/(src|bench|tests|main\.ts)/, "$1")
    .replace(/^file:\/\/.*\/node_modules\/\.deno\//, "npm:")
    .replace(/^file:\/\/.*\/registry\.npmjs\.org\//, "npm:");
  return `${url}:${frame.lineNumber + 1}`;
}

/**
 * The busy share as text: top functions by self time and the buckets, each as a share of the
 * busy time and, given the requests answered in the window, in µs per request: the profile's
 * busy time, or, given `cpuUsPerRequest` (the process's CPU per request from `/proc`), that
 * CPU time split by the same shares. The sampler counts wall time while the thread is busy,
 * which a loaded machine stretches (preempted threads), so the split of measured CPU is the
 * better absolute number.
 */
export function busyReport(
  busy: BusyProfile,
  options: { count?: number; requests?: number; cpuUsPerRequest?: number } = {},
): string {
  const count = options.count ?? 30;
  const { requests, cpuUsPerRequest } = options;
  const per = (ms: number) => {
    if (!requests) return "";
    const us = cpuUsPerRequest ? (cpuUsPerRequest * ms) / busy.busyMs : (1000 * ms) / requests;
    return `${us.toFixed(1).padStart(7)} µs/req  `;
  };
  const pct = (value: number) => `${value.toFixed(1).padStart(5)} %`;
  const shown = busy.buckets.filter((b) => b.percent >= 0.5);
  const rest = busy.buckets.filter((b) => b.percent < 0.5);
  const lines = [
    `window ${busy.windowMs} ms: busy ${busy.busyMs} ms, idle ${busy.idleMs} ms` +
    (requests
      ? `; ${requests} requests answered, ${
        ((1000 * busy.busyMs) / requests).toFixed(1)
      } µs busy per request in the profile` +
        (cpuUsPerRequest
          ? `, ${cpuUsPerRequest.toFixed(1)} µs CPU per request from /proc (µs/req below: ` +
            "that CPU split by the profile's shares)"
          : "")
      : ""),
    "",
    "busy time by bucket (each sample goes to the first frame from the leaf up that names a part)",
    ...shown.map((b) => `${pct(b.percent)}  ${per(b.ms)}${b.bucket}`),
    ...(rest.length
      ? [
        `${pct(rest.reduce((sum, b) => sum + b.percent, 0))}  ${
          per(rest.reduce((sum, b) => sum + b.ms, 0))
        }${rest.length} buckets under 0.5 % each`,
      ]
      : []),
    "",
    `top ${count} functions by self time, share of the busy time`,
    ...[...busy.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, count).map((f) =>
      `${pct(f.selfPercent)}  ${per(f.selfMs)}${f.name}  ${f.location}`
    ),
    "",
    `top ${count} router functions by total time (self and callees), share of the busy time`,
    ...busy.functions.filter((f) => /^(src|main\.ts)/.test(f.location))
      .sort((a, b) => b.totalMs - a.totalMs).slice(0, count).map((f) =>
        `${pct(f.totalPercent)}  ${per(f.totalMs)}${f.name}  ${f.location}`
      ),
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const [file, countText, filter] = Deno.args;
  const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  const count = Number(countText ?? 30);
  const rows = hotFunctions(profile);
  const show = (title: string, list: HotFunction[], field: "selfPercent" | "totalPercent") => {
    console.log(`\n${title}`);
    for (const r of list.slice(0, count)) {
      console.log(
        `${String(r[field]).padStart(5)} %  ${String(r.selfMs).padStart(8)} ms self ` +
          `${String(r.totalMs).padStart(8)} ms total  ${r.name}  ${r.location}`,
      );
    }
  };
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  console.log(`${file}: ${seconds.toFixed(1)} s, ${profile.samples.length} samples`);
  show("self time", [...rows].sort((a, b) => b.selfMs - a.selfMs), "selfPercent");
  console.log("\nself time by file");
  for (const m of hotModules(rows).slice(0, count)) {
    console.log(
      `${String(m.selfPercent).padStart(5)} %  ${String(m.selfMs).padStart(8)} ms  ${m.module}`,
    );
  }
  show(
    `total time${filter ? ` (${filter})` : ""}`,
    rows.filter((r) => !filter || r.location.includes(filter)).sort((a, b) =>
      b.totalMs - a.totalMs
    ),
    "totalPercent",
  );
  console.log("\nbusy share only\n");
  console.log(busyReport(busyProfile(profile), { count }));
}

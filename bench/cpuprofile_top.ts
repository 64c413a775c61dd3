/**
 * The hottest functions of a V8 `.cpuprofile` (as written by `deno run --cpu-prof`): self time
 * per function, and total time (self plus callees) per function, grouped by name and source
 * position, with the share of all samples.
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

interface CpuProfile {
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

/** Self and total time per function of `profile`. */
export function hotFunctions(profile: CpuProfile): HotFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
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

function location(frame: CallFrame): string {
  if (!frame.url) return "";
  const url = frame.url
    .replace(/^file:\/\/.*?\/(src|bench|tests|main\.ts)/, "$1")
    .replace(/^file:\/\/.*\/node_modules\/\.deno\//, "npm:")
    .replace(/^file:\/\/.*\/registry\.npmjs\.org\//, "npm:");
  return `${url}:${frame.lineNumber + 1}`;
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
}

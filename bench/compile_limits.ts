/**
 * What adversarial templates cost to compile now that every file is held to the template
 * limits: time and peak RSS of one compile in a fresh process, for each shape at two sizes (a
 * linear compile takes about twice as long at twice the size), and the longest the main thread
 * goes without a turn of its event loop while a `TemplateWorker` compiles all of them.
 *
 * Run: `deno run -A bench/compile_limits.ts` (prints a Markdown table for BENCHMARKS.md).
 * @module
 */

import { compileTemplate } from "../src/render/template.ts";
import { TemplateWorker } from "../src/topics/template_worker.ts";
import { silenceYamlDebugSwitches } from "../src/render/yaml_debug_switches.ts";
import { memoryOf } from "./lib/proc.ts";

const HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\n";

/** Each shape at size `n`: the issue's cases and their neighbours. */
const SHAPES: Record<string, { sizes: number[]; make: (n: number) => string }> = {
  "empty documents": { sizes: [50_000, 100_000], make: (n) => HEAD + "---\n".repeat(n) },
  "keys of one mapping": {
    sizes: [10_000, 20_000],
    make: (n) => `${HEAD}data:\n${range(n, (i) => `  k${i}: v${i}\n`)}`,
  },
  "keys, over the node limit": {
    sizes: [30_000, 60_000],
    make: (n) => `${HEAD}data:\n${range(n, (i) => `  k${i}: v${i}\n`)}`,
  },
  "values after a delimiter change": {
    sizes: [10_000, 20_000],
    make: (n) => `{{=[[ ]]=}}\n${HEAD}data:\n${range(n, (i) => `  k${i}: "[[v]] x"\n`)}`,
  },
  "aliases of a 20,000-item list": {
    sizes: [500, 999],
    make: (n) =>
      `${HEAD}x: &a\n${range(20_000, (i) => `  - ${i}\n`)}data:\n${
        range(n, (i) => `  k${i}: *a\n`)
      }`,
  },
  "flow sequence items": {
    sizes: [20_000, 40_000],
    make: (n) => `${HEAD}data: [${range(n, () => "0,")}0]\n`,
  },
  "nested flow sequences": {
    sizes: [100_000, 200_000],
    make: (n) => `${HEAD}data: ${"[".repeat(n)}${"]".repeat(n)}\n`,
  },
};

function range(n: number, line: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => line(i)).join("");
}

if (Deno.args[0] === "child") {
  silenceYamlDebugSwitches();
  const source = SHAPES[Deno.args[1]].make(Number(Deno.args[2]));
  const started = performance.now();
  let outcome = "compiled";
  try {
    compileTemplate(source);
  } catch (error) {
    outcome = (error as Error).message.replace(/^line \d+: /, "").slice(0, 60);
  }
  const ms = Math.round(performance.now() - started);
  console.log(
    JSON.stringify({ ms, peakRssMB: memoryOf().peakRssMB, bytes: source.length, outcome }),
  );
} else {
  console.log("| template | size | bytes | compile ms | peak RSS MB | outcome |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const [shape, { sizes }] of Object.entries(SHAPES)) {
    for (const n of sizes) {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(import.meta.url).pathname, "child", shape, String(n)],
        stderr: "inherit",
      }).output();
      const r = JSON.parse(new TextDecoder().decode(output.stdout));
      console.log(
        `| ${shape} | ${n.toLocaleString("en-US")} | ${r.bytes.toLocaleString("en-US")} | ` +
          `${r.ms} | ${r.peakRssMB} | ${r.outcome} |`,
      );
    }
  }

  // All of them at their larger size through one worker, as a build would.
  const sources = Object.values(SHAPES).map(({ sizes, make }) => make(sizes.at(-1)!));
  const worker = new TemplateWorker();
  let longest = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  await Promise.all(sources.map((source) => worker.compile(source).catch(() => undefined)));
  clearInterval(timer);
  worker.close();
  console.log(
    `\nall ${Object.keys(SHAPES).length} through one TemplateWorker: ` +
      `${Math.round(performance.now() - started)} ms, longest main-thread stall ` +
      `${Math.round(longest)} ms`,
  );
}

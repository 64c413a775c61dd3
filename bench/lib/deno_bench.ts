/**
 * Runs `Deno.bench` files with `deno bench --json` in a subprocess and returns their results
 * in milliseconds, so `run.ts` can put them in its table and JSON file.
 * @module
 */

/** One `Deno.bench` result. */
export interface MicroResult {
  file: string;
  name: string;
  /** Iterations measured. */
  n: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  p75Ms: number;
  p99Ms: number;
}

interface BenchJson {
  benches: {
    origin: string;
    name: string;
    results: {
      ok?: { n: number; avg: number; min: number; max: number; p75: number; p99: number };
    }[];
  }[];
}

/** Runs `bench/<file>` and returns its results; throws with its output when it fails. */
export async function denoBench(file: string): Promise<MicroResult[]> {
  const path = new URL(`../${file}`, import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--allow-all", "--json", path],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`deno bench ${file} failed:\n${new TextDecoder().decode(output.stderr)}`);
  }
  const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
  const json = JSON.parse(text) as BenchJson;
  return json.benches.flatMap((b) => {
    const ok = b.results[0]?.ok;
    if (!ok) return [];
    return [{
      file,
      name: b.name,
      n: ok.n,
      avgMs: ms(ok.avg),
      minMs: ms(ok.min),
      maxMs: ms(ok.max),
      p75Ms: ms(ok.p75),
      p99Ms: ms(ok.p99),
    }];
  });
}

/**
 * The rule "no circular imports, type-only included" (DEVELOPERS.md), checked over every module
 * in src/ and main.ts: a cycle fails with the modules that form it.
 */

import { assertEquals } from "./support/assert.ts";

const ROOT = new URL("../", import.meta.url);

/** Relative imports and re-exports of each module, `import type` and `import()` included. */
async function importGraph(): Promise<Map<string, string[]>> {
  const files = [new URL("main.ts", ROOT).pathname];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  await walk(new URL("src", ROOT).pathname);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const specifiers = [
      ...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms),
      ...text.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g),
    ].map((m) => m[1]);
    graph.set(file, specifiers.map((s) => new URL(s, `file://${file}`).pathname));
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the list of modules around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

Deno.test("no module in src/ imports itself through others, type-only imports included", async () => {
  const graph = await importGraph();
  const root = ROOT.pathname;
  const named = cycles(graph).map((cycle) => cycle.map((f) => f.slice(root.length)).join(" → "));
  assertEquals(named, []);
  // The walk saw the modules it should (a broken pattern would find no imports at all).
  const router = graph.get(`${root}src/app/router.ts`) ?? [];
  assertEquals(router.includes(`${root}src/app/components.ts`), true);
});

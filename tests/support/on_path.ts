/**
 * Finding programs on PATH, so tests that need one (kubectl) can skip, saying so, without it.
 * @module
 */

/** The full path of the executable `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (dir && Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

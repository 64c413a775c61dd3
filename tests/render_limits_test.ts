// deno-lint-ignore-file no-explicit-any -- tests count rendered trees
/**
 * The size of what a template renders to is bounded while it compiles (aliases and merge keys
 * expanded), and so are its file size, documents and nesting: a small file cannot stand for a
 * huge object, and the compile stops at the first limit it passes.
 */

import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import {
  compileTemplate,
  renderTemplate,
  TEMPLATE_LIMITS,
  TemplateError,
  type TemplateLimits,
} from "../src/render/template.ts";

const HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

function refused(source: string, expected: RegExp, limits?: TemplateLimits): TemplateError {
  const error = assertThrows(() => compileTemplate(source, { limits }), TemplateError);
  assert(expected.test(error.message), `gave "${error.message}"`);
  return error;
}

/** Mappings, sequences, keys and scalars of a rendered tree, as the limits count them. */
function nodes(value: unknown): number {
  if (Array.isArray(value)) return 1 + value.reduce((n, v) => n + nodes(v), 0);
  if (value !== null && typeof value === "object") {
    return 1 + Object.values(value).reduce((n: number, v) => n + 1 + nodes(v), 0);
  }
  return 1;
}

const TOO_MANY = /renders to more than 50,000 keys, items and values \(aliases and merge keys/;

Deno.test("aliases that expand past the limit are refused, however few they are", () => {
  const list = Array.from({ length: 20_000 }, (_, i) => `  - ${i}\n`).join("");
  // The review's case: 999 aliases of one 20,000-item list, 172 KB of text.
  const aliases = Array.from({ length: 999 }, (_, i) => `  k${i}: *a\n`).join("");
  refused(`${HEAD}x: &a\n${list}data:\n${aliases}`, TOO_MANY);
  // A few aliases of a large list.
  refused(`${HEAD}x: &a\n${list}data: [*a, *a, *a, *a, *a, *a]\n`, TOO_MANY);
  // Billion laughs: ten levels of ten aliases each.
  let laughs = `${HEAD}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n`;
  for (let i = 1; i < 10; i++) laughs += `l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`)}]\n`;
  refused(laughs, TOO_MANY);
  // The same through merge keys: each level merges the one below under ten new keys.
  let merges = `${HEAD}m0: &m0 {${Array.from({ length: 10 }, (_, i) => `k${i}: v`)}}\n`;
  for (let i = 1; i < 12; i++) {
    merges += `m${i}: &m${i} {${
      Array.from({ length: 10 }, (_, j) => `k${j}: {<<: *m${i - 1}}`)
    }}\n`;
  }
  refused(merges, TOO_MANY);
  // Long text, repeated by aliases.
  const text = "x".repeat(100_000);
  refused(
    `${HEAD}s: &s ${text}\ndata: [${Array(50).fill("*s")}]\n`,
    /renders to more than 4,194,304 characters of keys and text/,
  );
});

Deno.test("below the limits, aliases expand into the objects rendered, and are counted", () => {
  const template = compileTemplate(
    `${HEAD}x: &a [1, 2, {k: v}]\ny: &b {a: *a, s: &s text}\ndata: {<<: *b, c: [*a, *s]}\n`,
  );
  const [object] = renderTemplate(template, {}) as any[];
  assertEquals(object.data, { a: [1, 2, { k: "v" }], s: "text", c: [[1, 2, { k: "v" }], "text"] });
  // Each mapping merged in counts once more than it renders: its keys land in another mapping.
  assertEquals(template.size.nodes, nodes(object) + 1);
});

Deno.test("what a template is counted as is never less than what it renders to", () => {
  const names = ["a", "b", "c"];
  const leaf = fc.oneof(
    fc.constantFrom("x", "1", "true", "~", "'q'", "'{{v}}'"),
    fc.constantFrom(...names.map((n) => `*${n}`)),
  );
  const node = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(tie("node"), { maxLength: 4 }).map((items) => `[${items.join(", ")}]`),
      fc.array(fc.tuple(fc.constantFrom("k1", "k2", "k3", "<<"), tie("node")), { maxLength: 4 })
        .map((pairs) => `{${pairs.map(([k, v]) => `${k}: ${v}`).join(", ")}}`),
    ),
  })).node as fc.Arbitrary<string>;
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...names), node), { maxLength: 6 }), (defs) => {
      const body = defs.map(([name, value], i) => `d${i}: &${name} ${value}\n`).join("");
      const limits = { ...TEMPLATE_LIMITS, maxNodes: 2000 };
      let template;
      try {
        template = compileTemplate(HEAD + body, { limits });
      } catch (error) {
        assert(error instanceof TemplateError, String(error));
        return;
      }
      const [object] = renderTemplate(template, { v: "value" });
      assert(nodes(object) <= template.size.nodes, `${body}: ${nodes(object)} rendered`);
      assert(template.size.nodes <= limits.maxNodes);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("a limit is a limit: at it compiles, one past it is refused", () => {
  const source = `${HEAD}data: {a: [1, 2, 3]}\n`;
  const { size } = compileTemplate(source);
  assertEquals(size, { nodes: 16, text: 44 });
  const exact = { ...TEMPLATE_LIMITS, maxNodes: size.nodes, maxText: size.text };
  compileTemplate(source, { limits: exact });
  refused(source, /more than 15 keys/, { ...exact, maxNodes: size.nodes - 1 });
  refused(source, /more than 43 characters/, { ...exact, maxText: size.text - 1 });
});

Deno.test("files of too many documents are refused, empty documents counted", () => {
  const document = `---\n${HEAD}`;
  compileTemplate(document + "---\n".repeat(999));
  refused(
    document + "---\n".repeat(1000),
    /line 1005: the file holds more than 1,000 YAML documents/,
  );
  refused("---\n".repeat(100_000), /more than 1,000 YAML documents/);
  refused(document.repeat(1001), /more than 1,000 YAML documents/);
});

Deno.test("nesting deeper than the limit is refused, however deep", () => {
  const nested = (depth: number) => `${HEAD}data: {a: ${"[".repeat(depth)}${"]".repeat(depth)}}\n`;
  compileTemplate(nested(98));
  refused(nested(99), /line 5: mappings and sequences are nested more than 100 deep/);
  // Stopped while it is read: the parser's tree of 100,000 open sequences is never built.
  refused(nested(100_000), /line 5: mappings and sequences are nested more than 100 deep/);
  let block = `${HEAD}data:\n`;
  for (let i = 0; i < 200; i++) block += `${"  ".repeat(i + 1)}k:\n`;
  refused(block, /nested more than 100 deep/);
});

Deno.test("more YAML than the node limit can be written in is stopped while it is read", () => {
  // 800 KB, under the file limit: 400,000 items, each a few hundred bytes in the parser's tree.
  refused(
    `${HEAD}data: [${Array(400_000).fill(0)}]\n`,
    /line 5: the template renders to more than 50,000 keys, items and values \(it holds more/,
  );
  // A comment line counts as half a node.
  let comments = HEAD;
  for (let i = 0; i < 15_000; i++) comments += `# comment ${i}\n`;
  compileTemplate(comments, { limits: { ...TEMPLATE_LIMITS, maxNodes: 10_000 } });
});

Deno.test("a file larger than the limit is refused, counted in UTF-8 bytes", () => {
  const limits = { ...TEMPLATE_LIMITS, maxBytes: 1000 };
  const padded = (char: string, count: number) => `${HEAD}data: {a: "${char.repeat(count)}"}\n`;
  const fits = padded("é", (1000 - padded("", 0).length) / 2);
  assertEquals(new TextEncoder().encode(fits).length, 1000);
  compileTemplate(fits, { limits });
  refused(
    fits + " ",
    /the file is 1001 B, more than the 1000 B a manifest template may be/,
    limits,
  );
  refused(padded("x", 2_000_000), /the file is 1.9 MiB, more than the 1 MiB/);
});

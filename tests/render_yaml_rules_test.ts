// deno-lint-ignore-file no-explicit-any -- tests reach into rendered objects
/**
 * What a template may be made of: only what a Kubernetes object holds (mappings with scalar
 * keys, sequences, strings, numbers, booleans, null). Tags outside the YAML core schema,
 * collection keys and templated keys are refused at build, a value name is looked up in the
 * values given and nowhere else, and nothing of the compiler's own placeholders ever reaches a
 * rendered object.
 */

import fc from "fast-check";
import { parse } from "yaml";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./support/assert.ts";
import { compileTemplate, renderTemplate, TemplateError } from "../src/render/template.ts";

const HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

/** The `data` of the one object `body` (after HEAD) renders to. */
function data(body: string, values: Record<string, string> = {}): unknown {
  return (renderTemplate(compileTemplate(HEAD + body), values)[0] as any).data;
}

function refused(body: string, expected: RegExp): void {
  const error = assertThrows(() => compileTemplate(HEAD + body), TemplateError);
  assert(expected.test(error.message), `${JSON.stringify(body)} gave "${error.message}"`);
}

Deno.test("a value name is looked up in the values given, never in what objects inherit", () => {
  const inherited = [...Object.getOwnPropertyNames(Object.prototype), "__proto__", "prototype"];
  for (const name of inherited) {
    assertEquals(data(`data: {a: "{{${name}}}", b: x{{${name}}}, c: {{${name}}}}\n`), {
      a: "",
      b: "x",
      c: null,
    }, name);
  }
  fc.assert(
    fc.property(
      fc.constantFrom(...inherited),
      fc.string({ unit: fc.constantFrom(..."abc 12"), maxLength: 5 }),
      (name, value) => {
        const values = JSON.parse(`{${JSON.stringify(name)}: ${JSON.stringify(value)}}`);
        assertEquals(data(`data: {a: "{{${name}}}"}\n`, values), { a: value });
      },
    ),
  );
});

Deno.test("tags outside the YAML core schema are refused, on values, keys and collections", () => {
  const unsupported = /line \d+: the tag .* is not supported: Kubernetes objects take !!str/;
  for (
    const body of [
      "data: {a: !!binary aGVsbG8=}\n",
      "data:\n  a: !!set {x, y}\n",
      "data:\n  a: !!omap [x: 1]\n",
      "data:\n  a: !!pairs [x: 1]\n",
      "data:\n  a: !!timestamp 2001-12-14\n",
      "data: {a: !local x}\n",
      "data: {a: ! 12}\n",
      "data: {a: !<tag:yaml.org,2002:binary> aGk=}\n",
      "data: {a: !!python/object:os.system x}\n",
      "data: !!set {x, y}\n",
      "data: {!!binary aGk=: x}\n",
      "data: {a: !!binary '{{v}}'}\n",
      "data: !!seq {a: 1}\n",
      "data: !!map [1]\n",
    ]
  ) refused(body, unsupported);

  fc.assert(
    fc.property(
      fc.stringMatching(/^[a-z][a-z0-9/:.]{0,12}$/),
      fc.constantFrom("x", "1", "[x]", "{x: 1}", "'{{v}}'"),
      (name, value) => {
        for (const tag of [`!!${name}`, `!${name}`]) {
          const core = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq"];
          try {
            data(`data: {a: ${tag} ${value}}\n`);
            assert(core.includes(tag), `${tag} ${value} was accepted`);
          } catch (error) {
            assert(error instanceof TemplateError, String(error));
          }
        }
      },
    ),
  );
});

Deno.test("the core schema's tags type their scalar, and refuse text they cannot read", () => {
  assertEquals(
    data('data: {s: !!str 12, i: !!int "12", f: !!float 1.5, b: !!bool "true", n: !!null ~}\n'),
    { s: "12", i: 12, f: 1.5, b: true, n: null },
  );
  assertEquals(data("data: !!map {l: !!seq [a]}\n"), { l: ["a"] });
  refused("data: {a: !!int abc}\n", /"abc" is not a valid !!int value/);
  refused("data: {a: !!bool yes}\n", /not a valid !!bool value/);
  refused("data: {a: !!int '{{n}}'}\n", /cannot sit in a scalar with the explicit tag !!int/);
});

Deno.test("a %YAML 1.1 directive does not change how values are typed", () => {
  const [object] = renderTemplate(
    compileTemplate(`%YAML 1.1\n---\n${HEAD}data: {a: yes, b: 2001-12-14, c: 0777}\n`),
    {},
  ) as any[];
  assertEquals(object.data, { a: "yes", b: "2001-12-14", c: 777 });
});

Deno.test("keys are strings, numbers or booleans written out: never a collection, never a value", () => {
  for (
    const body of [
      "data:\n  ? [a, b]\n  : x\n",
      "data: {[a]: 1}\n",
      "data: {? {a: b} : 1}\n",
      "data:\n  ? ['{{v}}']\n  : x\n",
      "data: {[{{v}}]: 1}\n",
      "data: {? {a: '{{v}}'} : 1}\n",
      "data: {&k [x]: 1, b: 2}\n",
      "data:\n  ? !!set {x}\n  : y\n",
    ]
  ) refused(body, /a mapping key must be a string, a number or a boolean/);
  for (
    const body of [
      "data: {'{{v}}': 1}\n",
      'data: {"a{{v}}": 1}\n',
      "data:\n  {{v}}: 1\n",
      "data:\n  ? {{v}}\n  : 1\n",
      "data:\n  ? |\n    {{v}}\n  : 1\n",
      "data: {a: &k 'x{{v}}', *k : 1}\n",
    ]
  ) refused(body, /a mapping key cannot contain a \{\{value\}\}/);
  assertEquals(data("data: {1: a, true: b, 1.5: c, ~: d}\n"), {
    "1": "a",
    "true": "b",
    "1.5": "c",
    "": "d",
  });
});

Deno.test("a key written twice in one mapping is refused, however it is written", () => {
  for (
    const body of [
      "data:\n  a: 1\n  a: 2\n",
      "data: {a: 1, 'a': 2}\n",
      'data: {1: x, "1": y}\n',
      "data: {1: x, 1.0: y}\n",
      "data: {true: x, 'true': y}\n",
      "data: {~: x, '': y}\n",
    ]
  ) refused(body, /invalid YAML: the key ".*" appears twice in one mapping/);
  // A key merged in is replaced by one written out: that is what merge keys are for.
  assertEquals(data("base: &b {a: 1, b: 2}\ndata: {<<: *b, a: 3}\n"), { a: 3, b: 2 });
});

Deno.test("aliases and merge keys give what YAML gives", () => {
  const cases = [
    "base: &b {a: 1, b: [x, {c: 2}]}\ndata: {one: *b, two: *b}\n",
    "base: &b {a: 1, b: 2}\ndata:\n  <<: *b\n  b: 3\n",
    "data:\n  b: 3\n  <<: {a: 1, b: 2}\n",
    "x: &x {a: 1}\ny: &y {a: 2, b: 2}\ndata: {<<: [*x, *y], c: 3}\n",
    "x: &x {a: 1}\ndata: {<<: [*x, {b: 2}], <<: {c: 3}}\n",
    "l: &l [1, 2]\ndata: {a: *l, s: &s text, t: *s}\n",
    "a: &a 1\nb: &a 2\ndata: {v: *a}\n",
    "x: &x {a: &a 1}\nb: &a 2\ndata: {v: *a, w: *x}\n",
    "x: &x [&a 1]\nb: &a 2\nc: *x\ndata: {v: *a}\n",
    "n: &n {inner: &i {k: v}, more: *i}\ndata: {<<: *n, again: *n}\n",
    "data: {'<<': literal, a: 1}\n",
  ];
  for (const body of cases) {
    const expected = parse(HEAD + body, { merge: true });
    const [object] = renderTemplate(compileTemplate(HEAD + body), {}) as any[];
    assertEquals(JSON.parse(JSON.stringify(object)), JSON.parse(JSON.stringify(expected)), body);
  }
});

Deno.test("aliases that cannot be resolved, or refer to what contains them, are refused", () => {
  refused("data: {a: *nothing}\n", /the alias \*nothing has no anchor &nothing before it/);
  refused("data: {a: *later, b: &later 1}\n", /has no anchor/);
  refused("data: &d {a: *d}\n", /an alias refers to a mapping or sequence that contains it/);
  refused("data: &d [x, *d]\n", /contains it/);
  refused("data: &d {<<: *d}\n", /contains it/);
  refused("data: {<<: [1, 2]}\n", /a merge key \(<<\) takes a mapping/);
  refused("s: &s text\ndata: {<<: *s}\n", /a merge key \(<<\) takes a mapping/);
});

/**
 * YAML-ish text in which `{{v}}` lands anywhere: keys, flow and block collections, anchors,
 * aliases, tags, block scalars.
 */
const fragment = fc.constantFrom(
  "{{v}}",
  "{{v}}",
  "a",
  "b",
  "1",
  ": ",
  ":",
  " ",
  "  ",
  "\n",
  "\n  ",
  "\n    ",
  "- ",
  "[",
  "]",
  "{",
  "}",
  ", ",
  "? ",
  "&x ",
  "*x",
  "&y ",
  "*y",
  "!!str ",
  "'",
  '"',
  "<<: ",
  "|\n    ",
  ">\n    ",
  "# c\n",
  "---\n",
);

Deno.test("no template, however odd, leaks a placeholder or fails with anything but a TemplateError", () => {
  const leak = /gf[a-z]{10}/;
  const strings = (value: unknown): string[] =>
    Array.isArray(value)
      ? value.flatMap(strings)
      : value !== null && typeof value === "object"
      ? Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)])
      : [String(value)];
  let compiled = 0;
  fc.assert(
    fc.property(fc.array(fragment, { maxLength: 30 }), (pieces) => {
      const source = `${HEAD}data:\n  ${pieces.join("")}\n`;
      let template;
      try {
        template = compileTemplate(source);
      } catch (error) {
        assert(error instanceof TemplateError, `${JSON.stringify(source)}: ${error}`);
        assert(!leak.test((error as Error).message), (error as Error).message);
        return;
      }
      compiled++;
      const objects = renderTemplate(template, { v: "VALUE" });
      for (const text of strings(objects)) assert(!leak.test(text), `${source} gave ${text}`);
    }),
    { numRuns: 3000 },
  );
  assert(compiled > 100, `only ${compiled} of the random templates compiled`);
});

Deno.test("a YAML error quoting a value's place shows the {{tag}}, never a placeholder", () => {
  // Found by the property test above: the parser's message quotes the token it stopped at.
  const source = `${HEAD}data:\n  ---\n---\n*y---\n\n{{v}}`;
  let message = "";
  try {
    compileTemplate(source);
  } catch (error) {
    assert(error instanceof TemplateError);
    message = error.message;
  }
  assertStringIncludes(message, '"{{v}}"');
  assert(!/gf[a-z]{10}/.test(message), message);
});

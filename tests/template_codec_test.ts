/**
 * Compiled templates written as JSON and read back render exactly what the compiled template
 * renders, and the JSON form is pinned, so a change to it must come with a new format name.
 */

import fc from "fast-check";
import { stringify } from "yaml";
import { assertEquals, assertThrows } from "./support/assert.ts";
import { compileTemplate, renderTemplate } from "../src/render/template.ts";
import { decodeTemplate, encodeTemplate, TEMPLATE_FORMAT } from "../src/render/template_codec.ts";

const viaJson = (template: ReturnType<typeof compileTemplate>) =>
  decodeTemplate(JSON.parse(JSON.stringify(encodeTemplate(template))));

const TEMPLATE = `apiVersion: batch/v1
kind: Job
metadata:
  name: job-{{RANDOM}}
  labels: {plain: {{v}}, quoted: "{{v}}", "__proto__": x}
spec:
  parallelism: {{v}}
  activeDeadlineSeconds: .inf
  completions: .nan
  template:
    spec:
      containers:
        - args: [{{v}}, "a{{v}}b", '{{v}}', 1, true, null, ~, 2001-12-14]
          env:
            - {name: SCRIPT, value: "|\\n {{MESSAGE}}"}
            - name: BLOCK
              value: |
                {{v}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {o: "{\\"o\\": 1}", a: "[1]", t: x}
`;

Deno.test("a template read back from JSON renders what it rendered before", () => {
  const template = compileTemplate(TEMPLATE);
  const restored = viaJson(template);
  for (const v of ["2", "true", "x: y", "", "- a", "0x1F", "null", "{a: 1}"]) {
    const values = { v, RANDOM: "r1", MESSAGE: "bWVzc2FnZQ==" };
    assertEquals(renderTemplate(restored, values), renderTemplate(template, values), v);
  }
  assertEquals(restored.valueNames, template.valueNames);
  assertEquals(
    restored.documents.map((d) => [d.index, d.line]),
    template.documents.map((d) => [d.index, d.line]),
  );
});

Deno.test("any YAML mapping with values anywhere survives the JSON round trip", () => {
  const key = fc.string({ maxLength: 6 });
  const text = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom("{{v}}", "a{{v}}", "{{v}}:{{w}}", "{{MESSAGE}}"),
  );
  const leaf = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("tree"), { maxLength: 4 }),
      fc.dictionary(key, tie("tree"), { maxKeys: 4 }),
    ),
  }));
  const document = fc.dictionary(key, tree, { minKeys: 1, maxKeys: 5 });
  fc.assert(
    fc.property(document, fc.string(), fc.string(), (object, v, w) => {
      // Mustache tags inside YAML strings: stringify quotes some and leaves others plain.
      const source = "apiVersion: v1\nkind: ConfigMap\n" +
        stringify({ data: object }).replaceAll(/'?"?\{\{(\w+)\}\}"?'?/g, "{{$1}}");
      let template;
      try {
        template = compileTemplate(source);
      } catch {
        return; // not every generated text is a valid template; those are refused at build
      }
      const values = { v, w, MESSAGE: "bWVzc2FnZQ==" };
      assertEquals(renderTemplate(viaJson(template), values), renderTemplate(template, values));
    }),
    { numRuns: 500 },
  );
});

Deno.test("numbers JSON cannot write come back as they were, -0 included", () => {
  const template = viaJson(compileTemplate(
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: [-0.0, .nan, .inf, -.inf, 0]\n",
  ));
  const [object] = renderTemplate(template, {}) as { data: number[] }[];
  assertEquals(object.data.map((n) => Object.is(n, -0) ? "-0" : String(n)), [
    "-0",
    "NaN",
    "Infinity",
    "-Infinity",
    "0",
  ]);
});

Deno.test("the JSON form is pinned: changing it needs a new TEMPLATE_FORMAT", () => {
  const encoded = encodeTemplate(compileTemplate(
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "cm-{{RANDOM}}"}\n` +
      `data: {n: {{n}}, list: [a, .inf], "__proto__": x}\n`,
  ));
  assertEquals(TEMPLATE_FORMAT, "gitfaas-compiled-template/2");
  assertEquals(
    JSON.stringify(encoded),
    JSON.stringify({
      documents: [{
        index: 0,
        line: 1,
        root: {
          o: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { o: { name: { t: ["cm-", ["RANDOM"]], p: false } } },
            data: {
              o: JSON.parse(
                '{"n":{"t":[["n"]],"p":true},"list":{"a":["a",{"n":"Infinity"}]},"__proto__":"x"}',
              ),
            },
          },
        },
      }],
      valueNames: ["RANDOM", "n"],
      size: { nodes: 19, text: 60 },
    }),
  );
});

Deno.test("anything but an encoded template is refused, not half read", () => {
  for (
    const bad of [
      null,
      {},
      { documents: [], valueNames: [1] },
      { documents: [{ index: 0, line: 1, root: { x: 1 } }], valueNames: [] },
      { documents: [{ index: 0, line: 1, root: { t: [[1]], p: true } }], valueNames: [] },
      { documents: [{ index: 0, line: 1, root: { n: "1" } }], valueNames: [] },
    ]
  ) assertThrows(() => decodeTemplate(bad), TypeError);
});

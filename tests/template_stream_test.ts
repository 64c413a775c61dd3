/**
 * A compiled template sent as chunks (from the compile worker) is rebuilt into the template it
 * was, whatever its shape and wherever the chunks cut it, and a broken stream is refused.
 */

import fc from "fast-check";
import { stringify } from "yaml";
import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { compileTemplate, renderTemplate } from "../src/render/template.ts";
import { streamTemplate, unstreamTemplate } from "../src/render/template_stream.ts";

const noPause = () => Promise.resolve();

Deno.test("any template comes back from its chunks as it was", async () => {
  const key = fc.string({ maxLength: 6 });
  const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("{{v}}", "a{{v}}b"));
  const leaf = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof(
      { depthSize: "small" },
      leaf,
      fc.array(tie("tree"), { maxLength: 4 }),
      fc.dictionary(key, tie("tree"), { maxKeys: 4 }),
      // Wide enough for a mapping or a list to span chunks.
      fc.array(leaf, { minLength: 300, maxLength: 1200 }),
    ),
  }));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.dictionary(key, tree), { minLength: 1, maxLength: 3 }), async (
      objects,
    ) => {
      const source = objects.map((data, i) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "n${i}"}\n` +
        stringify({ data }).replaceAll(/'?"?\{\{(\w+)\}\}"?'?/g, "{{$1}}")
      ).join("---\n");
      let template;
      try {
        template = compileTemplate(source);
      } catch {
        return; // not every generated text is a valid template
      }
      const rebuilt = await unstreamTemplate(
        JSON.parse(JSON.stringify(streamTemplate(template))),
        noPause,
      );
      assertEquals(rebuilt.valueNames, template.valueNames);
      assertEquals(rebuilt.size, template.size);
      assertEquals(rebuilt.documents.map((d) => [d.index, d.line]), [
        ...template.documents.map((d) => [d.index, d.line]),
      ]);
      for (const v of ["1", "x: y", ""]) {
        assertEquals(renderTemplate(rebuilt, { v }), renderTemplate(template, { v }));
      }
    }),
    { numRuns: 60 },
  );
});

Deno.test("a large template comes back in many chunks, pausing after each", async () => {
  const data = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, `v${i}`]));
  const template = compileTemplate(
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, "__proto__": p}\ndata: ` +
      JSON.stringify(data) + "\n",
  );
  const streamed = streamTemplate(template);
  assert(streamed.chunks.length >= 10, `${streamed.chunks.length} chunks`);
  let pauses = 0;
  const rebuilt = await unstreamTemplate(streamed, () => (pauses++, Promise.resolve()));
  assertEquals(pauses, streamed.chunks.length);
  assertEquals(renderTemplate(rebuilt, {}), renderTemplate(template, {}));
  const [object] = renderTemplate(rebuilt, {}) as { metadata: object }[];
  assertEquals(Object.keys(object.metadata), ["name", "__proto__"]);
});

Deno.test("a stream cut short or holding anything else is refused", async () => {
  const streamed = streamTemplate(
    compileTemplate("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: [1, 2]\n"),
  );
  const broken = [
    { ...streamed, chunks: [streamed.chunks[0].replace(/,2\]$/, "]")] },
    { ...streamed, chunks: ['[{"o":1},5,"x"]'] },
    { ...streamed, chunks: ['[{"z":1}]'] },
    { ...streamed, chunks: ["{}"] },
    { ...streamed, documents: [...streamed.documents, { index: 1, line: 9 }] },
  ];
  for (const stream of broken) {
    await assertRejects(() => unstreamTemplate(stream, noPause), TypeError);
  }
});

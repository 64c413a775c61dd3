/**
 * Property tests of the templating invariant: whatever a body or query value holds, the
 * rendered objects have exactly the template's tree of mappings, sequences and keys, and the
 * body comes back byte for byte from MESSAGE.
 */

import fc from "fast-check";
import { Buffer } from "node:buffer";
import { assertEquals } from "./support/assert.ts";
import { compileTemplate, renderTemplate } from "../src/render/template.ts";
import {
  BUILT_IN_NAMES,
  manifestValues,
  publishSeed,
  requestValues,
} from "../src/publish/values.ts";

/** Values land quoted, unquoted, inside larger strings, in lists and in block scalars. */
const TEMPLATE = `apiVersion: batch/v1
kind: Job
metadata:
  name: job-{{RANDOM}}
  labels:
    plain: {{v}}
    quoted: "{{v}}"
    single: '{{v}}'
  annotations:
    mixed: prefix {{v}} suffix
    body: {{MESSAGE}}
spec:
  parallelism: {{v}}
  template:
    spec:
      containers:
        - name: main
          image: "busybox:{{v}}"
          args: [{{v}}, "{{v}}", '{{v}}', x{{v}}]
          command:
            - {{v}}
            - sh
          env:
            - name: LITERAL
              value: |
                first {{v}}
                {{v}}
            - name: FOLDED
              value: >-
                {{v}} folded
            - name: MESSAGE
              value: "{{MESSAGE}}"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: "cm-{{RANDOM}}"}
data: {a: {{v}}, b: "{{v}}", c: [{{v}}]}
`;

/** The tree of an object with every scalar replaced by one marker: its structure alone. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shape(v)]),
    );
  }
  return "*";
}

/** Strings made of the characters that break text templating, and then some. */
const nasty = fc.oneof(
  fc.string({
    unit: fc.constantFrom(..."\"'\\\n\r\t:-#&*!|>%@`{}[],?~ \u00e9\u2713\u{1F680}"),
    maxLength: 40,
  }),
  fc.constantFrom(
    "",
    "\n---\napiVersion: v1\nkind: Secret",
    '", "evil": "yes',
    "x'\n  evil: true",
    "\nkind: Role",
    "{{v}}",
    "...",
    "null",
    "true",
    "12",
    "0x1F",
    "- item",
    "a: b",
    "*alias",
    "&anchor x",
    "!!binary x",
    "x".repeat(10_000),
  ),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 30 }),
);

const compiled = compileTemplate(TEMPLATE);
const reference = renderTemplate(
  compiled,
  Object.fromEntries(compiled.valueNames.map((n) => [n, "placeholder"])),
).map(shape);

Deno.test("no value changes the structure of what is rendered", () => {
  fc.assert(
    fc.property(nasty, fc.uint8Array({ maxLength: 200 }), (value, body) => {
      const request = requestValues("t", body, {
        query: [["v", value]],
        requestUuid: publishSeed("t"),
      });
      const objects = renderTemplate(compiled, manifestValues(request, 0), {
        stringNames: BUILT_IN_NAMES,
      });
      assertEquals(objects.map(shape), reference);
      // deno-lint-ignore no-explicit-any
      const job = objects[0] as any;
      const message = job.spec.template.spec.containers[0].env[2].value;
      assertEquals(new Uint8Array(Buffer.from(message, "base64")), body);
      assertEquals(job.metadata.annotations.body, message);
      assertEquals(job.metadata.labels.quoted, value);
      assertEquals(job.metadata.annotations.mixed, `prefix ${value} suffix`);
      assertEquals(job.spec.template.spec.containers[0].env[0].value, `first ${value}\n${value}\n`);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("a body of any bytes comes back byte for byte from MESSAGE", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), (body) => {
      const request = requestValues("t", body, { query: [], requestUuid: publishSeed("t") });
      // deno-lint-ignore no-explicit-any
      const [job] = renderTemplate(compiled, manifestValues(request, 0)) as any[];
      const message = job.spec.template.spec.containers[0].env[2].value;
      assertEquals(new Uint8Array(Buffer.from(message, "base64")), body);
    }),
    { numRuns: 2000 },
  );
});

/**
 * The two ways a template's YAML is compiled give the same result: documents read from yaml's
 * syntax tree directly (`yaml_cst_tree.ts`) and documents read through yaml's composer
 * (`composeOnly`, the reference). Random templates, valid and broken, must compile to the same
 * documents, value names and size, or fail with the same message on the same line.
 */

import fc from "fast-check";
import { Parser } from "yaml";
import { compileTemplate, TEMPLATE_LIMITS, type TemplateLimits } from "../src/render/template.ts";
import { cstDocumentTree } from "../src/render/yaml_cst_tree.ts";
import { assert, assertEquals } from "./support/assert.ts";

/** Scalars that are valid anywhere a value goes; HOSTILE ones now and then. */
const SCALARS = [
  "word",
  "two words",
  "a-b_c.d/e:f",
  "1",
  "-2",
  "+3",
  "007",
  "0x1F",
  "0o17",
  "1e3",
  "-1.5E-2",
  ".5",
  "1.",
  ".inf",
  "-.Inf",
  ".nan",
  "~",
  "null",
  "Null",
  "NULL",
  "true",
  "False",
  "TRUE",
  "yes",
  "on",
  "<<",
  "",
  "12345678901234567890",
  "x #not a comment",
  "'single'",
  "'it''s'",
  "'{{v}}'",
  '"double"',
  '"esc \\n \\t \\x41 \\u00e9 \\" \\\\"',
  '"{{v}} in quotes"',
  "a:b",
  "é ü 日本",
  "trailing   ",
  "[a, b]",
  "[ 1 , two , '3', \"{{v}}\" ]",
  "[]",
  "{}",
  "{a: 1, b: [x, {y: z}]}",
  "{'k': \"v\", n: null, t: true}",
  "[[1], {x: {{v}}}]",
  "{a: 1, a: 2}",
  "[a, b] # after",
  "{{v}}",
  "x{{v}}y",
  "{{v}}{{w}}",
  "{{ RANDOM }}",
];

const HOSTILE_SCALARS = [
  "[a,]",
  "[,a]",
  "[a,,b]",
  "[a b]",
  "{a:1}",
  "{a: }",
  "{a, b: c}",
  "[a: 1]",
  "[a, b]#tight",
  "[a,\n b]",
  "{a: 1 # c\n}",
  "[a\tb]",
  "[a, - b]",
  "{<<: {a: 1}}",
  "[a, b",
  "{k{{v}}: x}",
  "multi\n  line plain",
  '"multi\n  line quoted"',
  "#comment",
  "@reserved",
  "`tick",
  "%percent",
  "'unclosed",
  '"bad \\q escape"',
  '"unclosed',
  "!!str 12",
  "!!int x",
  "!custom x",
  "&anchor value",
  "*anchor",
  "[1, two, {{v}}]",
  "{a: 1, b: [x]}",
  "[]",
  "{}",
  "- item",
  "key: value",
  "? explicit",
  "tab\there",
];

const KEYS = [
  "a",
  "b",
  "c",
  "d",
  "name",
  "__proto__",
  "constructor",
  "1",
  "0x10",
  "true",
  "~",
  '"quoted"',
  "'single'",
  "with space",
];

const HOSTILE_KEYS = [
  "null",
  '""',
  "<<",
  '"<<"',
  "{{v}}",
  "k{{v}}",
  "x".repeat(1030),
  "? a",
  "[k]",
  "&k a",
  "*k",
  "!!str k",
  "-",
  "k\tk",
];

const BLOCKS = [
  "|\n{i}  line one\n{i}  line {{v}}\n",
  ">-\n{i}  folded\n{i}  text\n",
  "|+\n{i}  keep\n\n",
  "| # comment\n{i}  x\n",
];

const HOSTILE_BLOCKS = [
  "|2\n{i}    two more\n",
  "|\n{i}\n{i}    more-indented first\n{i}  x\n",
  "|x\n{i}  bad header\n",
  ">\n",
];

type Shape = { map: [string, Shape][] } | { seq: Shape[] } | { scalar: string } | {
  block: string;
};

/** Mostly from `safe`, one time in thirty from `hostile`. */
const mostly = (safe: string[], hostile: string[]) =>
  fc.oneof({ arbitrary: fc.constantFrom(...safe), weight: 29 }, {
    arbitrary: fc.constantFrom(...hostile),
    weight: 1,
  });
const scalar = mostly(SCALARS, HOSTILE_SCALARS).map((s): Shape => ({ scalar: s }));
const block = mostly(BLOCKS, HOSTILE_BLOCKS).map((s): Shape => ({ block: s }));
const key = mostly(KEYS, HOSTILE_KEYS);
const { shape } = fc.letrec((tie) => ({
  shape: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    block,
    tie("map"),
    tie("seq"),
  ) as fc.Arbitrary<Shape>,
  map: fc.uniqueArray(fc.tuple(key, tie("shape")), {
    minLength: 1,
    maxLength: 5,
    selector: ([k]) => k,
  })
    .map((entries): Shape => ({ map: entries as [string, Shape][] })),
  seq: fc.array(tie("shape"), { minLength: 1, maxLength: 4 }).map((items): Shape => ({
    seq: items as Shape[],
  })),
}));

/** How each line is written: indent step, comments, blank lines, stray spaces and tabs. */
const style = fc.record({
  step: fc.constantFrom(2, 2, 4, 1, 3),
  comment: mostly(["", "", " # note"], ["# tight", "\t# tab"]),
  blank: mostly(["", "", "\n", "  \n", "# line\n"], ["\t\n"]),
  after: mostly([" ", " ", "  "], ["\t", ""]),
  wobble: mostly(["0"], ["1", "-1"]).map(Number),
});

function write(node: Shape, indent: number, s: Style, out: string[]): string {
  const pad = " ".repeat(Math.max(0, indent));
  if ("scalar" in node) return node.scalar;
  if ("block" in node) return node.block.replaceAll("{i}", pad);
  const lines: string[] = [];
  if ("map" in node) {
    node.map.forEach(([key, value], i) => {
      const at = " ".repeat(Math.max(0, indent + (i === 1 ? s.wobble : 0)));
      lines.push(s.blank + at + key + ":" + entry(value, indent, s, out));
    });
  } else {
    for (const item of node.seq) lines.push(s.blank + pad + "-" + entry(item, indent, s, out));
  }
  return "\n" + lines.join("");
}

type Style = { step: number; comment: string; blank: string; after: string; wobble: number };

function entry(value: Shape, indent: number, s: Style, out: string[]): string {
  if ("map" in value || "seq" in value) {
    return s.comment + write(value, indent + s.step, s, out);
  }
  const text = write(value, indent + s.step, s, out);
  if ("block" in value) return s.after + text;
  return s.after + text + s.comment + "\n";
}

/** Whole files: one or more documents, with separators, directives and ends now and then. */
const root = fc.oneof({ arbitrary: shape, weight: 1 }, {
  arbitrary: fc.uniqueArray(fc.tuple(key, shape), {
    minLength: 1,
    maxLength: 6,
    selector: ([k]) => k,
  }).map((entries): Shape => ({ map: entries })),
  weight: 9,
});
const file = fc.tuple(
  fc.array(fc.tuple(root, style, fc.constantFrom("", "---\n", "--- # c\n", "---\n\n")), {
    minLength: 1,
    maxLength: 3,
  }),
  mostly(["", "", "# header\n"], ["%YAML 1.2\n---\n", "\uFEFF", "%TAG ! tag:x,2000:\n---\n"]),
  mostly(["", "", "# end\n"], ["...\n", "--- x\n", "...\n# c\n"]),
).map(([docs, head, tail]) => {
  const out: string[] = [];
  const text = docs.map(([root, s, sep], i) => {
    const body = write(root, 0, s, out);
    return (i > 0 || sep ? sep || "---\n" : "") + body.replace(/^\n/, "") + "\n";
  }).join("");
  return head + text + tail;
});

/** The outcome of a compile, as a caller sees it. */
function outcome(source: string, options: { composeOnly: boolean; limits?: TemplateLimits }) {
  try {
    const { documents, valueNames, size } = compileTemplate(source, options);
    return { documents, valueNames, size };
  } catch (error) {
    const { message, line } = error as { message: string; line?: number };
    return { error: message, line };
  }
}

function sameOutcome(source: string, limits?: TemplateLimits) {
  const direct = outcome(source, { composeOnly: false, limits });
  const composed = outcome(source, { composeOnly: true, limits });
  assertEquals(direct, composed, JSON.stringify(source));
  return direct;
}

/** Whether some document of `source` is compiled from the syntax tree directly. */
function directly(source: string): boolean {
  const text = source.replace(/\{\{\s*(\w+)\s*\}\}/g, "gfplaceholder0z");
  const context = {
    marker: "gfplaceholder",
    names: ["v"],
    lineOf: () => 1,
    limits: TEMPLATE_LIMITS,
    size: { nodes: 0, text: 0 },
  };
  for (const token of new Parser().parse(text)) {
    if (token.type === "document" && cstDocumentTree(token, context) !== undefined) return true;
  }
  return false;
}

Deno.test("random templates compile the same from the syntax tree as through the composer", () => {
  let direct = 0, compiled = 0, runs = 0;
  fc.assert(
    fc.property(file, (source) => {
      runs++;
      const ok = !("error" in sameOutcome(source));
      if (ok) compiled++;
      if (ok && directly(source)) direct++;
    }),
    { numRuns: 3000 },
  );
  // Templates that compile, and compile directly, must be common enough for this to mean much.
  assert(compiled > runs / 5, `${compiled} of ${runs} templates compiled`);
  assert(direct > runs / 5, `${direct} of ${runs} templates compiled, some document directly`);
});

Deno.test("random templates with one character changed compile the same both ways", () => {
  const mutated = fc.tuple(file, fc.nat(), fc.constantFrom(..."-:#'\"\t \n[]{}&*!|>?%@`\\,"))
    .map(([source, at, char]) => {
      const i = at % (source.length + 1);
      return source.slice(0, i) + char + source.slice(i);
    });
  fc.assert(fc.property(mutated, (source) => void sameOutcome(source)), { numRuns: 3000 });
});

Deno.test("templates at the limits compile the same both ways", () => {
  const limits = { ...TEMPLATE_LIMITS, maxNodes: 12, maxText: 40, maxDepth: 3, maxDocuments: 2 };
  fc.assert(fc.property(file, (source) => void sameOutcome(source, limits)), { numRuns: 2000 });
});

Deno.test("a Job template compiles directly, to what the composer gives", () => {
  const job = `apiVersion: batch/v1
kind: Job
metadata:
  name: echo-{{RANDOM}}  # a comment
spec:
  parallelism: {{replicas}}
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: echo
          image: busybox
          command: ["sh"]
          resources: {}
          args:
            - -c
            - |
              echo "{{MESSAGE}}"
          env:
            - name: MESSAGE
              value: "{{MESSAGE}}"
`;
  assert(directly(job));
  sameOutcome(job);
});

/**
 * Templates' mustache tags are read as mustache.js reads them: the same text and the same value
 * names in the same places, after delimiter changes and with comment lines removed the same way,
 * compared on random templates. Only the tags templates may use are compared (values, comments,
 * delimiter changes); sections and partials are refused at build either way.
 */

import fc from "fast-check";
import Mustache from "mustache";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { MustacheSyntaxError, scanMustache } from "../src/render/mustache_tags.ts";

type Piece = [type: string, value: string, start?: number];

/** mustache.js's tokens, reduced to text and values (adjacent text joined). */
function reference(template: string): Piece[] | "error" | "unsupported" {
  let tokens: unknown[][];
  const writer = new Mustache.Writer();
  try {
    tokens = writer.parse(template) as unknown[][];
  } catch {
    return "error";
  }
  if (tokens.some((t) => !["text", "name", "&", "!", "="].includes(t[0] as string))) {
    return "unsupported";
  }
  return reduce(tokens.map((t) => ({ type: t[0] as string, value: t[1] as string, start: t[2] })));
}

function reduce(tokens: { type: string; value: string; start: unknown }[]): Piece[] {
  const pieces: Piece[] = [];
  for (const { type, value, start } of tokens) {
    if (type === "!" || type === "=") continue;
    const last = pieces.at(-1);
    if (type === "text" && last?.[0] === "text") last[1] += value;
    else pieces.push(type === "text" ? ["text", value] : [type, value, start as number]);
  }
  return pieces;
}

const piece = fc.constantFrom(
  "{{",
  "}}",
  "{{{",
  "}}}",
  "{",
  "}",
  "a",
  "bc",
  " ",
  "  ",
  "\t",
  "\n",
  "\r\n",
  "!",
  "=",
  "&",
  "{{a}}",
  "{{ b }}",
  "{{&c}}",
  "{{& d }}",
  "{{{e}}}",
  "{{{ f }}}",
  "{{! note }}",
  "{{!\nmulti\n}}",
  "{{=<% %>=}}",
  "<%={{ }}=%>",
  "<%",
  "%>",
  "<%g%>",
  "{{=| |=}}",
  "|=",
  "|h|",
  "{{= [[ ]] =}}",
  "[[i]]",
  "[[={{ }}=]]",
  "key: ",
  "- ",
);

Deno.test("tags are read as mustache.js reads them", () => {
  let compared = 0;
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 25 }), (pieces) => {
      const template = pieces.join("");
      const expected = reference(template);
      if (expected === "unsupported") return;
      if (expected === "error") {
        assertThrows(() => scanMustache(template), MustacheSyntaxError);
        return;
      }
      compared++;
      assertEquals(reduce(scanMustache(template)), expected, JSON.stringify(template));
    }),
    { numRuns: 5000 },
  );
  assert(compared > 1000, `only ${compared} templates compared`);
});

Deno.test("lines that hold only comments or delimiter changes are left out, whitespace and all", () => {
  const template = "a: 1\n  {{! a comment }}  \n{{=<% %>=}}\nb: <%v%>\n\t<%! again %>\n";
  assertEquals(reduce(scanMustache(template)), [
    ["text", "a: 1\nb: "],
    ["name", "v", 41],
    ["text", "\n"],
  ]);
  assertEquals(reduce(scanMustache(template)), reference(template));
});

Deno.test("an unclosed tag or an unusable delimiter change is an error naming where it is", () => {
  const unclosed = assertThrows(() => scanMustache("a: 1\nb: {{x\n"), MustacheSyntaxError);
  assertEquals(unclosed.offset, 8);
  const delimiters = assertThrows(() => scanMustache("{{=<%=}}"), MustacheSyntaxError);
  assert(/must give two delimiters/.test(delimiters.message), delimiters.message);
});

import fc from "fast-check";
import { assert, assertEquals } from "./support/assert.ts";
import {
  formatTraceparent,
  isRunId,
  parseTraceparent,
  runIdOf,
  spanIdOf,
} from "../src/runs/trace_context.ts";
import {
  looksLikeRequestToken,
  requestTokenKey,
  signRequestToken,
  verifyRequestToken,
} from "../src/runs/request_token.ts";

const RUN = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

Deno.test("traceparent: the specification's example parses, bad ones are ignored", () => {
  assertEquals(parseTraceparent(`00-${RUN}-${SPAN}-01`), { traceId: RUN, parentId: SPAN });
  assertEquals(parseTraceparent(` 00-${RUN}-${SPAN}-00 `), { traceId: RUN, parentId: SPAN });
  // A future version may add fields; version 00 may not.
  assertEquals(parseTraceparent(`01-${RUN}-${SPAN}-01-extra`), { traceId: RUN, parentId: SPAN });
  for (
    const bad of [
      null,
      "",
      `00-${RUN}-${SPAN}-01-extra`,
      `ff-${RUN}-${SPAN}-01`,
      `00-${"0".repeat(32)}-${SPAN}-01`,
      `00-${RUN}-${"0".repeat(16)}-01`,
      `00-${RUN.toUpperCase()}-${SPAN}-01`,
      `00-${RUN}-${SPAN}`,
      `00-${RUN.slice(1)}-${SPAN}-01`,
    ]
  ) {
    assertEquals(parseTraceparent(bad), undefined, String(bad));
  }
});

Deno.test("traceparent: what a request forwards parses back to its run and span", () => {
  fc.assert(fc.property(fc.uuid(), (uuid) => {
    const runId = runIdOf(uuid);
    const spanId = spanIdOf(uuid);
    assert(isRunId(runId));
    assertEquals(parseTraceparent(formatTraceparent(runId, spanId)), {
      traceId: runId,
      parentId: spanId,
    });
  }));
});

Deno.test("request token: round trip, and any change to it is refused", () => {
  const key = requestTokenKey("publish-secret");
  const claims = {
    requestUuid: "0b6f3c1e-8f5a-4a8e-9c1d-2f3e4a5b6c7d",
    runId: RUN,
    expiresAt: 2_000_000_000,
  };
  const token = signRequestToken(claims, key);
  assert(looksLikeRequestToken(token));
  assertEquals(verifyRequestToken(token, key, { nowSeconds: 1_900_000_000 }), claims);
  // Expired.
  assertEquals(verifyRequestToken(token, key, { nowSeconds: 2_000_000_000 }), undefined);
  // Another key (another installation, or a rotated secret).
  assertEquals(
    verifyRequestToken(token, requestTokenKey("other"), { nowSeconds: 0 }),
    undefined,
  );
  // Every single-character change is refused.
  fc.assert(fc.property(
    fc.nat({ max: token.length - 1 }),
    fc.constantFrom(..."0123456789abcdef-._xyzABC"),
    (at, char) => {
      fc.pre(token[at] !== char);
      const forged = token.slice(0, at) + char + token.slice(at + 1);
      assertEquals(verifyRequestToken(forged, key, { nowSeconds: 0 }), undefined);
    },
  ));
});

Deno.test("request token: any string is refused without throwing", () => {
  const key = requestTokenKey("k");
  fc.assert(fc.property(fc.string(), (text) => {
    assertEquals(verifyRequestToken(text, key, { nowSeconds: 0 }), undefined);
  }));
  assertEquals(verifyRequestToken("gfrt1.a.b.c.d", key, { nowSeconds: 0 }), undefined);
});

import { Buffer } from "node:buffer";
import { assertEquals, assertMatch, assertNotEquals } from "./support/assert.ts";
import {
  generatedName,
  manifestValues,
  publishSeed,
  RANDOM_LENGTH,
  requestValues,
} from "../src/publish/values.ts";

Deno.test("built-ins: MESSAGE is the body in base64, query values cannot override them", () => {
  const body = new Uint8Array([0, 255, 10, 34, 92]);
  const values = requestValues("topic", body, {
    query: [["MESSAGE", "forged"], ["REQUEST_UUID", "forged"], ["x", "1"]],
    requestUuid: "u-1",
  });
  assertEquals(new Uint8Array(Buffer.from(values.MESSAGE, "base64")), body);
  assertEquals(values.PAYLOAD, values.MESSAGE);
  assertEquals(values.REQUEST_UUID, "u-1");
  assertEquals(values.TOPIC, "topic");
  assertEquals(values.x, "1");
});

Deno.test("RANDOM and FUNCTION_UID differ per manifest file and per publish", () => {
  const a = requestValues("t", new Uint8Array(), { query: [], requestUuid: publishSeed("t") });
  const b = requestValues("t", new Uint8Array(), { query: [], requestUuid: publishSeed("t") });
  const first = manifestValues(a, 0);
  assertMatch(first.RANDOM, new RegExp(`^[a-z0-9]{${RANDOM_LENGTH}}$`));
  assertMatch(
    first.FUNCTION_UID,
    /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assertNotEquals(first.RANDOM, manifestValues(a, 1).RANDOM);
  assertNotEquals(first.FUNCTION_UID, manifestValues(a, 1).FUNCTION_UID);
  assertNotEquals(first.RANDOM, manifestValues(b, 0).RANDOM);
});

Deno.test("an Idempotency-Key fixes every derived value, per topic", () => {
  assertEquals(publishSeed("t", "key-1"), publishSeed("t", "key-1"));
  assertNotEquals(publishSeed("t", "key-1"), publishSeed("t", "key-2"));
  assertNotEquals(publishSeed("t", "key-1"), publishSeed("other", "key-1"));
  const seed = publishSeed("t", "key-1");
  const values = requestValues("t", new Uint8Array(), { query: [], requestUuid: seed });
  assertEquals(manifestValues(values, 2), manifestValues(values, 2));
  assertEquals(generatedName(seed, "job-", "0:0"), generatedName(seed, "job-", "0:0"));
  assertMatch(generatedName(seed, "job-", "0:0"), /^job-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assertNotEquals(generatedName(seed, "job-", "0:0"), generatedName(seed, "job-", "0:1"));
});

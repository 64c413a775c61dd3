import { assertEquals, assertThrows } from "./support/assert.ts";
import { readSettings, SettingsError } from "../src/settings/settings.ts";

const GIT_URL = "https://git.example.com/team/pipelines.git";

Deno.test("webhooks are off without WEBHOOK_SECRET; deliveries up to 1 MiB by default", () => {
  const s = readSettings({ GIT_URL });
  assertEquals(s.webhookSecret, undefined);
  assertEquals(s.webhookMaxBytes, 1024 * 1024);
  assertEquals(readSettings({ GIT_URL, WEBHOOK_SECRET: "   " }).webhookSecret, undefined);
});

Deno.test("WEBHOOK_SECRET and WEBHOOK_MAX_BYTES are read and checked", () => {
  const s = readSettings({ GIT_URL, WEBHOOK_SECRET: "s3cret", WEBHOOK_MAX_BYTES: "65536" });
  assertEquals(s.webhookSecret, "s3cret");
  assertEquals(s.webhookMaxBytes, 65536);
  for (const bad of ["0", "-1", "1.5", "1MiB"]) {
    assertThrows(
      () => readSettings({ GIT_URL, WEBHOOK_MAX_BYTES: bad }),
      SettingsError,
      "WEBHOOK_MAX_BYTES must be a whole number",
    );
  }
});

import { assertEquals, assertStringIncludes, assertThrows } from "./support/assert.ts";
import { DEFAULTS, readSettings, SettingsError } from "../src/settings/settings.ts";
import { parseKindList } from "../src/policy/policy.ts";

const URL = "https://git.example.com/team/pipelines.git";

Deno.test("defaults apply when only GIT_URL is set", () => {
  const s = readSettings({ GIT_URL: URL });
  assertEquals(s.gitUrl, URL);
  assertEquals(s.gitBranch, "main");
  assertEquals(s.configPath, "config.json");
  assertEquals(s.pollIntervalMs, 60_000);
  assertEquals(s.port, 5000);
  assertEquals(s.namespace, undefined);
  assertEquals(s.maxBodyBytes, 1048576);
  assertEquals(s.listenAddress, "127.0.0.1", "loopback unless told otherwise");
  assertEquals(s.routerServiceAccount, "gitfaas");
});

Deno.test("LISTEN_ADDRESS takes IPv4 and IPv6 addresses", () => {
  for (const address of ["0.0.0.0", "10.1.2.3", "::", "::1", "fd00::5", "localhost"]) {
    assertEquals(readSettings({ GIT_URL: URL, LISTEN_ADDRESS: address }).listenAddress, address);
  }
});

Deno.test("every default comes from DEFAULTS, in the unit Settings holds", () => {
  const s = readSettings({ GIT_URL: URL });
  for (const [key, value] of Object.entries(DEFAULTS)) {
    const expected = key === "deniedKinds" || key === "allowedClusterKinds"
      ? parseKindList(value as string)
      : value;
    assertEquals(s[key as keyof typeof s], expected, key);
  }
});

Deno.test("durations are given in seconds, fractions allowed, and held in milliseconds", () => {
  const s = readSettings({
    GIT_URL: URL,
    GIT_POLL_INTERVAL: "0",
    PUBLISH_TIMEOUT: "0.5",
    KUBE_TIMEOUT: "1.1",
    SHUTDOWN_GRACE: "3",
    GIT_TIMEOUT: "45",
  });
  assertEquals(
    [s.pollIntervalMs, s.publishTimeoutMs, s.kubeTimeoutMs, s.shutdownGraceMs, s.gitTimeoutMs],
    [0, 500, 1100, 3000, 45_000],
  );
});

Deno.test("credentials in the URL are taken out of it", () => {
  const s = readSettings({ GIT_URL: "https://bot:s3cr3t-token@git.example.com/a.git" });
  assertEquals(s.gitUrl, "https://git.example.com/a.git");
  assertEquals(s.gitUser, "bot");
  assertEquals(s.gitToken, "s3cr3t-token");
});

Deno.test("each bad value stops with one line naming the variable", () => {
  const cases: [Record<string, string>, string][] = [
    [{}, "GIT_URL is required"],
    [{ GIT_URL: "git@github.com:a/b.git" }, "GIT_URL must be an http:// or https:// URL"],
    [{ GIT_URL: "ftp://x/y" }, "GIT_URL must be an http:// or https:// URL"],
    [{ GIT_URL: URL, PORT: "http" }, 'PORT must be a whole number from 0 to 65535, got "http"'],
    [{ GIT_URL: URL, PORT: "70000" }, "PORT must be a whole number from 0 to 65535"],
    [{ GIT_URL: URL, GIT_POLL_INTERVAL: "-1" }, "GIT_POLL_INTERVAL must be a number"],
    [{ GIT_URL: URL, GIT_BRANCH: "a..b" }, "GIT_BRANCH must be a branch name"],
    [{ GIT_URL: URL, NAMESPACE: "Bad_NS" }, "NAMESPACE must be a Kubernetes namespace name"],
    [{ GIT_URL: URL, CONFIG_PATH: "../c.json" }, "CONFIG_PATH must be a relative path"],
    [{ GIT_URL: URL, MAX_BODY_BYTES: "0" }, "MAX_BODY_BYTES must be a whole number of at least 1"],
    [{ GIT_URL: URL, LOG_LEVEL: "loud" }, "LOG_LEVEL must be one of debug, info, warn, error"],
    [{ GIT_URL: URL, LISTEN_ADDRESS: "300.1.1.1" }, "LISTEN_ADDRESS must be an IP address"],
    [{ GIT_URL: URL, LISTEN_ADDRESS: "[::]" }, "LISTEN_ADDRESS must be an IP address"],
    [{ GIT_URL: URL, ROUTER_SERVICE_ACCOUNT: "Git_FaaS" }, "ROUTER_SERVICE_ACCOUNT must be"],
    [{ GIT_URL: URL, HEADER_TIMEOUT: "0" }, "HEADER_TIMEOUT must be a number of at least 0.1"],
    [{ GIT_URL: URL, MAX_CONNECTIONS: "0" }, "MAX_CONNECTIONS must be a whole number"],
    [{ GIT_URL: URL, LOG_FLUSH_INTERVAL: "2" }, "LOG_FLUSH_INTERVAL must be a number"],
    [
      { GIT_URL: URL, MAX_BODY_BYTES: "2000", MAX_BODY_BYTES_IN_FLIGHT: "1000" },
      "MAX_BODY_BYTES_IN_FLIGHT must be at least MAX_BODY_BYTES (2000)",
    ],
  ];
  for (const [env, expected] of cases) {
    const error = assertThrows(() => readSettings(env), SettingsError);
    assertStringIncludes(error.message, expected);
    assertEquals(error.message.includes("\n"), false);
  }
});

Deno.test("the token never appears in a settings error", () => {
  const error = assertThrows(
    () => readSettings({ GIT_URL: "notaurl://bot:tok-123456@x", PORT: "x" }),
    SettingsError,
  );
  assertEquals(error.message.includes("tok-123456"), false);
});

Deno.test("a token without a user name is sent with a placeholder user GitHub and GitLab accept", () => {
  assertEquals(
    readSettings({ GIT_URL: URL, GIT_PERSONAL_TOKEN: "t0ken" }).gitUser,
    "x-access-token",
  );
  assertEquals(
    readSettings({ GIT_URL: URL, GIT_PERSONAL_TOKEN: "t0ken", GIT_USER_NAME: "bot" }).gitUser,
    "bot",
  );
  assertEquals(readSettings({ GIT_URL: URL }).gitUser, undefined);
});

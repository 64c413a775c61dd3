/**
 * Names and paths: the API server's rules on names and namespaces, and request paths whose
 * segments can name only themselves. Whatever a value holds, the path built from it resolves to
 * the object it names, under the collection it names.
 */

import fc from "fast-check";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./support/assert.ts";
import { identityProblems, isApiVersion } from "../src/kube/names.ts";
import { apiRoot, PathSegmentError, resourcePath } from "../src/kube/paths.ts";
import { OPEN_POLICY } from "../src/policy/policy.ts";
import { compileTemplate } from "../src/render/template.ts";
import { checkTemplate } from "../src/topics/checks.ts";

Deno.test("names: DNS-1123 subdomains, generateName prefixes and namespace labels", () => {
  assertEquals(identityProblems({ name: "a.b-c", namespace: "jobs" }), []);
  assertEquals(identityProblems({ generateName: "convert-" }), []);
  assertEquals(identityProblems({ name: "x", namespace: null }), []);
  for (const name of ["..", ".", "a/b", "A", "-a", "a-", "a..b", "a_b", "a".repeat(254), "é"]) {
    const problems = identityProblems({ name });
    assertEquals(problems.length, 1, name);
    assertStringIncludes(problems[0], "metadata.name");
  }
  assertEquals(identityProblems({ name: "" }), [
    "metadata.name is empty, and there is no metadata.generateName",
  ]);
  assertEquals(identityProblems({ name: null }), [
    "it has neither metadata.name nor metadata.generateName",
  ]);
  assertStringIncludes(identityProblems({ name: 12 })[0], "metadata.name must be a string");
  // The derived name is the prefix and 5 characters: the whole must be a name.
  assertEquals(identityProblems({ generateName: "a".repeat(248) }), []);
  assertStringIncludes(identityProblems({ generateName: "a".repeat(249) })[0], "generateName");
  assertStringIncludes(identityProblems({ generateName: "../" })[0], "generateName");
  for (const namespace of ["..", "", "a.b", "A", "a".repeat(64), "default/configmaps"]) {
    const problems = identityProblems({ name: "ok", namespace });
    assertEquals(problems.length, 1, namespace);
    assertStringIncludes(problems[0], "metadata.namespace");
  }
  // A long value is cut short in the message: a name may hold a whole body.
  assert(identityProblems({ name: "X".repeat(100_000) })[0].length < 400);
});

Deno.test("apiVersions: version, or group/version", () => {
  for (const ok of ["v1", "batch/v1", "apps/v1", "example.com/v1alpha1"]) {
    assert(isApiVersion(ok), ok);
  }
  for (const bad of ["", "/v1", "v1/", "../v1", "a/b/c", "Batch/v1", "batch/..", "batch/V1"]) {
    assert(!isApiVersion(bad), bad);
  }
});

Deno.test("paths: each segment encoded, and never empty, '.' or '..'", () => {
  assertEquals(apiRoot("v1"), "/api/v1");
  assertEquals(apiRoot("batch/v1"), "/apis/batch/v1");
  assertEquals(
    resourcePath("v1", "configmaps", { namespace: "jobs", name: "a b/c?d#e%f" }),
    "/api/v1/namespaces/jobs/configmaps/a%20b%2Fc%3Fd%23e%25f",
  );
  assertEquals(resourcePath("batch/v1", "jobs"), "/apis/batch/v1/jobs");
  for (const bad of ["", ".", ".."]) {
    assertThrows(() => resourcePath("v1", "configmaps", { name: bad }), PathSegmentError);
    assertThrows(() => resourcePath("v1", "configmaps", { namespace: bad }), PathSegmentError);
    assertThrows(() => resourcePath("v1", bad), PathSegmentError);
  }
  assertThrows(() => apiRoot("../v1"), PathSegmentError);

  // Whatever a name or namespace holds, the URL resolves to that object in that collection.
  fc.assert(
    fc.property(fc.string(), fc.string(), (namespace, name) => {
      let path: string;
      try {
        path = resourcePath("v1", "configmaps", { namespace, name });
      } catch (error) {
        assert(error instanceof PathSegmentError);
        return;
      }
      const resolved = new URL(path, "https://kube.test").pathname.split("/");
      assertEquals(resolved.length, 7, path);
      assertEquals(resolved.slice(0, 4), ["", "api", "v1", "namespaces"]);
      assertEquals(decodeURIComponent(resolved[4]), namespace);
      assertEquals(resolved[5], "configmaps");
      assertEquals(decodeURIComponent(resolved[6]), name);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("the index build and validate refuse a written-out name, namespace or apiVersion that cannot be a path", () => {
  const check = (yaml: string) => checkTemplate(compileTemplate(yaml), OPEN_POLICY).errors;
  assertEquals(
    check("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: jobs\n"),
    [],
  );
  const [namespace] = check(
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  namespace: ..\n",
  );
  assertStringIncludes(
    namespace,
    'line 1: document 1: metadata.namespace ".." is not a namespace',
  );
  const [apiVersion] = check("apiVersion: ../v1\nkind: ConfigMap\nmetadata:\n  name: ok\n");
  assertStringIncludes(apiVersion, 'apiVersion "../v1" is not "version" or "group/version"');
  const [kind] = check("apiVersion: v1\nkind: Config/Map\nmetadata:\n  name: ok\n");
  assertStringIncludes(kind, 'kind "Config/Map" is not a kind');
  const [prefix] = check("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: a/\n");
  assertStringIncludes(prefix, 'metadata.generateName "a/" is not a valid name prefix');
});

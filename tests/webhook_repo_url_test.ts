import { assertEquals } from "./support/assert.ts";
import { repoKey, sameRepository } from "../src/webhook/repo_url.ts";

const GIT_URL = "https://git.example.com/team/pipelines.git";

Deno.test("every form of one repository is the same repository", () => {
  const same = [
    "https://git.example.com/team/pipelines.git",
    "https://git.example.com/team/pipelines",
    "https://git.example.com/team/pipelines/",
    "https://git.example.com/team/pipelines.git/",
    "http://git.example.com/team/pipelines",
    "HTTPS://Git.Example.COM/Team/Pipelines.GIT",
    "https://bot:s3cret@git.example.com/team/pipelines.git",
    "https://oauth2@git.example.com/team/pipelines.git",
    "https://git.example.com:443/team/pipelines.git",
    "https://git.example.com:8443/team/pipelines.git",
    "git@git.example.com:team/pipelines.git",
    "git@git.example.com:team/pipelines",
    "git.example.com:team/pipelines.git",
    "ssh://git@git.example.com/team/pipelines",
    "ssh://git@git.example.com:2222/team/pipelines.git",
    "git+ssh://git@git.example.com/team/pipelines.git",
    "git://git.example.com/team/pipelines.git",
    "https://git.example.com//team///pipelines.git",
    "  https://git.example.com/team/pipelines.git  ",
    "https://git.example.com/team/%70ipelines.git",
  ];
  for (const url of same) {
    assertEquals(sameRepository(GIT_URL, url), true, url);
    assertEquals(sameRepository(url, GIT_URL), true, url);
    assertEquals(repoKey(url), "git.example.com/team/pipelines", url);
  }
});

Deno.test("a different host, owner, name or nesting is a different repository", () => {
  const different = [
    "https://git.example.org/team/pipelines.git",
    "https://example.com/team/pipelines.git",
    "https://git.example.com/other/pipelines.git",
    "https://git.example.com/team/pipelines-2.git",
    "https://git.example.com/team/pipelines.git.git",
    "https://git.example.com/group/team/pipelines.git",
    "https://git.example.com/pipelines.git",
    "https://git.example.com/team/pipelines/wiki",
    "git@git.example.com:team/other.git",
    "ssh://git@git.example.org/team/pipelines",
  ];
  for (const url of different) assertEquals(sameRepository(GIT_URL, url), false, url);
});

Deno.test("URLs that name no repository match nothing, not even themselves", () => {
  const none = [
    "",
    "   ",
    "https://git.example.com",
    "https://git.example.com/",
    "https://git.example.com/.git",
    "file:///srv/git/team/pipelines.git",
    "ftp://git.example.com/team/pipelines.git",
    "/srv/git/team/pipelines.git",
    "team/pipelines",
    "git@git.example.com:team/../pipelines.git",
    "https://git.exa mple.com/team/pipelines",
    "not a url",
  ];
  for (const url of none) {
    assertEquals(repoKey(url), null, url);
    assertEquals(sameRepository(url, url), false, url);
    assertEquals(sameRepository(GIT_URL, url), false, url);
  }
});

Deno.test("nested groups and sub-path installations keep their whole path", () => {
  assertEquals(
    repoKey("https://gitlab.example.com/group/sub/project.git"),
    "gitlab.example.com/group/sub/project",
  );
  assertEquals(
    sameRepository(
      "https://code.example.com/gitea/team/pipelines.git",
      "ssh://git@code.example.com:2222/gitea/team/pipelines.git",
    ),
    true,
  );
  assertEquals(repoKey("http://127.0.0.1:41234/pipelines.git"), "127.0.0.1/pipelines");
  assertEquals(repoKey("https://[::1]:8080/a/b.git"), "[::1]/a/b");
  // URLs resolve dot segments as every HTTP client does.
  assertEquals(
    repoKey("https://git.example.com/team/../pipelines.git"),
    "git.example.com/pipelines",
  );
});

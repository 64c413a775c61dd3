/**
 * Whether two URLs name the same Git repository, whatever form each is written in. A push
 * delivery names its repository in several forms (`clone_url`, `ssh_url`, `html_url`,
 * GitLab's `git_http_url`…) while `GIT_URL` is one HTTP(S) URL; they match when they reduce to
 * the same `host/path`.
 * @module
 */

/**
 * Reduces a repository URL to `host/path`, lowercased: no scheme (http, https, ssh, git), no
 * credentials, no port, no `.git` suffix, no trailing or repeated slashes. Accepts the scp-like
 * form `git@host:owner/repo.git` too. Returns null for anything that names no repository.
 *
 * Ports are dropped because one repository is served on different ports for SSH and HTTP
 * (`ssh://git@host:2222/o/r` and `https://host/o/r`).
 *
 * ```ts
 * repoKey("git@GitHub.com:Octo/Hello.git"); // "github.com/octo/hello"
 * ```
 */
export function repoKey(url: string): string | null {
  const text = url.trim();
  if (text === "" || /\s/.test(text)) return null;
  let host: string;
  let path: string;
  if (text.includes("://")) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return null;
    }
    if (!["http:", "https:", "ssh:", "git:", "git+ssh:", "ssh+git:"].includes(parsed.protocol)) {
      return null;
    }
    host = parsed.hostname;
    path = parsed.pathname;
  } else {
    // scp-like syntax: [user@]host:path (no slash before the colon).
    const scp = /^(?:[^@/]+@)?([^@/:]+):(.+)$/.exec(text);
    if (!scp) return null;
    host = scp[1];
    path = scp[2];
  }
  host = host.toLowerCase().replace(/\.$/, "");
  if (host === "") return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  const segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.length === 0 || segments.includes("..")) return null;
  const last = segments.length - 1;
  segments[last] = segments[last].replace(/\.git$/i, "");
  if (segments[last] === "") return null;
  return `${host}/${segments.join("/")}`.toLowerCase();
}

/**
 * Whether `a` and `b` name the same repository (see {@linkcode repoKey}); false when either
 * names none.
 *
 * ```ts
 * sameRepository("https://bot:tok@git.example.com/team/pipelines.git",
 *   "ssh://git@git.example.com:2222/Team/Pipelines"); // true
 * ```
 */
export function sameRepository(a: string, b: string): boolean {
  const keyA = repoKey(a);
  return keyA !== null && keyA === repoKey(b);
}

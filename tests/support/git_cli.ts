/**
 * A hermetic runner for the real `git` command line, used by the test Git
 * server to create repositories, commit and push.
 *
 * Every invocation gets a cleared environment: the developer's or CI's own
 * Git configuration, credential helpers and terminal prompts must never leak
 * into (or block) a test run.
 *
 * @module
 */

/** Identity recorded as author and committer of every test commit. */
export const TEST_AUTHOR = { name: "gitfaas test", email: "test@gitfaas.invalid" } as const;

/** Raised when a `git` invocation exits non-zero; carries its output for diagnosis. */
export class GitCommandError extends Error {
  /** The arguments given to `git`. */
  readonly args: string[];
  /** The exit code of the process. */
  readonly code: number;
  /** Everything the process wrote to stderr. */
  readonly stderr: string;

  /** Builds the error from a failed invocation. */
  constructor(args: string[], code: number, stdout: string, stderr: string) {
    super(
      `git ${args.join(" ")} exited with ${code}\n${stderr.trim()}${
        stdout.trim() ? `\n${stdout.trim()}` : ""
      }`,
    );
    this.name = "GitCommandError";
    this.args = args;
    this.code = code;
    this.stderr = stderr;
  }
}

/** Options of one {@linkcode GitCli.run} call. */
export interface GitRunOptions {
  /** Working directory of the process. */
  cwd?: string;
  /** Extra environment variables, on top of the hermetic base. */
  env?: Record<string, string>;
}

/** Result of a `git` invocation that was allowed to fail. */
export interface GitRunResult {
  /** Exit code. */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/**
 * Runs `git` with an isolated HOME and no system or user configuration.
 */
export class GitCli {
  /** The HOME directory handed to every `git` process. */
  readonly home: string;

  /** @param home an existing, private directory used as HOME */
  constructor(home: string) {
    this.home = home;
  }

  /**
   * The environment of every git process: cleared, so that neither the
   * caller's configuration nor its credential helpers can influence a test.
   */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: this.home,
      XDG_CONFIG_HOME: `${this.home}/.config`,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: `${this.home}/.gitconfig`,
      GIT_TERMINAL_PROMPT: "0",
      GIT_ASKPASS: "",
      SSH_ASKPASS: "",
      GIT_AUTHOR_NAME: TEST_AUTHOR.name,
      GIT_AUTHOR_EMAIL: TEST_AUTHOR.email,
      GIT_COMMITTER_NAME: TEST_AUTHOR.name,
      GIT_COMMITTER_EMAIL: TEST_AUTHOR.email,
      // Messages are matched by tests, so keep them untranslated.
      LANG: "C",
      LC_ALL: "C",
      ...extra,
    };
  }

  /** Runs `git args…` and reports the outcome without throwing on a non-zero exit. */
  async tryRun(args: string[], options: GitRunOptions = {}): Promise<GitRunResult> {
    const output = await new Deno.Command("git", {
      args,
      cwd: options.cwd,
      env: this.env(options.env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }

  /**
   * Runs `git args…` and returns its trimmed stdout.
   *
   * @throws {GitCommandError} when git exits non-zero
   */
  async run(args: string[], options: GitRunOptions = {}): Promise<string> {
    const result = await this.tryRun(args, options);
    if (result.code !== 0) {
      throw new GitCommandError(args, result.code, result.stdout, result.stderr);
    }
    return result.stdout.trim();
  }
}

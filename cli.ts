/**
 * `gitfaas`: the command-line tool for pipeline repositories, installed with
 * `deno install -g -n gitfaas …` (README, "Check a pipeline repository"). Its one command is
 * `gitfaas validate`; the router itself is `main.ts`.
 * @module
 */

import { runValidate } from "./src/validate/cli.ts";

const USAGE = `Usage: gitfaas <command> [options]

Commands:
  validate [path...]  check pipeline repositories, config files or manifest templates the way
                      the router checks a commit (gitfaas validate --help says more)`;

/** Runs the `gitfaas` command with `args`; resolves to the exit status. */
export async function runCli(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "validate":
      return await runValidate(rest, { program: "gitfaas validate" });
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      console.error(
        command === undefined ? USAGE : `gitfaas: unknown command "${command}"\n\n${USAGE}`,
      );
      return 2;
  }
}

if (import.meta.main) Deno.exit(await runCli(Deno.args));

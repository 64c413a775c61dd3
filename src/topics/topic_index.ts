/**
 * The topic index: every topic of one commit with its compiled manifest templates. It is built
 * in full before anyone sees it and never changes afterwards, so swapping the live index is one
 * assignment and a publish always renders templates of exactly one commit.
 * @module
 */

import type { CommitFiles } from "../sync/source.ts";
import { Limiter, pacer } from "../lib/async.ts";
import { decodeUtf8 } from "../lib/bytes.ts";
import type { Policy } from "../policy/policy.ts";
import {
  type CompiledTemplate,
  type CompileOptions,
  compileTemplate,
  TEMPLATE_LIMITS,
  TemplateError,
  type TemplateLimits,
} from "../render/template.ts";
import { formatBytes, formatCount } from "../render/template_limits.ts";
import { type CheckedTemplate, checkTemplate } from "./checks.ts";
import {
  type ConfigProblem,
  parseTopicConfig,
  type TopicConfig,
  type TopicSchedule,
} from "./config_file.ts";
import type { TemplateLookup } from "./template_store.ts";

/** One manifest file of a topic. */
export interface Manifest {
  /** Path in the repository. */
  path: string;
  template: CompiledTemplate;
  /** Policy violations found at build; a topic with any is unusable. */
  policyProblems: readonly string[];
}

/** A topic and the manifests a publish to it applies, in config order. */
export interface Topic {
  name: string;
  manifests: readonly Manifest[];
  /** Why the topic cannot be published to (policy violations); empty when it can. */
  problems: readonly string[];
  /** When set, the topic is also published at each tick. */
  schedule?: TopicSchedule;
}

/** All topics of one commit. */
export interface TopicIndex {
  /** The commit the index was built from. */
  revision: string;
  builtAt: Date;
  topics: ReadonlyMap<string, Topic>;
  /** Manifest files compiled by this build, and taken compiled from before (by blob id). */
  templates: { compiled: number; reused: number };
  /**
   * The compiled template of each blob the index uses, by blob id, for the next build (and the
   * template store) to reuse; absent when the source's ids are not content hashes (a folder).
   */
  templatesByBlob?: ReadonlyMap<string, CompiledTemplate>;
}

/**
 * Compiles one manifest template, or throws a `TemplateError`: `compileTemplate` itself, or the
 * same run off the event loop (`TemplateWorker.compileChecked`), which may also run its checks
 * with `options.policy` (they are run by the build otherwise).
 */
export type TemplateCompiler = (
  source: string,
  options: CompileOptions & { policy: Policy },
) => CheckedTemplate | Promise<CheckedTemplate>;

/** The default compiler: `compileTemplate` on the calling thread; the build runs the checks. */
const compileHere: TemplateCompiler = (source, options) => ({
  template: compileTemplate(source, options),
});

/** Options for {@linkcode IndexBuildError}. */
export interface IndexBuildErrorOptions extends ErrorOptions {
  /** The commit that cannot serve. */
  revision: string;
  /** Every problem found, each naming its file (and line or path). */
  problems: string[];
}

/** The commit cannot serve: every problem found, each naming its file (and line or path). */
export class IndexBuildError extends Error {
  override name = "IndexBuildError";
  /** The commit that cannot serve. */
  readonly revision: string;
  /** Every problem found. */
  readonly problems: string[];

  /** A build of `options.revision` that failed with `options.problems`. */
  constructor(message: string, options: IndexBuildErrorOptions) {
    super(message, { cause: options.cause });
    this.revision = options.revision;
    this.problems = options.problems;
  }
}

/** The error for `revision` failing with `problems`, the first five named in its message. */
export function indexBuildError(revision: string, problems: string[]): IndexBuildError {
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : "";
  return new IndexBuildError(
    `commit ${revision.slice(0, 12)} cannot be used: ${problems.slice(0, 5).join("; ")}${more}`,
    { revision, problems },
  );
}

/** Options for {@linkcode buildTopicIndex}. */
export interface BuildOptions {
  /** Path of the config file in the repository. */
  configPath: string;
  /** What may be applied; violations make topics unusable. */
  policy: Policy;
  /** Most manifest files one topic may list (MAX_MANIFESTS_PER_TOPIC). */
  maxManifestsPerTopic: number;
  /** Most objects one publish may apply, over all of a topic's files (MAX_OBJECTS_PER_PUBLISH). */
  maxObjectsPerPublish: number;
  /**
   * The index being replaced. Templates of files whose blob is unchanged are taken from it
   * instead of being read and compiled again (content-addressed sources only).
   */
  previous?: TopicIndex | null;
  /**
   * Templates compiled by an earlier process, by blob id (content-addressed sources only):
   * used for blobs the previous index does not have.
   */
  stored?: TemplateLookup;
  /** Default: `compileTemplate`, on the calling thread. */
  compiler?: TemplateCompiler;
  /** Limits on each manifest file, and on all of a topic's files together (the default). */
  limits?: TemplateLimits;
}

/**
 * Manifest files read and compiled at the same time in one build: enough to keep reads
 * overlapping, few enough that a 10,000-file build does not hold every file in flight at once
 * (the peak memory it saves: BENCHMARKS.md, "Changes made for this issue, and why").
 */
const COMPILE_CONCURRENCY = 64;

/**
 * Topics built at the same time: enough that their files keep COMPILE_CONCURRENCY reads and
 * compiles under way.
 */
const TOPIC_CONCURRENCY = COMPILE_CONCURRENCY;

/**
 * Blobs read (and so inflated, synchronously, by the Git library) at the same time: one. Reads
 * that finish together run their inflates back to back in one turn of the event loop, which two
 * large templates at once held too long (BENCHMARKS.md, "Adversarial templates and the index
 * build"); one at a time, with a pause after each, a turn holds one file's inflate. The reads are
 * of packs already in memory, so little is lost by not overlapping them.
 */
const READ_CONCURRENCY = 1;

/**
 * Longest stretch the build runs without letting other work in. Compiling, checking and reusing
 * templates is synchronous, and a build of thousands of files would otherwise answer no request
 * (not even the liveness probe) until it is done. Each pause is a timer turn (the only kind of
 * turn that lets I/O in; its cost: BENCHMARKS.md, "Adversarial templates and the index build"), so
 * pausing more often makes large builds slower.
 */
const YIELD_EVERY_MS = 25;

/** Builds the index of `files`' commit, or throws {@linkcode IndexBuildError}. */
export async function buildTopicIndex(
  files: CommitFiles,
  options: BuildOptions,
): Promise<TopicIndex> {
  const { configPath } = options;
  const problems: string[] = [];
  const configText = await readText({ files, path: configPath, report: (p) => problems.push(p) });
  if (configText === undefined) throw indexBuildError(files.revision, problems);

  // A config with problems cannot serve, but the files it names are still compiled and
  // checked, so that one build (and one run of `validate`) reports every problem.
  const config = parseTopicConfig(configText);
  for (const problem of config.problems) problems.push(describe(configPath, problem));

  // A file listed by several topics is compiled and checked once; an unchanged blob not at all.
  const limits = options.limits ?? TEMPLATE_LIMITS;
  const blobs: Blobs = {
    previous: files.contentAddressed ? options.previous?.templatesByBlob : undefined,
    next: new Map<string, CompiledTemplate>(),
    stored: files.contentAddressed ? options.stored : undefined,
    reusedCount: 0,
    compiler: options.compiler ?? compileHere,
    limits,
    pause: pacer(YIELD_EVERY_MS),
    reads: new Limiter(READ_CONCURRENCY),
  };
  const report = (problem: string) => void problems.push(problem);
  const compile = manifestCompiler(files, { policy: options.policy, blobs, report });
  // A few topics at a time, each compiling its files through `compile`'s limit: starting all of
  // them at once held a waiting promise chain per topic (10,000 at 10,000 topics) for the whole
  // build, all of it kept past the young generation.
  const built: Topic[] = new Array(config.topics.length);
  let next = 0;
  const buildSome = async () => {
    while (next < config.topics.length) {
      const i = next++;
      const where = `${configPath}: topics[${i}]`;
      const topicLimits = { ...options, template: limits };
      built[i] = await buildTopic(config.topics[i], where, {
        compile,
        limits: topicLimits,
        report,
      });
    }
  };
  await Promise.all(Array.from({ length: TOPIC_CONCURRENCY }, buildSome));
  // In config order, whatever order the reads finished in.
  const topics = new Map(built.map((topic) => [topic.name, topic]));
  if (problems.length > 0) {
    // Policy problems alone leave the commit serving; with other errors, report them all
    // (from every topic: those of a broken config may share a name).
    const policy = built.flatMap((t) => t.problems);
    throw indexBuildError(files.revision, [...new Set([...problems, ...policy])].sort());
  }

  const compiledCount = blobs.next.size - blobs.reusedCount;
  return {
    revision: files.revision,
    builtAt: new Date(),
    topics,
    templates: { compiled: compiledCount, reused: blobs.reusedCount },
    templatesByBlob: files.contentAddressed ? blobs.next : undefined,
  };
}

/**
 * Compiled templates by blob id (the previous index's, the store's, and this build's), and how
 * this build makes new ones.
 */
interface Blobs {
  previous?: ReadonlyMap<string, CompiledTemplate>;
  next: Map<string, CompiledTemplate>;
  stored?: TemplateLookup;
  /** Blobs in `next` that were not compiled by this build. */
  reusedCount: number;
  compiler: TemplateCompiler;
  limits: TemplateLimits;
  /** Lets other work in when the build has run for a while (see YIELD_EVERY_MS). */
  pause: () => Promise<void>;
  /** Blob reads under way (see READ_CONCURRENCY). */
  reads: Limiter;
}

/** Compiles and checks a manifest file once, however many topics list it. */
type Compile = (path: string, referencedAt: string) => Promise<Manifest | undefined>;

/**
 * A {@linkcode Compile} over `files`: at most COMPILE_CONCURRENCY files read and compiled at
 * once; problems (unreadable file, bad template, object rules) go to `report`.
 */
function manifestCompiler(
  files: CommitFiles,
  context: { policy: Policy; blobs: Blobs; report: (problem: string) => void },
): Compile {
  const { policy, blobs, report } = context;
  const compiled = new Map<string, Promise<Manifest | undefined>>();
  const reads = new Limiter(COMPILE_CONCURRENCY);
  return (path, at) => {
    let manifest = compiled.get(path);
    if (!manifest) {
      const file = { files, path, referencedAt: at, report };
      manifest = reads.run(async () => {
        const compiled = await compileFile(file, { blobs, policy });
        if (!compiled) return undefined;
        const { template } = compiled;
        const check = compiled.check ?? checkTemplate(template, policy);
        for (const error of check.errors) report(`${path}: ${error}`);
        await blobs.pause();
        return { path, template, policyProblems: check.policy.map((p) => `${path}: ${p}`) };
      });
      compiled.set(path, manifest);
    }
    return manifest;
  };
}

/** One topic of config.json (at `where`), its manifests compiled, its limits checked. */
async function buildTopic(
  topic: TopicConfig,
  where: string,
  context: {
    compile: Compile;
    limits: Pick<BuildOptions, "maxManifestsPerTopic" | "maxObjectsPerPublish"> & {
      template: TemplateLimits;
    };
    report: (problem: string) => void;
  },
): Promise<Topic> {
  const { maxManifestsPerTopic, maxObjectsPerPublish } = context.limits;
  if (topic.configs.length > maxManifestsPerTopic) {
    context.report(
      `${where}.configs: ${topic.configs.length} manifest files, more than the limit of ` +
        `${maxManifestsPerTopic} (MAX_MANIFESTS_PER_TOPIC)`,
    );
  }
  const manifests = (await Promise.all(
    topic.configs.map((path, j) => context.compile(path, `${where}.configs[${j}]`)),
  )).filter((m): m is Manifest => m !== undefined);
  const objects = manifests.reduce((n, m) => n + m.template.documents.length, 0);
  if (objects > maxObjectsPerPublish) {
    context.report(
      `${where}: a publish would apply ${objects} objects, more than the limit of ` +
        `${maxObjectsPerPublish} (MAX_OBJECTS_PER_PUBLISH)`,
    );
  }
  const rendered = renderedSize(manifests, context.limits.template);
  if (rendered) context.report(`${where}: ${rendered}`);
  return {
    name: topic.name,
    manifests,
    problems: [...new Set(manifests.flatMap((m) => m.policyProblems))],
    ...(topic.schedule ? { schedule: topic.schedule } : {}),
  };
}

/**
 * What is wrong with the size of what one publish renders (every file of the topic, aliases
 * expanded), or undefined. Each file is held to the limits as it compiles; a topic of many
 * files could still add up to more than one publish should build.
 */
function renderedSize(manifests: readonly Manifest[], limits: TemplateLimits): string | undefined {
  let nodes = 0, text = 0;
  for (const { template } of manifests) {
    nodes += template.size.nodes;
    text += template.size.text;
  }
  if (nodes > limits.maxNodes) {
    return `a publish would render ${formatCount(nodes)} keys, items and values, more than ` +
      `the limit of ${formatCount(limits.maxNodes)} for all of a topic's files together`;
  }
  if (text > limits.maxText) {
    return `a publish would render ${formatCount(text)} characters of keys and text, more ` +
      `than the limit of ${formatCount(limits.maxText)} for all of a topic's files together`;
  }
  return undefined;
}

function describe(file: string, problem: ConfigProblem): string {
  return problem.path
    ? `${file}: ${problem.path}: ${problem.message}`
    : `${file}: ${problem.message}`;
}

/** A file named in the config (at `referencedAt`), and where its problems are reported. */
interface FileRef {
  files: CommitFiles;
  path: string;
  referencedAt?: string;
  report: (problem: string) => void;
}

async function readText(file: FileRef): Promise<string | undefined> {
  const oid = await fileOid(file);
  return oid === undefined ? undefined : decodeBlob(file, oid);
}

/** The blob of `path`, or undefined (reported) when it names no regular file. */
async function fileOid(file: FileRef): Promise<string | undefined> {
  const { files, path, report } = file;
  const where = file.referencedAt ? `${file.referencedAt}: ` : "";
  const entry = await files.entry(path);
  switch (entry.kind) {
    case "missing":
      report(`${where}${path} does not exist in commit ${files.revision.slice(0, 12)}`);
      return undefined;
    case "directory":
      report(`${where}${path} is a directory, not a file`);
      return undefined;
    case "symlink":
      report(`${where}${path} is a symbolic link: list the file it points to instead`);
      return undefined;
    case "submodule":
      report(`${where}${path} is a Git submodule, not a file`);
      return undefined;
  }
  return entry.oid;
}

async function decodeBlob(
  file: FileRef,
  oid: string,
  maxBytes = Infinity,
): Promise<string | undefined> {
  const where = file.referencedAt ? `${file.referencedAt}: ` : "";
  const bytes = await file.files.read(oid);
  if (bytes.length > maxBytes) {
    file.report(
      `${file.path}: the file is ${formatBytes(bytes.length)}, more than the ` +
        `${formatBytes(maxBytes)} a manifest template may be`,
    );
    return undefined;
  }
  try {
    return decodeUtf8(bytes);
  } catch {
    file.report(`${where}${file.path} is not UTF-8 text`);
    return undefined;
  }
}

/**
 * The compiled template of `file`, from an earlier build when its blob is known, else compiled
 * now (with its checks, when the compiler runs them); undefined (reported) when it cannot be.
 */
async function compileFile(
  file: FileRef,
  context: { blobs: Blobs; policy: Policy },
): Promise<CheckedTemplate | undefined> {
  const { blobs, policy } = context;
  const oid = await fileOid(file);
  if (oid === undefined) return undefined;
  const known = blobs.next.get(oid);
  if (known) return { template: known };
  const reused = blobs.previous?.get(oid) ?? blobs.stored?.get(oid);
  if (reused) {
    blobs.next.set(oid, reused);
    blobs.reusedCount++;
    return { template: reused };
  }
  const text = await blobs.reads.run(async () => {
    const text = await decodeBlob(file, oid, blobs.limits.maxBytes);
    await blobs.pause();
    return text;
  });
  if (text === undefined) return undefined;
  try {
    const compiled = await blobs.compiler(text, { limits: blobs.limits, policy });
    blobs.next.set(oid, compiled.template);
    return compiled;
  } catch (error) {
    if (error instanceof TemplateError) {
      file.report(`${file.path}: ${error.message}`);
      return undefined;
    }
    throw error;
  }
}

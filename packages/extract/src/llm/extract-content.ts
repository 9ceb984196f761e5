// AI extraction for scrape results (contract §5.3): one answer across all
// pages, in the requested form, with a guaranteed shape when a schema is
// given. Never throws: any failure yields the raw Markdown and a flag.
import { extractPageMetadata } from "../metadata/extract-page-metadata.ts";
import type { PageMetadata } from "../metadata/extract-page-metadata.ts";
import { enforceSchema } from "../schema/enforce-schema.ts";
import { structuredOutputSchema } from "../schema/make-strict-compatible.ts";
import {
  buildRepairMessage,
  buildSystemPrompt,
  buildUserMessage,
  DEFAULT_JSON_INSTRUCTION,
  DEFAULT_TEXT_INSTRUCTION,
  escapeDataText,
  renderPages,
  userMessageOverhead,
} from "./build-extraction-prompt.ts";
import type { OutputMode, PagePart } from "./build-extraction-prompt.ts";
import { estimateTokens, packChunks } from "./chunk-markdown.ts";
import { renderMetadataBlock } from "./compact-metadata.ts";
import { classifyLlmError, LlmInvalidJsonError } from "./llm-errors.ts";
import type { LlmErrorClass } from "./llm-errors.ts";
import { addUsage, ZERO_USAGE } from "./llm-types.ts";
import type { Llm, LlmLog, LlmUsage } from "./llm-types.ts";
import { mergeJsonValues, mergeTextAnswers } from "./merge-results.ts";

export interface ExtractionPage {
  url: string;
  title: string;
  markdown: string;
  /** Raw HTML; when given (and `metadata` is not), its JSON-LD, OpenGraph and microdata go into the prompt. */
  html?: string;
  /** Metadata extracted beforehand (e.g. in the Markdown worker thread); takes precedence over `html`. */
  metadata?: PageMetadata;
}

export interface ExtractContentOptions {
  /** null when no model is configured: the outcome is a failure with reason "no_model". */
  llm: Llm | null;
  pages: ExtractionPage[];
  /** The user's instruction; blank counts as absent. */
  prompt?: string;
  /** Default "json" when a prompt or schema is given. Forced to "json" by a schema. */
  output?: OutputMode;
  /** A schema that passed validateOutputSchema. */
  schema?: object;
  /** Input tokens per model call (instructions, schema and page content together); default 24000 (fits a 32k model). */
  inputBudgetTokens?: number;
  /** Model calls at most for the page content; later chunks are not sent (logged, `truncated`). Default 20. */
  maxChunks?: number;
  /**
   * Epoch ms by which extraction must be over (the job's deadline): every call gets at most the
   * time left, no chunk or repair call starts after it, and running out is a failure (reason
   * "deadline", the raw Markdown returned). Default: none (each call is bounded by the client's timeout).
   */
  deadline?: number;
  log: LlmLog;
}

/** Why extraction fell back; "deadline": the job's time budget ran out, "truncated": an answer was cut at the token limit. */
export type ExtractionFailureReason = LlmErrorClass | "no_model" | "empty_input" | "empty_response" | "schema_mismatch";

export interface ExtractionOutcome {
  /** The extracted value, or the raw Markdown when aiExtractionFailed (or when no AI was asked for). */
  content: unknown;
  aiExtractionFailed: boolean;
  /** Summed over every call made (chunks and repair included, failed calls when the server reported usage). */
  usage: LlmUsage;
  calls: number;
  failureReason?: ExtractionFailureReason;
  /** Set when the content needed more than maxChunks calls and the rest was not sent. */
  truncated?: boolean;
}

export const DEFAULT_INPUT_BUDGET_TOKENS = 24_000;
export const DEFAULT_MAX_CHUNKS = 20;
/** Floor for page content per call, so an enormous prompt still leaves room for the page. */
const MIN_CHUNK_CHARS = 800;
const DEFAULT_SCHEMA_INSTRUCTION = "Extract the data described by the JSON Schema from the page(s).";

/** The per-URL Markdown joined the way `content` is when no AI runs (contract §5.3, row 1). */
export function joinPagesMarkdown(pages: ReadonlyArray<{ markdown: string }>): string {
  return pages
    .map((p) => p.markdown.trim())
    .filter(Boolean)
    .join("\n\n");
}

/**
 * Whether these options make {@link extractContent} ask the model at all: a prompt, a schema or an
 * output mode, except `output: "markdown"` alone, which is the raw page (contract D7).
 */
export function extractionAsksModel(opts: Pick<ExtractContentOptions, "prompt" | "output" | "schema">): boolean {
  return planTask(opts) !== null;
}

/** What to ask for; null means the contract wants the raw Markdown without AI. */
function planTask(opts: Pick<ExtractContentOptions, "prompt" | "output" | "schema">): {
  mode: OutputMode;
  task: string;
} | null {
  const prompt = opts.prompt?.trim() || undefined;
  if (opts.schema) return { mode: "json", task: prompt ?? DEFAULT_SCHEMA_INSTRUCTION };
  const output = opts.output ?? (prompt ? "json" : undefined);
  if (!output) return null;
  if (output === "json") return { mode: "json", task: prompt ?? DEFAULT_JSON_INSTRUCTION };
  if (prompt) return { mode: output, task: prompt };
  // Markdown without a prompt is the raw page itself (contract D7).
  if (output === "markdown") return null;
  return { mode: output, task: DEFAULT_TEXT_INSTRUCTION[output] };
}

function pageTexts(pages: ExtractionPage[], log: LlmLog): Array<{ url: string; title: string; text: string }> {
  return pages.map((page) => {
    const meta = page.metadata ?? (page.html ? extractPageMetadata(page.html) : undefined);
    const { block, trimmed } = meta ? renderMetadataBlock(meta) : { block: "", trimmed: false };
    if (trimmed) log.info({ url: page.url }, "Page metadata trimmed to fit the extraction prompt");
    const markdown = escapeDataText(page.markdown.trim());
    return { url: page.url, title: page.title, text: block ? `${block}\n\n${markdown}` : markdown };
  });
}

class CallTracker {
  usage: LlmUsage = { ...ZERO_USAGE };
  calls = 0;
  async run<T extends { usage: LlmUsage }>(call: () => Promise<T>): Promise<T> {
    this.calls++;
    try {
      const result = await call();
      this.usage = addUsage(this.usage, result.usage);
      return result;
    } catch (err) {
      // An unparseable answer still cost tokens.
      if (err instanceof LlmInvalidJsonError) this.usage = addUsage(this.usage, err.usage);
      throw err;
    }
  }
}

class ExtractionFailure extends Error {
  constructor(
    readonly reason: ExtractionFailureReason,
    readonly details: object = {},
  ) {
    super(reason);
  }
}

/** Throws the "deadline" failure once the time budget is spent, so no further call starts. */
function checkDeadline(deadline: number | undefined): void {
  if (deadline !== undefined && Date.now() >= deadline) throw new ExtractionFailure("deadline");
}

async function extractJson(
  llm: Llm,
  chunks: PagePart[][],
  ctx: { system: string; task: string; schema?: object; tracker: CallTracker; log: LlmLog; deadline?: number },
): Promise<unknown> {
  const { schema, tracker, system, task, deadline } = ctx;
  const values: unknown[] = [];
  for (const chunk of chunks) {
    checkDeadline(deadline);
    const user = buildUserMessage(task, renderPages(chunk));
    const { value } = await tracker.run(() => llm.completeJson({ system, user, schema, deadline }));
    // Conform each part first so merging works on schema-shaped values.
    values.push(schema ? enforceSchema(schema, value).value : value);
  }
  const merged = mergeJsonValues(values);
  if (!schema) {
    // `null` (or a blank string) is no answer at all, not an extraction that found nothing.
    if (merged === null || merged === undefined || (typeof merged === "string" && !merged.trim())) {
      throw new ExtractionFailure("empty_response");
    }
    return merged;
  }

  const first = enforceSchema(schema, merged);
  if (first.ok) return first.value;
  ctx.log.info({ errors: first.errors.slice(0, 10) }, "AI output did not match the schema; asking for a repair");
  const [only] = chunks;
  const user = buildRepairMessage({
    task,
    // Page content is resent only when it fits one call; merged chunks are repaired from the answer alone.
    pagesBlock: chunks.length === 1 && only ? renderPages(only) : undefined,
    previous: first.value,
    errors: first.errors,
  });
  checkDeadline(deadline);
  const { value } = await tracker.run(() => llm.completeJson({ system, user, schema, deadline }));
  // The last word: an optional field still invalid becomes null rather than costing the whole answer.
  const second = enforceSchema(schema, value, { nullInvalidOptional: true });
  if (!second.ok) throw new ExtractionFailure("schema_mismatch", { errors: second.errors.slice(0, 10) });
  if (second.nulled) {
    ctx.log.info({ nulled: second.nulled.slice(0, 10) }, "Optional fields still invalid after the repair set to null");
  }
  return second.value;
}

async function extractText(
  llm: Llm,
  chunks: PagePart[][],
  ctx: { system: string; task: string; mode: "markdown" | "text" | "table"; tracker: CallTracker; deadline?: number },
): Promise<string> {
  const texts: string[] = [];
  const { deadline } = ctx;
  for (const chunk of chunks) {
    checkDeadline(deadline);
    const user = buildUserMessage(ctx.task, renderPages(chunk));
    const { text } = await ctx.tracker.run(() => llm.completeText({ system: ctx.system, user, deadline }));
    texts.push(text);
  }
  const merged = mergeTextAnswers(texts, ctx.mode);
  if (!merged) throw new ExtractionFailure("empty_response");
  return merged;
}

/** Splits the pages into calls under the budget; `truncated` when maxChunks cut some off. */
function planChunks(
  opts: ExtractContentOptions,
  plan: { mode: OutputMode; task: string },
  system: string,
): { chunks: PagePart[][]; truncated: boolean } {
  const { log } = opts;
  const pages = pageTexts(opts.pages, log);
  if (!pages.some((p) => p.text.trim())) throw new ExtractionFailure("empty_input");
  // The schema travels in response_format or, in fallback mode, in the prompt: budget for it either way.
  const schemaChars = opts.schema ? JSON.stringify(structuredOutputSchema(opts.schema).schema).length + 200 : 0;
  const budgetTokens = opts.inputBudgetTokens ?? DEFAULT_INPUT_BUDGET_TOKENS;
  const overhead = system.length + userMessageOverhead(plan.task) + schemaChars;
  const chunks = packChunks(pages, Math.max(MIN_CHUNK_CHARS, budgetTokens * 4 - overhead));
  if (chunks.length > 1) {
    const contentTokens = estimateTokens(pages.map((p) => p.text).join(""));
    log.info(
      { chunks: chunks.length, contentTokens, inputBudgetTokens: budgetTokens },
      "Page content exceeds the model input budget; extracting in chunks",
    );
  }
  const maxChunks = Math.max(1, opts.maxChunks ?? DEFAULT_MAX_CHUNKS);
  if (chunks.length <= maxChunks) return { chunks, truncated: false };
  log.warn({ chunks: chunks.length, maxChunks }, "Page content needs more chunks than allowed; the rest is not sent");
  return { chunks: chunks.slice(0, maxChunks), truncated: true };
}

function errorDetails(err: unknown): object {
  const status = err !== null && typeof err === "object" && "status" in err ? err.status : undefined;
  return {
    errorClass: classifyLlmError(err),
    err: err instanceof Error ? err.message : String(err),
    ...(typeof status === "number" ? { status } : {}),
  };
}

/**
 * Runs AI extraction over scraped pages. Call it when the request has a
 * prompt, an output or a schema; without any (or with `output: "markdown"`
 * and no prompt) it returns the raw Markdown without calling the model.
 * Long content is split into chunks under `inputBudgetTokens` whose answers
 * are merged. Schema answers are enforced (enforceSchema) with one repair
 * round, after which an optional field still invalid becomes null. Any
 * failure — no model, connection, HTTP error, timeout, the `deadline` passed,
 * invalid JSON, an answer cut at the token limit, an empty (`null`) answer,
 * schema still not met — returns the raw Markdown with
 * `aiExtractionFailed: true` and `failureReason`, and logs a warning.
 */
export async function extractContent(opts: ExtractContentOptions): Promise<ExtractionOutcome> {
  const { llm, log } = opts;
  const raw = joinPagesMarkdown(opts.pages);
  const plan = planTask(opts);
  if (!plan) return { content: raw, aiExtractionFailed: false, usage: { ...ZERO_USAGE }, calls: 0 };

  const tracker = new CallTracker();
  let truncated = false;
  const finish = (fields: Pick<ExtractionOutcome, "content" | "aiExtractionFailed" | "failureReason">) => {
    const outcome: ExtractionOutcome = { ...fields, usage: tracker.usage, calls: tracker.calls };
    if (outcome.failureReason === undefined) delete outcome.failureReason;
    return truncated ? { ...outcome, truncated } : outcome;
  };
  const fail = (reason: ExtractionFailureReason, details: object = {}): ExtractionOutcome => {
    log.warn(
      { failureReason: reason, calls: tracker.calls, ...details },
      "AI extraction failed; returning raw Markdown",
    );
    return finish({ content: raw, aiExtractionFailed: true, failureReason: reason });
  };
  if (!llm) return fail("no_model");

  try {
    const system = buildSystemPrompt(plan.mode, opts.schema !== undefined);
    const planned = planChunks(opts, plan, system);
    truncated = planned.truncated;
    const { deadline } = opts;
    const content =
      plan.mode === "json"
        ? await extractJson(llm, planned.chunks, {
            system,
            task: plan.task,
            schema: opts.schema,
            tracker,
            log,
            deadline,
          })
        : await extractText(llm, planned.chunks, { system, task: plan.task, mode: plan.mode, tracker, deadline });
    return finish({ content, aiExtractionFailed: false });
  } catch (err) {
    // Whatever went wrong (model, network, or a bug here), the scrape still delivers its Markdown.
    if (err instanceof ExtractionFailure) return fail(err.reason, err.details);
    const details = errorDetails(err);
    return fail(classifyLlmError(err), details);
  }
}

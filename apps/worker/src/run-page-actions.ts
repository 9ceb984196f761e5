import { ActionError, runActions, type ActionRunResult, type BrowserActionInput } from "@orbweaver/browser";
import { chooseOption, extractContent } from "@orbweaver/extract";
import type { Page } from "playwright-core";
import type { WorkerContext } from "./worker-context.ts";

import type { Usage } from "./url-outcome.ts";

/**
 * Runs a URL's browser actions; plain-English targets the deterministic matcher cannot settle are
 * put to the model (a numbered list in, one index out). Returns the run, or the action error.
 */
export async function runPageActions(
  ctx: WorkerContext,
  opts: { page: Page; actions: BrowserActionInput[]; deadline: number; usage: Usage },
): Promise<{ ok: true; run: ActionRunResult } | { ok: false; error: string }> {
  const { llm } = ctx;
  try {
    const run = await runActions(opts.page, opts.actions, {
      actionTimeoutMs: ctx.config.jobs.actionTimeoutMs,
      navigationTimeoutMs: ctx.config.jobs.pageTimeoutMs,
      deadline: opts.deadline,
      log: ctx.log,
      ...(llm
        ? {
            chooseElement: async (description: string, candidates: string[]) => {
              const choice = await chooseOption({ llm, question: description, options: candidates, log: ctx.log });
              addUsage(opts.usage, choice.usage);
              return choice.index;
            },
          }
        : {}),
    });
    return { ok: true, run };
  } catch (err) {
    if (err instanceof ActionError) return { ok: false, error: err.message };
    throw err;
  }
}

/**
 * forEach items as Markdown sections `## Item N` (§6): each item's captured HTML as Markdown, or, with
 * `itemPrompt`, that item's own extraction, and a last line `_Error: …_` when the item had a problem.
 */
export async function forEachMarkdown(
  ctx: WorkerContext,
  opts: { forEach: NonNullable<ActionRunResult["forEach"]>; baseUrl: string; usage: Usage; deadline: number },
): Promise<string> {
  const sections: string[] = [];
  for (const [n, item] of opts.forEach.items.entries()) {
    const converted = await ctx.markdown.convert(item.html, { baseUrl: item.url || opts.baseUrl });
    let body = converted.markdown.trim() || item.text.trim();
    if (opts.forEach.itemPrompt && body) {
      const outcome = await extractContent({
        llm: ctx.llm,
        pages: [{ url: item.url, title: converted.title, markdown: body }],
        prompt: opts.forEach.itemPrompt,
        inputBudgetTokens: ctx.config.llm.inputBudgetTokens,
        maxChunks: ctx.config.llm.maxChunks,
        deadline: opts.deadline,
        log: ctx.log,
      });
      addUsage(opts.usage, outcome.usage);
      if (!outcome.aiExtractionFailed) body = JSON.stringify(outcome.content, null, 2);
    }
    // What went wrong with an item is said under whatever it captured (a 404 page, a part-loaded
    // page, a per-item action that failed), not only when it captured nothing.
    if (item.error) body = body ? `${body}\n\n_Error: ${item.error}_` : `_Error: ${item.error}_`;
    sections.push(`## Item ${n + 1}\n\n${body}`);
  }
  return sections.join("\n\n");
}

function addUsage(total: Usage, more: Usage): void {
  total.inputTokens += more.inputTokens;
  total.outputTokens += more.outputTokens;
}

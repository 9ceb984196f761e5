import type { BrowserAction } from "./actions.ts";
import type { ScrapeRequest } from "./scrape.ts";

/**
 * The request as stored with the job and read by the worker: empty strings removed (§1), defaults
 * applied, `fullPageScreenshot` implying `screenshot` (D45), and no secrets: cookies travel
 * separately and are never stored.
 */
export interface NormalizedScrapeRequest {
  urls: Array<{ url: string; actions: BrowserAction[]; instruction?: string }>;
  prompt?: string;
  output?: "json" | "markdown" | "text" | "table";
  schema?: Record<string, unknown>;
  useProxy: boolean;
  proxyCountry?: string;
  extractContentOnly: boolean;
  screenshot: boolean;
  fullPageScreenshot: boolean;
  scrapeMode: "default" | "fast";
  /**
   * Set by the gateway when cookies were sealed for the job (never the cookies themselves): the
   * worker then runs it with them or not at all.
   */
  withCookies?: true;
}

const present = (v: string | undefined): string | undefined => (v === undefined || v.trim() === "" ? undefined : v);

export function normalizeScrapeRequest(body: ScrapeRequest): NormalizedScrapeRequest {
  const out: NormalizedScrapeRequest = {
    urls: body.urls.map((u) => {
      const item: NormalizedScrapeRequest["urls"][number] = {
        url: u.url.trim(),
        actions: (u.actions ?? []) as BrowserAction[],
      };
      const instruction = present(u.instruction);
      if (instruction) item.instruction = instruction;
      return item;
    }),
    useProxy: body.useProxy === true,
    extractContentOnly: body.extractContentOnly === true,
    screenshot: body.screenshot === true || body.fullPageScreenshot === true,
    fullPageScreenshot: body.fullPageScreenshot === true,
    scrapeMode: body.scrapeMode ?? "default",
  };
  const prompt = present(body.prompt);
  if (prompt) out.prompt = prompt;
  const country = present(body.proxyCountry);
  if (country) out.proxyCountry = country.trim().toLowerCase();
  if (body.schema && Object.keys(body.schema).length > 0) out.schema = body.schema;
  if (body.output) out.output = out.schema ? "json" : body.output;
  else if (out.schema) out.output = "json";
  return out;
}

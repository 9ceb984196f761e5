import type { ScrapePageResult } from "@orbweaver/contract";
import type { PageMetadata } from "@orbweaver/extract";

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** One URL's outcome: the public per-URL record plus what the job needs to decide and bill. */
export interface UrlOutcome {
  page: ScrapePageResult;
  markdown: string;
  /** Model tokens spent on this URL itself (element choices, forEach item prompts). */
  usage: Usage;
  /** JSON-LD, OpenGraph and microdata, read when an AI pass will use them. */
  metadata?: PageMetadata;
  /** Bytes moved through an upstream proxy for this URL (`useProxy`). */
  proxyBytes?: number;
  /** CAPTCHAs solved to reach this URL's content (`stats.captchaSolvedCount`). */
  captchasSolved?: number;
}

export function failedOutcome(
  url: string,
  error: string,
  usage: Usage = { inputTokens: 0, outputTokens: 0 },
): UrlOutcome {
  return {
    markdown: "",
    usage,
    page: { url, title: "", markdownContent: "", success: false, screenshotUrl: null, error, statusCode: null },
  };
}

// The Crawlee side of B2, run as its own process so its memory (and its Chromium's) is measured
// apart: `node --import tsx bench/lib/crawlee-run.ts '<json>'` with {urls, concurrency,
// executablePath}. PlaywrightCrawler with the same Chromium and flags as the worker, a fresh
// context per page (useIncognitoPages, as the worker), no fingerprint injection, in-memory storage,
// no retries; each page's HTML goes through our converter. Prints one JSON line with the timings.
import { BASE_CHROMIUM_ARGS } from "@orbweaver/browser";
import { convertHtmlToMarkdown } from "@orbweaver/extract";
import { Configuration, log, LogLevel, PlaywrightCrawler } from "@crawlee/playwright";
import { chromium } from "playwright";

interface Input {
  urls: string[];
  concurrency: number;
  executablePath: string;
}

const input = JSON.parse(process.argv[2] ?? "{}") as Input;
log.setLevel(LogLevel.WARNING);

let ok = 0;
let failed = 0;
let firstNavAt: number | undefined;
const config = new Configuration({ persistStorage: false, purgeOnStart: true });
const crawler = new PlaywrightCrawler(
  {
    launchContext: {
      launcher: chromium,
      useIncognitoPages: true,
      launchOptions: { executablePath: input.executablePath, headless: true, args: BASE_CHROMIUM_ARGS },
    },
    browserPoolOptions: { useFingerprints: false },
    minConcurrency: input.concurrency,
    maxConcurrency: input.concurrency,
    maxRequestRetries: 0,
    navigationTimeoutSecs: 30,
    requestHandlerTimeoutSecs: 30,
    preNavigationHooks: [
      () => {
        firstNavAt ??= performance.now();
      },
    ],
    async requestHandler({ page, request }) {
      const html = await page.content();
      const { markdown } = convertHtmlToMarkdown(html, { baseUrl: request.loadedUrl ?? request.url });
      if (markdown.includes("Rendered by script")) ok++;
      else failed++;
    },
    failedRequestHandler() {
      failed++;
    },
  },
  config,
);

const t0 = performance.now();
await crawler.run(input.urls);
const t1 = performance.now();
process.stdout.write(`${JSON.stringify({ wallMs: t1 - t0, afterLaunchMs: t1 - (firstNavAt ?? t0), ok, failed })}\n`);

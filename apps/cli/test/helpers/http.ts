import { waitFor } from "@orbweaver/testkit";
import { expect } from "vitest";

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON call the way the SDKs make it. */
export async function call<T = Record<string, unknown>>(
  url: string,
  opts: {
    method?: string;
    key?: string;
    bearer?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers["x-api-key"] = opts.key;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.body !== undefined || opts.rawBody !== undefined) headers["content-type"] ??= "application/json";
  const res = await fetch(url, {
    method: opts.method ?? (opts.body !== undefined || opts.rawBody !== undefined ? "POST" : "GET"),
    headers,
    body: opts.rawBody ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

export interface PollBody {
  status: string;
  jobId: string;
  progress: { message: string; progress: number } | null;
  result: null | {
    content: unknown;
    data: Array<{
      url: string;
      title: string;
      markdownContent: string;
      success: boolean;
      screenshotUrl: string | null;
      error?: string | null;
    }>;
    screenshots: string[];
    ai_extraction_failed: boolean;
    stats: Record<string, number>;
  };
  error: string | null;
}

/** Polls a scrape job until it is completed or failed, recording every status seen. */
export async function pollScrape(
  api: string,
  key: string,
  jobId: string,
  timeoutMs = 45_000,
): Promise<{ final: PollBody; seen: string[] }> {
  const seen: string[] = [];
  const final = await waitFor(
    async () => {
      const res = await call<PollBody>(`${api}/scrape/${jobId}`, { key });
      if (res.status !== 200) throw new Error(`poll answered ${res.status}`);
      if (seen[seen.length - 1] !== res.body.status) seen.push(res.body.status);
      return ["completed", "failed"].includes(res.body.status) ? res.body : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `scrape job ${jobId} to finish` },
  );
  return { final, seen };
}

/** Submits a one-URL scrape, expects 202 Accepted and returns the job id. */
export async function submitScrape(api: string, key: string, url: string): Promise<string> {
  const res = await call<{ jobId: string }>(`${api}/scrape`, { key, body: { urls: [{ url }] } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.jobId;
}

/** Submits a scrape request `body`, expects 202 Accepted and polls the job until it finishes; returns the final poll body. */
export async function scrapeAndWait(
  api: string,
  key: string,
  body: Record<string, unknown>,
  timeoutMs?: number,
): Promise<PollBody> {
  const submit = await call<{ jobId: string }>(`${api}/scrape`, { key, body });
  expect(submit.status, JSON.stringify(submit.body)).toBe(202);
  return (await pollScrape(api, key, submit.body.jobId, timeoutMs)).final;
}

import type { ApiDeps } from "../deps.ts";
import { AppError } from "../errors.ts";

/**
 * First pass of the SSRF guard: every URL must be http(s) and resolve only to allowed addresses.
 * Returns the normalised URLs; throws 400 naming each refused URL by its path in the request.
 */
export async function checkTargetUrls(deps: ApiDeps, urls: Array<{ path: string; url: string }>): Promise<string[]> {
  const checks = await Promise.all(urls.map((u) => deps.checkUrl(u.url)));
  const errors = checks.flatMap((c, i) => (c.ok ? [] : [`${urls[i]?.path}: ${c.reason}`]));
  if (errors.length > 0) throw new AppError("VALIDATION_ERROR", `URL refused: ${errors[0]}`, { errors });
  return checks.map((c, i) => (c.ok ? c.url : (urls[i]?.url ?? "")));
}

import type { Config } from "./load-config.ts";

/**
 * pino options shared by every process. Secrets are redacted wherever they could appear: API keys,
 * Authorization and cookies in request headers, and any `cookies` field a caller logs.
 */
export function loggerOptions(config: Pick<Config, "logLevel">, name: string) {
  return {
    name,
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers["x-api-key"]',
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "headers.cookie",
        "headers.authorization",
        'headers["x-api-key"]',
        "cookies",
        "*.cookies",
        "key",
        "apiKey",
        // The CAPTCHA solver's account key, should a provider request body ever be logged.
        "clientKey",
        "*.clientKey",
      ],
      censor: "[redacted]",
    },
  };
}

export * from "./common.ts";
export * from "./actions.ts";
export * from "./scrape.ts";
export * from "./error-codes.ts";
export * from "./normalize-scrape.ts";
export * from "./batch.ts";
export * from "./logs.ts";
export * from "./usage.ts";

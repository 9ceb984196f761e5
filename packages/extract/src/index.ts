export * from "./markdown/index.ts";
export * from "./llm/index.ts";
export * from "./schema/index.ts";
export * from "./metadata/index.ts";
export * from "./detect/index.ts";
export * from "./pdf/index.ts";

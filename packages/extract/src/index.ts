export * from "./markdown/index.ts";

export { buildApp } from "./app.ts";
export type { BuildAppOptions } from "./app.ts";
export type { ApiDeps } from "./deps.ts";
export { startApi } from "./server.ts";

export { accounts } from "./accounts.ts";
export { apiKeys } from "./api-keys.ts";
export { creditLedger } from "./credit-ledger.ts";
export { jobs } from "./jobs.ts";
export type { JobStatus } from "./jobs.ts";
export { batches } from "./batches.ts";
export { batchItems } from "./batch-items.ts";
export { instanceSettings } from "./instance-settings.ts";

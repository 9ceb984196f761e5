export { startWorker } from "./worker.ts";
export { startReconciler } from "./reconciler.ts";
export { startRetentionSweeper, type SweepResult } from "./retention-sweeper.ts";
export type { WorkerContext } from "./worker-context.ts";

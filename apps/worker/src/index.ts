export { startWorker } from "./worker.ts";
export { startReconciler } from "./reconciler.ts";
export { startBlobSweeper } from "./blob-sweeper.ts";
export type { WorkerContext } from "./worker-context.ts";

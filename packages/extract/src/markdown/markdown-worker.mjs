// Worker-thread entry for markdown-pool.ts.
//
// Plain JavaScript on purpose. On Node 20, loader hooks passed via
// `--import` (how both the tsx CLI and `node --import tsx` hook in, and what a
// worker inherits through process.execArgv) are NOT applied inside worker
// threads: a `.ts` worker entry fails with ERR_UNKNOWN_FILE_EXTENSION under
// tsx and under vitest alike (verified on Node 20.20). Loading the TypeScript
// module through tsx's programmatic API from inside the thread works in every
// launch mode. tsImport is namespaced, so it also coexists with a tsx loader
// that a newer Node might already apply to workers.
import { tsImport } from "tsx/esm/api";

await tsImport("./markdown-worker.ts", import.meta.url);

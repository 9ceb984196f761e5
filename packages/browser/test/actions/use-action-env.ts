// Vitest hooks for the action tests, apart from action-fixtures.ts, which tsx-smoke-script.ts also runs outside vitest.
import { afterAll, afterEach, beforeAll } from "vitest";
import { startActionEnv, stopActionEnv, type ActionEnv } from "./action-fixtures.ts";

/** One ActionEnv for the calling test file: started before all, its contexts closed after each test, stopped after all. */
export function useActionEnv(): ActionEnv {
  let current: ActionEnv | undefined;
  const started = (): ActionEnv => {
    if (!current) throw new Error("useActionEnv: the environment is used before beforeAll started it");
    return current;
  };
  beforeAll(async () => {
    current = await startActionEnv();
  });
  afterEach(async () => {
    await started().closeAll();
  });
  afterAll(async () => {
    await stopActionEnv(current);
  });
  return {
    get site() {
      return started().site;
    },
    get browser() {
      return started().browser;
    },
    open: (path) => started().open(path),
    closeAll: () => started().closeAll(),
  };
}

import { defineConfig } from "drizzle-kit";

// Used only by `pnpm db:generate` to write SQL into migrations/; migrations are applied by `pnpm db:migrate`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./packages/db/src/schema/*.ts",
  out: "./migrations",
});

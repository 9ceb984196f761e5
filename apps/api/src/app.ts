import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { loggerOptions } from "@orbweaver/config";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { ApiDeps } from "./deps.ts";
import authPlugin from "./plugins/auth.ts";
import errorHandler, { clientErrorHandler, frameworkErrorHandler } from "./plugins/error-handler.ts";
import jsonBody from "./plugins/json-body.ts";
import storableText from "./plugins/storable-text.ts";
import rateLimitPlugin from "./plugins/rate-limit.ts";
import batchRoutes from "./routes/batch/index.ts";
import crawlRoutes from "./routes/crawl/index.ts";
import filesRoutes from "./routes/files/index.ts";
import healthRoutes from "./routes/health/index.ts";
import logsRoutes from "./routes/logs/index.ts";
import scrapeRoutes from "./routes/scrape/index.ts";
import usageRoutes from "./routes/usage/index.ts";
import { createKeyCache } from "./use-cases/key-cache.ts";

/** Options for {@link buildApp}. */
export interface BuildAppOptions {
  /** A pino logger instance or options; default: options from config. */
  logger?: FastifyServerOptions["logger"] | FastifyServerOptions["loggerInstance"];
}

/** Builds the gateway; never listens (server.ts does, tests use inject or their own port). */
export async function buildApp(deps: ApiDeps, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: opts.logger === undefined ? loggerOptions(config, "api") : (opts.logger as FastifyServerOptions["logger"]),
    bodyLimit: config.limits.bodyLimitBytes,
    trustProxy: config.trustProxy,
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true },
    ajv: { customOptions: { coerceTypes: "array", removeAdditional: false, useDefaults: true, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate("deps", deps);
  app.decorate("keyCache", createKeyCache({ db: deps.db, redis: deps.redis, prefix: config.queuePrefix }));
  await app.register(errorHandler);
  await app.register(jsonBody);
  await app.register(storableText);
  await app.register(swagger, {
    openapi: {
      info: { title: "Orbweaver (Spidra-compatible API)", version: "0.1.0" },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(healthRoutes);
  await app.register(filesRoutes);
  await app.register(
    async (api) => {
      // Rate limit first so that requests failing authentication are counted too.
      await api.register(rateLimitPlugin);
      await api.register(authPlugin);
      await api.register(scrapeRoutes);
      await api.register(batchRoutes);
      await api.register(crawlRoutes);
      await api.register(logsRoutes);
      await api.register(usageRoutes);
    },
    { prefix: config.apiPrefix },
  );
  return app;
}

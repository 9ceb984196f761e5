# syntax=docker/dockerfile:1
# One image for every role: api, worker, and the CLI (migrations, keys, credits).
#   docker build -t orbweaver .
#   docker compose up -d && docker compose exec api pnpm orbweaver keys create --name me --credits 100 --json
# TypeScript runs directly with tsx (no build step), so the install keeps devDependencies.

FROM node:20-bookworm-slim AS base
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    chromium \
    fonts-liberation \
    ca-certificates \
    tini \
  && rm -rf /var/lib/apt/lists/*
RUN npm install -g --no-fund --no-audit pnpm@12.4.2 \
  && npm cache clean --force \
  && pnpm --version

# Only the manifests, so the dependency layer below is rebuilt only when they change:
# package.json, pnpm-lock.yaml, pnpm-workspace.yaml and every apps/*/ and packages/*/package.json.
FROM base AS manifests
WORKDIR /src
COPY . .
RUN find . -type f \
    ! -path ./package.json ! -path ./pnpm-lock.yaml ! -path ./pnpm-workspace.yaml ! -path ./.npmrc \
    ! -regex '\./\(apps\|packages\)/[^/]*/package\.json' -delete \
  && find . -mindepth 1 -type d -empty -delete

FROM base AS app
WORKDIR /app
COPY --from=manifests /src/ ./
# The store lives in a build cache, not in the image; node_modules gets real copies of the files.
# Everything must be readable by the runtime user: pnpm writes its workspace state file (and the
# repo may hold lockfiles) with mode 600, and an unreadable state file makes `pnpm <script>` try
# to reinstall node_modules at run time.
RUN --mount=type=cache,id=orbweaver-pnpm-store,target=/root/.cache/pnpm-store \
  CI=true pnpm install --frozen-lockfile --store-dir /root/.cache/pnpm-store \
  && find . ! -perm -a+r -exec chmod a+rX {} +
COPY . .

# Application files stay root-owned (read-only for the runtime user); only /data is writable.
RUN find . -path ./node_modules -prune -o ! -perm -a+r -exec chmod a+rX {} + \
  && mkdir -p /data && chown node:node /data
ENV NODE_ENV=production \
    CHROMIUM_PATH=/usr/bin/chromium \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8080
VOLUME ["/data"]
USER node
EXPOSE 8080

# Liveness only (GET /health); compose checks the api's /ready. The worker role serves no HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# tini reaps Chromium's zombies and forwards SIGTERM to node. The command runs node directly
# (what `pnpm start` runs): pnpm 12 exits on SIGTERM without waiting for its child, which would
# end the container before running jobs finish. One-shot commands (`pnpm db:migrate`,
# `pnpm orbweaver keys create ...`) are fine through pnpm.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "apps/cli/src/main.ts", "start"]

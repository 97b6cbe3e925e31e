# syntax=docker/dockerfile:1
# The User Manager Service on Node.js 24 LTS. Build: docker build -t user-manager-service .
# Run:   docker run -p 3000:3000 -v ums-data:/data user-manager-service
# test/image.test.ts assembles the runtime stage's tree without Docker and starts it with its CMD.

# Build stage: every dependency, then dist/, then the development dependencies are removed.
# better-sqlite3 is compiled here, on Node.js 24.18.1 on purpose: from 24.19 the header-only
# node::ObjectWrap registers cleanup hooks, and better-sqlite3 12 built against those headers
# aborts the process when a garbage collection finalizes a statement outside JavaScript. Its
# binary runs on every Node.js 24 (one ABI); docs/decisions.md.
FROM node:24.18.1-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --build-from-source --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: the latest Node.js 24 on the same Debian, the production dependencies, dist/ and
# what they read at run time.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    HTTP_PORT=3000 \
    EMBEDDED_DB_PATH=/data/ums.sqlite
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY docs/configuration.md ./docs/configuration.md
# The embedded store lives on a volume owned by the unprivileged user the service runs as.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# No curl in the slim image: Node's own fetch asks the liveness route.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 3000) + '/-/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1's command (no npm, no shell): SIGTERM from docker stop reaches the server,
# which drains within SHUTDOWN_TIMEOUT_MS (keep docker's stop timeout above it).
CMD ["node", "dist/main.js"]

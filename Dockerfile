# syntax=docker/dockerfile:1
# Node 26 is the Active LTS line (since October 2026). All stages use the same base image, so the
# native better-sqlite3 binary built or downloaded in the first matches the runtime's glibc and ABI.
FROM node:26-slim AS build
WORKDIR /app
# better-sqlite3 downloads a prebuilt binary when one matches this platform; the toolchain is the
# fallback (another CPU architecture or Node ABI). It stays in this stage, out of the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY projections ./projections
# Compiled once here: the runtime runs JavaScript, with no TypeScript compiler or tsx in its path.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:26-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Code and dependencies stay root-owned: the service can write only to /app/data.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# /ready, not /health: an instance whose store cannot take durable writes is taken out of rotation.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1's only process: SIGTERM from `docker stop` reaches the server's own shutdown.
CMD ["node", "dist/main.js"]

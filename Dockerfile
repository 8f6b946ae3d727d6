# syntax=docker/dockerfile:1
# Both stages use the same base image, so the native better-sqlite3 binary built or downloaded
# in the first one matches the glibc and Node ABI of the second.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 downloads a prebuilt binary when one matches this platform; the toolchain is the
# fallback (another CPU architecture or Node ABI). It stays in this stage, out of the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# tsx is a runtime dependency (the service runs its TypeScript directly), so --omit=dev keeps it.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Code and dependencies stay root-owned: the service can write only to /app/data (read models).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY projections ./projections
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
CMD ["npm", "start"]

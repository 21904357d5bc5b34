# The driftplane image: the worker (default command) and `driftplane serve` (docker-compose.yml,
# deploy/kubernetes/). Compiled JavaScript on Node 20 as the non-root `node` user, production
# dependencies only, the prebuilt workflow bundle, and the OpenTofu binary the plan detector and
# the state executors run (docs/detection-plans.md). docs/deploy.md explains each stage.
#
# test/e2e/dist-start.test.ts rebuilds the runtime stage from this file's COPY, ENV and RUN lines in
# a temporary folder and runs the worker and `serve` with --check from there: keep the runtime
# stage to COPY, ENV, RUN mkdir/chown, USER and CMD, each COPY on one line.

# OpenTofu, pinned and checked against the release's SHA256SUMS. Terraform or Terragrunt units need
# their binary too: add it the same way and point the unit's `detection.binary` (or
# DRIFTPLANE_TOFU_BIN) at it.
FROM debian:bookworm-slim AS tofu
ARG TOFU_VERSION=1.10.7
ARG TARGETARCH=amd64
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl unzip \
 && base=https://github.com/opentofu/opentofu/releases/download/v${TOFU_VERSION} \
 && curl -fsSLo /tmp/tofu.zip ${base}/tofu_${TOFU_VERSION}_linux_${TARGETARCH}.zip \
 && curl -fsSLo /tmp/SHA256SUMS ${base}/tofu_${TOFU_VERSION}_SHA256SUMS \
 && cd /tmp && echo "$(grep " tofu_${TOFU_VERSION}_linux_${TARGETARCH}.zip\$" SHA256SUMS | cut -d' ' -f1)  tofu.zip" | sha256sum -c - \
 && unzip -o /tmp/tofu.zip tofu -d /usr/local/bin && /usr/local/bin/tofu version

# Build: every dependency (esbuild compiles, the Temporal bundler packs the workflows), then dist/
# (scripts/build-dist.mjs, what `npm ci` runs as `prepare`) and the workflow bundle from dist/.
FROM node:20.18.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts/build-dist.mjs ./scripts/
COPY bin ./bin
COPY domain ./domain
COPY registry ./registry
COPY evidence ./evidence
COPY ledger ./ledger
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY serve ./serve
COPY cli ./cli
RUN npm run build
RUN node dist/workers/build-bundle.js /app/build/workflow-bundle.js

# Production dependencies only, without install scripts (the Temporal core bridge ships prebuilt).
FROM node:20.18.1-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

# Runtime: no sources, no compiler, no dev dependencies.
FROM node:20.18.1-bookworm-slim
COPY --from=tofu /usr/local/bin/tofu /usr/local/bin/tofu
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/workflow-bundle.js ./build/workflow-bundle.js
ENV DRIFTPLANE_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js
# The data folder (signing and redaction keys, evidence, the embedded ledger when no PostgreSQL is
# configured), owned by `node`: a named volume mounted here starts with this ownership.
ENV DRIFTPLANE_HOME=/var/lib/driftplane
RUN mkdir -p /var/lib/driftplane/evidence && chown -R node:node /var/lib/driftplane
USER node
# `node dist/workers/main.js --check` checks the configuration, the ledger and Temporal, then exits.
CMD ["node", "dist/workers/main.js"]

# The driftplane worker image: Node 20, production dependencies, the prebuilt workflow bundle,
# and the OpenTofu binary the plan detector and the state executors run (docs/detection-plans.md).

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

FROM node:20.18.1-bookworm-slim
COPY --from=tofu /usr/local/bin/tofu /usr/local/bin/tofu
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY domain ./domain
COPY registry ./registry
COPY workflows ./workflows
COPY activities ./activities
COPY evidence ./evidence
COPY ledger ./ledger
COPY workers ./workers
COPY cli ./cli
COPY serve ./serve
COPY bin ./bin
COPY tsconfig.json ./
RUN node --import tsx workers/build-bundle.ts /app/build/workflow-bundle.js
ENV DRIFTPLANE_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js
USER node
CMD ["node", "--import", "tsx", "workers/main.ts"]

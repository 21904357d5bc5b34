# The driftplane worker image: Node 20, production dependencies, the prebuilt workflow bundle.
FROM node:20.18.1-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY domain ./domain
COPY registry ./registry
COPY workflows ./workflows
COPY activities ./activities
COPY evidence ./evidence
COPY workers ./workers
COPY cli ./cli
COPY serve ./serve
COPY bin ./bin
COPY tsconfig.json ./
RUN node --import tsx workers/build-bundle.ts /app/build/workflow-bundle.js
ENV DRIFTPLANE_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js
USER node
CMD ["node", "--import", "tsx", "workers/main.ts"]

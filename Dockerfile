# Build stage: isolated-vm is a native addon compiled at install time.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
COPY devtools ./devtools
RUN npm run build && npm prune --omit=dev

# Run stage: the compiled server, production dependencies, default settings and the example apps.
FROM node:20-bookworm-slim
ENV NODE_ENV=production LOOPAI_DATA_DIR=/loopai-data LOOPAI_HOST=0.0.0.0 LOOPAI_PORT=8080 LOOPAI_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY web ./web
COPY --chown=node:node loopai-data /loopai-data
VOLUME /loopai-data
EXPOSE 8080
USER node
CMD ["node", "dist/src/main.js"]

# Multi-stage image: build with the full toolchain (better-sqlite3 compiles natively), run slim.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies first (cached while only src/ changes). --ignore-scripts keeps `prepare` from
# building before src/ is there; better-sqlite3's own install script is run explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The one build.
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
# The shipped mapping is the Nextcloud template (examples/mappings/nextcloud-users.yaml): it needs
# NEXTCLOUD_URL and serves every Nextcloud user. Mount your own at /etc/syncml-gateway/mappings.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 MAPPINGS_DIR=/etc/syncml-gateway/mappings STATE_DIR=/var/lib/syncml-gateway
# Young generation of 2 MB per semi-space instead of up to 16 MB: 5-32 MB less peak RSS per sync phase
# at 1,000 contacts, CPU within the noise (docs/performance.md, "Memory: idle footprint ...").
# One V8 helper thread instead of four: 3-8 MB less RSS, CPU within the noise (same file,
# "V8 helper threads").
ENV NODE_OPTIONS="--max-semi-space-size=2 --v8-pool-size=1"
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY examples/mappings /etc/syncml-gateway/mappings
# `syncml-gateway` on PATH, so `docker exec <container> syncml-gateway devices list` works.
RUN ln -s /app/bin/syncml-gateway.js /usr/local/bin/syncml-gateway \
  && mkdir -p /var/lib/syncml-gateway && chown node:node /var/lib/syncml-gateway
USER node
VOLUME ["/var/lib/syncml-gateway"]
EXPOSE 8080 8443
# Checks the configured HOST/PORT (0.0.0.0 -> 127.0.0.1), see bin/healthcheck.js.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["node", "/app/bin/healthcheck.js"]
# SIGTERM: the gateway stops within SHUTDOWN_GRACE_SECONDS (8), before Docker's 10 s kill.
STOPSIGNAL SIGTERM
ENTRYPOINT ["syncml-gateway"]
CMD ["serve"]

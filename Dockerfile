# Multi-stage image: build with the full toolchain (better-sqlite3 compiles natively), run slim.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 MAPPINGS_DIR=/etc/syncml-gateway/mappings STATE_DIR=/var/lib/syncml-gateway
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY mappings /etc/syncml-gateway/mappings
RUN mkdir -p /var/lib/syncml-gateway && chown node:node /var/lib/syncml-gateway
USER node
VOLUME ["/var/lib/syncml-gateway"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/syncml-gateway.js"]
CMD ["serve"]

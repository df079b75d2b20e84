# slotgate container image.
#
#   docker build -t slotgate .
#   docker run -p 7380:7380 -e SLOTGATE_SEEDS=redis-0:6379,redis-1:6379 slotgate
#   docker run -p 7380:7380 -v "$PWD/my.yaml:/etc/slotgate/slotgate.yaml:ro" slotgate
#
# Settings come from /etc/slotgate/slotgate.yaml (mount your own there), overridden by SLOTGATE_*
# variables, overridden by flags given after the image name (which replace the default --config,
# so pass it again if you still want the file).

# ---- build: src/ compiled to dist/ (`npm run build`), which needs the dev dependencies ----
FROM node:24-slim AS build
WORKDIR /app

# `npm ci` here also installs the pinned `node` devDependency (a Node binary): unused, harmless,
# and confined to this stage.
COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build

# ---- runtime: production dependencies and the compiled JavaScript only ----
FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies before the code, so editing code doesn't redo the install layer. The pinned `node`
# package is a devDependency and is left out: the image runs the base image's Node 24.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# dist/, not src/: running the TypeScript directly would load Node's type stripper, and keep it,
# for some 25 MB more RSS. package.json stays next to dist/: slotgate reads its version from it.
COPY --from=build /app/dist/ dist/
COPY bin/ bin/
COPY config/ config/

# The default config is the example with the listen addresses (clients', and metrics' and probes'
# when metricsPort is set) widened: 127.0.0.1 inside a container can't be reached through a
# published port. The greps fail the build if the example ever stops having the lines sed rewrites.
RUN mkdir -p /etc/slotgate \
 && sed -e 's/^bind: .*/bind: 0.0.0.0/' -e 's/^metricsBind: .*/metricsBind: 0.0.0.0/' config/slotgate.yaml > /etc/slotgate/slotgate.yaml \
 && grep -q '^bind: 0.0.0.0$' /etc/slotgate/slotgate.yaml \
 && grep -q '^metricsBind: 0.0.0.0$' /etc/slotgate/slotgate.yaml

# The base image's unprivileged user; slotgate needs no writable files.
USER node
EXPOSE 7380

# Node runs as PID 1 here; slotgate handles SIGTERM itself (drains, then exits), so no init is needed.
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--config", "/etc/slotgate/slotgate.yaml"]

# The neverstop node image (lesson 5, "systems that never stop", on containers).
#
# Workshops with internet use the default base, an official Node image:
#   docker build -t neverstop:local .
# Classrooms and machines with no registry build the base offline from the machine's own Node
# binary first (a root filesystem with node, its shared libraries and /bin/sh, `docker import`ed):
#   npx neverstop docker-base                       # -> neverstop-base:local
#   docker build --build-arg BASE_IMAGE=neverstop-base:local -t neverstop:local .
#   (or: npx neverstop docker-image, which runs that build)
#
# The image runs TypeScript sources through tsx (a runtime dependency): the entrypoint is
# `node bin/run-ts.js`, and the command names the file to run, by default a compose node
# (chaos/nemesis/docker/container-node.ts --node n1). The docker backend (`npx neverstop up
# --backend docker`, which builds this image itself as neverstop:src-<hash>) runs
# cluster/runtime/real/node-main.ts --config FILE for nodes and
# chaos/nemesis/docker/container-toxiproxy.ts --port P for its Toxiproxy; neither needs cli/,
# which the image leaves out. Everything listens on 127.0.0.1 only:
# run the containers on the host network (docker-compose.host.yml) or in one shared namespace
# (docker-compose.yml).
#
# One COPY and one RUN on purpose: with the vfs storage driver every layer is a full copy.

ARG BASE_IMAGE=node:20-slim
FROM ${BASE_IMAGE}

WORKDIR /app
ENV NODE_ENV=production

# .dockerignore lets in only package.json, package-lock.json, tsconfig.json, bin/, cluster/,
# chaos/ and node_modules/ (without development tools).
COPY . .

# A base with npm (node:20-slim) installs the runtime dependencies for its own platform, since the
# node_modules copied from a laptop may hold another platform's esbuild. The offline base has no
# npm and keeps the copied node_modules: it was built from this machine's Node, same platform.
RUN if command -v npm >/dev/null 2>&1; then \
      npm ci --omit=dev --ignore-scripts --no-audit --no-fund; \
    fi

VOLUME ["/data"]
ENTRYPOINT ["node", "bin/run-ts.js"]
CMD ["chaos/nemesis/docker/container-node.ts", "--node", "n1", "--nodes", "1", "--direct"]

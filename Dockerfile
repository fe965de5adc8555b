# One image for both processes of the service:
#   gateway (default CMD):  npm run gateway   (= node --import tsx src/api/server.ts)
#   worker:                 npm run worker    (= node --import tsx src/worker.ts)
# tsx is a runtime dependency, so TypeScript runs as is: there is no build step.
#
# The local sandbox (SANDBOX=local, the default) runs untrusted Python under bubblewrap (bwrap),
# which creates user, mount, pid and network namespaces and mounts a fresh /proc. Docker's
# defaults forbid that, so the WORKER container needs (see docker-compose.yml):
#   security_opt: [seccomp=unconfined, apparmor=unconfined, systempaths=unconfined]
#   cap_add: [SYS_ADMIN]
#   user: root   (CAP_SYS_ADMIN is only effective for root; it also lets the sandbox run each slot
#                 under its own uid, and works on hosts that forbid unprivileged user namespaces)
# - seccomp=unconfined:    Docker's default profile blocks unshare/clone of new namespaces.
# - apparmor=unconfined:   docker-default AppArmor denies mount(2), which bwrap needs.
# - systempaths=unconfined: Docker masks /proc/kcore etc.; with masked paths the kernel refuses
#                           the new /proc mount bwrap makes ("Can't mount proc ... Operation not
#                           permitted", a "too revealing" mount).
# These loosen the container boundary of the worker only; the sandbox itself then drops every
# privilege (no network, read-only system, limits). Alternative: SANDBOX=e2b (with E2B_API_KEY),
# which needs none of these and lets the worker run as the non-root user like the gateway.
#
# The gateway needs no privileges and runs as the image's non-root `node` user (uid 1000).
#
# Quick single-container run of the gateway (it must bind 0.0.0.0 to be reachable, and a
# non-loopback bind requires API_KEYS):
#   docker build -t agent-executions .
#   docker run --rm -p 3000:3000 -e HOST=0.0.0.0 -e API_KEYS=change-me \
#     -e TEMPORAL_ADDRESS=host.docker.internal:7233 agent-executions
FROM node:20-bookworm-slim

# Python and the data libraries come from Debian (the same ones the sandbox is measured with);
# bubblewrap is the local sandbox. prlimit (util-linux) is already in the base image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        bubblewrap \
        python3 \
        python3-pandas \
        python3-numpy \
        python3-matplotlib \
        python3-seccomp \
        python3-openpyxl \
    && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    MPLBACKEND=Agg \
    PORT=3000 \
    DATA_DIR=/data

WORKDIR /app

# Dependencies first so the layer is cached while only the source changes.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
# The workflow bundle, built now so that a worker starts without bundling.
COPY scripts/build-workflow-bundle.ts ./scripts/
RUN node --import tsx scripts/build-workflow-bundle.ts

# The artifact store. A named volume mounted here starts as a copy of this directory, so it is
# owned by `node` with the setgid bit: files a root worker creates (it runs with umask 0002)
# stay in group `node` and remain writable by the non-root gateway.
RUN mkdir -p /data \
    && chown node:node /data \
    && chmod 2775 /data

USER node
EXPOSE 3000

CMD ["npm", "run", "gateway"]

# syntax=docker/dockerfile:1
#
# The gitfaas router: docker build -t ghcr.io/gitfaas/gitfaas:0.1.0 .
#
# The base is the official Deno image (Debian), pinned at the Deno version the project is built
# and tested with (.ci/run installs the same one; tests/permissions_test.ts checks). When you
# mirror it, pin its digest as well: FROM denoland/deno:debian-2.9.6@sha256:…
FROM denoland/deno:debian-2.9.6

# DATA_DIR: the clone cache, the only place the router writes (deploy/ mounts an emptyDir here).
# LISTEN_ADDRESS: every interface, so the Service and the kubelet's probes reach the pod (outside
# a container the router listens on 127.0.0.1 unless told otherwise).
ENV DATA_DIR=/var/lib/gitfaas \
    LISTEN_ADDRESS=0.0.0.0 \
    DENO_NO_UPDATE_CHECK=1 \
    NO_COLOR=1

WORKDIR /app

# Dependencies first, so a change to the code alone does not download them again. --frozen stops
# the build when deno.lock does not match deno.json, instead of resolving versions anew. Every
# package in the lock is cached: `deno run` checks the lock's whole npm snapshot at start.
COPY deno.json deno.lock ./
RUN deno install --frozen

# The code, then its module graph resolved against the cache: an import that is not cached
# fails the build here instead of being fetched when the container starts. The workers (template
# compiles, kubeconfig logins) are started by URL, outside main.ts's graph, so they are named too.
COPY main.ts ./
COPY src/ ./src/
RUN deno cache --frozen main.ts src/topics/compile_worker.ts src/kube/kubeconfig_worker.ts \
  && mkdir -p /var/lib/gitfaas \
  && chown 1993:1993 /var/lib/gitfaas

# The image's unprivileged `deno` user, by number so Kubernetes can verify runAsNonRoot. The app
# and the Deno cache belong to root: the router cannot change its own code or dependencies.
USER 1993:1993
EXPOSE 5000

# Exactly the command of `deno task start` in deno.json (tests/permissions_test.ts compares the
# two); README "Security notes" explains each flag. The base image's entrypoint (tini, then
# docker-entrypoint.sh) runs it as given and forwards SIGTERM for a graceful stop.
CMD ["deno", "run", "--no-prompt", "--v8-flags=--no-memory-pool-share-memory-on-teardown,--expose-gc", "--allow-net", "--allow-env=GIT_URL,GIT_USER_NAME,GIT_PERSONAL_TOKEN,GIT_BRANCH,CONFIG_PATH,GIT_POLL_INTERVAL,GIT_TIMEOUT,GIT_MAX_FETCH_BYTES,GIT_MAX_BLOB_BYTES,NAMESPACE,PORT,LISTEN_ADDRESS,DATA_DIR,KUBECONFIG,SERVICE_ACCOUNT_PREFIX,ROUTER_SERVICE_ACCOUNT,MAX_BODY_BYTES,LOG_LEVEL,LOG_FLUSH_INTERVAL,WEBHOOK_SECRET,WEBHOOK_MAX_BYTES,PUBLISH_TOKEN,DENIED_KINDS,ALLOWED_NAMESPACES,ALLOWED_CLUSTER_KINDS,MAX_QUERY_PARAMS,MAX_QUERY_VALUE_BYTES,MAX_MANIFESTS_PER_TOPIC,MAX_OBJECTS_PER_PUBLISH,PUBLISH_TIMEOUT,KUBE_TIMEOUT,KUBE_MAX_INFLIGHT,KUBE_MAX_QUEUE,SHUTDOWN_GRACE,GITFAAS_APPLY,REQUEST_TOKEN_SECRET,REQUEST_TOKEN_TTL,MAX_RESULT_BYTES,MAX_WAITERS,HEADER_TIMEOUT,BODY_TIMEOUT,IDLE_TIMEOUT,MAX_CONNECTIONS,MAX_BODY_BYTES_IN_FLIGHT,POD_NAME,POD_NAMESPACE,HOME,KUBERNETES_SERVICE_HOST,KUBERNETES_SERVICE_PORT", "--ignore-env", "--allow-read", "--deny-read=/proc", "--allow-write=/var/lib/gitfaas,/tmp", "--allow-sys=homedir,hostname", "main.ts"]

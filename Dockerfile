# ext-halopsa image: halopsa-server (gRPC service, LimaCharlie webhook gateway
# and admin listener in one process), plus halopsa-cli and halopsa-sim.
#
#   docker build -t ext-halopsa:<version> .      (BuildKit: Docker 23 or later)
#   podman build -t ext-halopsa:<version> .      (buildah 1.28 / podman 4.3 or later)
#
# The build stage runs the project's own scripts, so the image is built by the
# same steps as CI. tests/deploy (scripts/validate-manifests.sh) checks this
# file offline: stages, the runtime package list against the libraries the
# binaries link, the user and the ports; scripts/image-test.sh (in CI) builds
# it with podman and runs the binaries from the image.

FROM debian:12 AS build
WORKDIR /src
# Dependencies first: this layer is reused until install-deps.sh changes.
COPY scripts/install-deps.sh scripts/
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# ccache (installed by install-deps.sh, picked up by CMake) keeps its cache in
# a BuildKit cache mount across builds.
RUN --mount=type=cache,target=/root/.cache/ccache \
    BUILD_TYPE=Release ./scripts/build.sh -DHALOPSA_BUILD_TESTS=OFF \
 && strip --strip-unneeded build/bin/halopsa-server build/bin/halopsa-cli build/bin/halopsa-sim

FROM debian:12-slim AS runtime
# Only the shared libraries the binaries link (and what they pull in), and the
# CA roots that verify HaloPSA's and LimaCharlie's certificates.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libabsl20220623 \
      libgrpc++1.51 \
      libgrpc29 \
      libhiredis0.14 \
      libprotobuf32 \
      libssl3 \
      libstdc++6 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it
# (deploy/k8s runs the pod as 10001).
RUN groupadd --gid 10001 halopsa \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --no-log-init \
      --shell /usr/sbin/nologin halopsa
COPY --from=build /src/build/bin/halopsa-server /src/build/bin/halopsa-cli /src/build/bin/halopsa-sim /usr/local/bin/
USER 10001:10001
# gRPC, LimaCharlie webhook gateway (HTTP; TLS ends at the ingress), admin
# (/healthz, /readyz, /metrics).
EXPOSE 50051 8080 9090
# Configuration comes from HALOPSA_* variables and mounted secret files; the
# image holds none. SIGTERM drains (health NOT_SERVING, calls in flight finish).
ENTRYPOINT ["/usr/local/bin/halopsa-server"]

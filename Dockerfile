# imgdupes in a container, as the original tool shipped it:
#
#   docker build -t imgdupes .
#   docker run -it -v "$PWD":/app imgdupes -rdc target_dir phash 0
#
# The folder mounted on /app is the working directory; files imgdupes writes
# there (logs, reports, moved files) belong to that folder's owner, not root.
#
# Build arguments:
#   BASE    the Python image to build on (any Debian-like image with python3 and
#           its venv module); docs/cluster.md shows one made with debootstrap.
#   EXTRAS  the optional features installed (default: all of them).
# Behind a TLS-intercepting proxy, give pip its CA as a BuildKit secret:
#   DOCKER_BUILDKIT=1 docker build --secret id=pipcert,src=/path/ca.crt .
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
ARG EXTRAS=all
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# hnswlib is published as source only: the [hnsw] extra (in [all]) is compiled
# here, and the compiler stays in this stage.
RUN set -e; case ",${EXTRAS}," in *,all,*|*,hnsw,*) \
      missing=""; command -v g++ >/dev/null || missing="g++"; \
      python3 -c 'import os, sysconfig; os.stat(sysconfig.get_paths()["include"] + "/Python.h")' \
        2>/dev/null || missing="$missing python3-dev"; \
      if [ -n "$missing" ]; then \
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
          apt-get install -y -qq --no-install-recommends $missing >/dev/null; \
      fi;; esac
RUN python3 -m venv /opt/imgdupes
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN --mount=type=secret,id=pipcert \
    set -e; if [ -s /run/secrets/pipcert ]; then export PIP_CERT=/run/secrets/pipcert; fi; \
    spec=/src; if [ -n "${EXTRAS}" ]; then spec="/src[${EXTRAS}]"; fi; \
    /opt/imgdupes/bin/pip install -q --no-compile "$spec"; \
    /opt/imgdupes/bin/imgdupes --version

FROM ${BASE}
COPY --from=build /opt/imgdupes /opt/imgdupes
COPY docker-entrypoint.sh /usr/local/bin/imgdupes-entrypoint
# The hash cache lives in the container (whoever runs imgdupes can write it);
# mount a volume on it to keep it between runs.
ENV PATH=/opt/imgdupes/bin:$PATH XDG_CACHE_HOME=/tmp/imgdupes-cache PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
ENTRYPOINT ["imgdupes-entrypoint"]

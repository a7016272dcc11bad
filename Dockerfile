# syntax=docker/dockerfile:1
# One image for pricing_svc, balance_svc and payment_svc; docker-compose.yml picks the command per service.
# Targets: `runtime` (the default, last stage) and `test` (adds the dev extras and tests/ for the e2e run).
ARG PYTHON_IMAGE=python:3.11-slim
# pip may need the build host's CA bundle and pip configuration (a TLS-inspecting proxy, a private
# index). `make compose-test` passes them as the optional build secrets `pip-cert` and `pip-conf`, which
# are mounted read-only for the pip steps only and never stored in a layer (scripts/pip_install.sh).

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml ./
# Dependencies come from pyproject.toml alone, so this layer is rebuilt only when they change.
# grpcio-tools is resolved with them so the generated code matches the grpcio/protobuf it runs on;
# it is uninstalled below, so the runtime image does not carry the code generator.
COPY scripts/pip_install.sh scripts/
RUN --mount=type=secret,id=pip-cert --mount=type=secret,id=pip-conf \
    python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
        > requirements.txt \
    && scripts/pip_install.sh -r requirements.txt "grpcio-tools>=1.70,<2"
COPY protos/ protos/
COPY scripts/gen_protos.sh scripts/
RUN scripts/gen_protos.sh gen
COPY svckit/ svckit/
COPY pricing_svc/ pricing_svc/
COPY balance_svc/ balance_svc/
COPY payment_svc/ payment_svc/
COPY devtools/ devtools/
COPY priceledger_client/ priceledger_client/
COPY priceledger_cli/ priceledger_cli/
# Building the wheel fetches setuptools (pyproject.toml's build-system), so it needs the secrets too.
RUN --mount=type=secret,id=pip-cert --mount=type=secret,id=pip-conf \
    scripts/pip_install.sh --no-deps . && pip uninstall -y grpcio-tools && pip check

FROM build AS test-build
RUN --mount=type=secret,id=pip-cert --mount=type=secret,id=pip-conf scripts/pip_install.sh ".[dev]"

FROM ${PYTHON_IMAGE} AS base
RUN useradd --system --user-group --uid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app

FROM base AS test
COPY --from=test-build /opt/venv /opt/venv
COPY --chown=app:app pyproject.toml ./
COPY --chown=app:app tests/ tests/
# Hypothesis keeps its example database in the working directory.
RUN chown app:app /app
USER app
CMD ["python", "-m", "pytest", "tests/e2e/test_story.py", "-q", "-k", "not restarted"]

FROM base AS runtime
COPY --from=build /opt/venv /opt/venv
USER app
EXPOSE 50051 50052 50053 8080
# Standard grpc.health.v1 check; with no address it asks every service port on localhost, and only
# this container's service listens. compose passes the exact address per service instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "devtools.healthprobe"]

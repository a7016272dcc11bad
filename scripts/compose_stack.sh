#!/usr/bin/env bash
# Runs docker-compose.yml with `docker compose` where a Docker engine answers, else with podman-compose.
#
#   scripts/compose_stack.sh up     build the image, start Redis and the three services, wait until healthy
#   scripts/compose_stack.sh down   stop and remove them; Redis data stays in its volume
#   scripts/compose_stack.sh test   the e2e suite in containers, in its own project (see compose_test below)
#
# Podman needs what docker-compose.yml must not carry, so it is set here: podman/containers.conf (runc,
# ulimits at or below the host's, CNI networks whose DNS holds up), services started in dependency
# order with their healthchecks run from here (podman-compose 1.0.3 ignores `condition:
# service_healthy`, `service_completed_successfully` and profiles, and without systemd podman schedules
# no healthchecks), the `certs` one-shot run to completion first, and the test profile's services named
# explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ENGINE:-}" ]; then
  if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
case $ENGINE in
  docker) compose=(docker compose) && export DOCKER_BUILDKIT=1 ;; # build secrets need BuildKit
  podman) compose=(podman-compose) && export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/podman/containers.conf} ;;
  *) echo "ENGINE must be docker or podman, not $ENGINE" >&2 && exit 2 ;;
esac
PIP_CONF=${PIP_CONF:-/etc/pip.conf} # the host's global pip configuration, if it has one
SERVICES=(pricing balance payment)
HEALTH_TIMEOUT_S=${HEALTH_TIMEOUT_S:-120}

say() { echo "compose_stack [$ENGINE]: $*" >&2; }

# build TARGET TAG: one Dockerfile target, with the host's pip CA bundle and configuration as build
# secrets when it has them (they are mounted for the pip steps only, never stored in the image).
build() {
  local secrets=()
  if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then secrets+=(--secret "id=pip-cert,src=$PIP_CERT"); fi
  if [ -f "$PIP_CONF" ]; then secrets+=(--secret "id=pip-conf,src=$PIP_CONF"); fi
  "$ENGINE" build --target "$1" --tag "$2" "${secrets[@]}" .
}

build_images() {
  local start=$SECONDS
  ENGINE=$ENGINE scripts/base_images.sh
  say "base images ready after $((SECONDS - start)) s"
  start=$SECONDS
  build runtime priceledger:local
  if [ "${1:-}" = test ]; then build test priceledger-tests:local; fi
  say "image build took $((SECONDS - start)) s"
}

# wait_healthy PROJECT SERVICE...: runs each service's compose healthcheck until it passes.
wait_healthy() {
  local project=$1 start=$SECONDS name state
  shift
  for service in "$@"; do
    name=${project}_${service}_1
    until "$ENGINE" healthcheck run "$name" >/dev/null 2>&1; do
      state=$("$ENGINE" inspect --format '{{.State.Status}}' "$name" 2>/dev/null || echo missing)
      if [ "$state" != running ] || ((SECONDS - start > HEALTH_TIMEOUT_S)); then
        say "$service is not healthy ($state) after $((SECONDS - start)) s"
        return 1
      fi
      sleep 1
    done
  done
}

# wait_certs PROJECT: waits for the `certs` one-shot to exit; fails unless it wrote the PKI (exit 0).
wait_certs() {
  local name=${1}_certs_1 code
  code=$("$ENGINE" wait "$name")
  if [ "$code" != 0 ]; then
    say "certs exited $code: $("$ENGINE" logs "$name" 2>&1 | tail -n 5)"
    return 1
  fi
}

# copy_client_pki PROJECT DIR: the CA and the storefront's certificate and key from the project's `pki`
# volume into DIR, so a run from the host calls the services over mTLS as the e2e suite does inside.
copy_client_pki() {
  rm -rf "$2" && mkdir -p "$2" && chmod 700 "$2"
  "$ENGINE" run --rm --network none --volume "${1}_pki:/pki:ro" priceledger:local \
    tar -C /pki -cf - ca.pem storefront.pem storefront-key.pem | tar -C "$2" -xf -
}

# start PROJECT SERVICE...: starts the services (and Redis) and returns once all are healthy.
start() {
  local project=$1 start=$SECONDS
  shift
  if [ "$ENGINE" = docker ]; then
    docker compose --project-name "$project" --profile test up --detach --no-build --wait redis "$@"
  else
    podman-compose --project-name "$project" up --detach --no-build redis certs
    wait_certs "$project"
    wait_healthy "$project" redis
    # The suite runs with `podman exec` in the tests service's container, started idle here: podman-compose
    # 1.0.3's `run` does not pass on the exit code and would start the dependencies again.
    if [ -n "${TESTS_CONTAINER:-}" ]; then
      podman-compose --project-name "$project" run --detach --no-deps -T --name "$TESTS_CONTAINER" tests \
        sleep infinity
    fi
    # podman-compose 1.0.3 starts the dependencies again, --no-deps or not: that second `certs` run finds
    # every certificate fresh and writes nothing, so the services read the files the first run wrote.
    podman-compose --project-name "$project" up --detach --no-build "$@"
    wait_healthy "$project" "$@"
  fi
  say "healthy $((SECONDS - start)) s after start: redis $*"
}

# collect_logs PROJECT FILE: every container's log, also those that exited, into FILE.
collect_logs() {
  local label=io.podman.compose.project
  [ "$ENGINE" = docker ] && label=com.docker.compose.project
  mkdir -p "$(dirname "$2")"
  for name in $("$ENGINE" ps --all --filter "label=$label=$1" --format '{{.Names}}'); do
    echo "===== $name"
    "$ENGINE" logs --timestamps "$name" 2>&1
  done >"$2"
  say "service logs in $2"
}

# The e2e suite, from the `tests` service against the services by compose name; then the restart
# scenario from this host, which stops and starts balance with compose. Logs are kept, the project
# and its volume removed, whatever happened.
compose_test() {
  local project=priceledger-e2e status=0 start
  local log=.state/compose-test/$project.log pki=.state/compose-test/pki
  export ADMIN_TOKEN=e2e-admin-token E2E_ADMIN_TOKEN=e2e-admin-token STRIPE_SECRET_KEY=sk_test_e2e \
    STRIPE_WEBHOOK_SECRET=whsec_e2e STRIPE_API_BASE=http://fake-stripe:12111
  [ "$ENGINE" = podman ] && TESTS_CONTAINER=${project}_tests_run
  build_images test
  # shellcheck disable=SC2064 # expand now: the trap runs after this function's locals are gone
  trap "collect_logs $project $log; down $project --volumes; rm -rf $pki" EXIT
  start "$project" "${SERVICES[@]}" fake-stripe

  start=$SECONDS
  if [ "$ENGINE" = docker ]; then
    docker compose --project-name "$project" --profile test run --rm tests || status=$?
  else
    # The `tests` service's command, in its container started by `start` above.
    podman exec "$TESTS_CONTAINER" python -m pytest tests/e2e/test_story.py -q -k 'not restarted' || status=$?
  fi
  say "e2e suite in the tests container: exit $status after $((SECONDS - start)) s"

  start=$SECONDS
  copy_client_pki "$project" "$pki"
  TLS_CA_FILE=$pki/ca.pem TLS_CLIENT_CERT_FILE=$pki/storefront.pem TLS_CLIENT_KEY_FILE=$pki/storefront-key.pem \
    E2E_PRICING_ADDR=127.0.0.1:50051 E2E_BALANCE_ADDR=127.0.0.1:50052 E2E_PAYMENT_ADDR=127.0.0.1:50053 \
    E2E_COMPOSE="${compose[*]} --project-name $project" \
    .venv/bin/python -m pytest tests/e2e/test_story.py -q -k restarted || status=$((status ? status : $?))
  say "restart scenario from the host: exit $status after $((SECONDS - start)) s"
  return "$status"
}

# down PROJECT [--volumes]
down() {
  if [ "$ENGINE" = docker ]; then
    docker compose --project-name "$1" --profile test down "${@:2}"
  else
    if [ -n "${TESTS_CONTAINER:-}" ]; then podman rm --force --time 0 "$TESTS_CONTAINER" >/dev/null; fi
    podman-compose --project-name "$1" down "${@:2}" >/dev/null
  fi
}

project=${PROJECT:-priceledger}
case ${1:-} in
  up) build_images && start "$project" "${SERVICES[@]}" ;;
  down) down "$project" ;;
  test) compose_test ;;
  *) echo "usage: $0 up|down|test" >&2 && exit 2 ;;
esac

#!/usr/bin/env bash
# Makes sure the base images docker-compose.yml and the Dockerfile name exist locally:
# python:3.11-slim and redis:7. Each one already present is kept; a missing one is pulled; only when the
# pull fails (no registry reachable) is a stand-in built from Debian bookworm with debootstrap and
# tagged with the official name. Debian bookworm ships Python 3.11 and Redis 7.0.
#
# Stand-ins stay in the engine's image store, so later runs find them and skip all of this.
# `scripts/base_images.sh --rebuild` rebuilds them. Building needs root and debootstrap.
#
# Usage: [ENGINE=docker|podman] scripts/base_images.sh [--rebuild]   (default: docker if its engine answers)
set -euo pipefail

if [ -z "${ENGINE:-}" ]; then
  if docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
STANDIN_LABEL=priceledger.base-image-standin
rebuild=false
[ "${1:-}" = --rebuild ] && rebuild=true

say() { echo "base_images: $*" >&2; }

present() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }

is_standin() { [ -n "$("$ENGINE" image inspect --format "{{ index .Config.Labels \"$STANDIN_LABEL\" }}" "$1" 2>/dev/null | grep -v '<no value>')" ]; }

# debootstrap ROOT PACKAGES: a minimal bookworm root filesystem with PACKAGES and their dependencies.
bootstrap() {
  local root=$1 packages=$2
  say "debootstrap $SUITE from $MIRROR with $packages (about a minute or two)"
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; return 1; }
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
}

# import ROOT NAME CHANGES...: the root filesystem as image NAME, labelled as a stand-in.
import() {
  local root=$1 name=$2
  shift 2
  local changes=(--change "LABEL $STANDIN_LABEL=\"debootstrap $SUITE $(date -u +%F)\"")
  for change in "$@"; do changes+=(--change "$change"); done
  tar -C "$root" -c . | "$ENGINE" import "${changes[@]}" - "$name" >/dev/null
  say "built stand-in $name ($("$ENGINE" image inspect --format '{{.Size}}' "$name") bytes)"
}

python_standin() {
  local root=$1/python
  bootstrap "$root" python3,python3-venv,python-is-python3,ca-certificates
  import "$root" python:3.11-slim \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV LANG=C.UTF-8' \
    'CMD ["python3"]'
}

# Like the official image: redis-server runs as the redis user in /data, with protected mode off
# (the official build compiles it off; Debian's default is on, which refuses other containers).
redis_standin() {
  local root=$1/redis
  bootstrap "$root" redis-server
  mkdir -p "$root/data"
  chroot "$root" chown redis:redis /data
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# Stand-in entry point: protected mode off unless the command line sets it, as in the official image.
case "$1 $*" in
  "redis-server "*--protected-mode*) ;;
  "redis-server "*) set -- "$@" --protected-mode no ;;
esac
exec "$@"
EOF
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  import "$root" redis:7 \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'WORKDIR /data' \
    'USER redis' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' \
    'CMD ["redis-server"]' \
    'EXPOSE 6379'
}

ensure() {
  local image=$1 builder=$2
  if present "$image" && ! { $rebuild && is_standin "$image"; }; then
    if is_standin "$image"; then say "$image: using the cached stand-in (--rebuild makes a new one)"; fi
    return
  fi
  if ! $rebuild && "$ENGINE" pull -q "$image" >/dev/null 2>&1; then
    say "$image: pulled"
    return
  fi
  say "$image: pull failed or --rebuild; BUILDING A STAND-IN from Debian $SUITE, not the official image"
  command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
  "$builder" "$work"
}

work=$(mktemp -d /var/tmp/base-images.XXXXXX)
trap 'rm -rf "$work"' EXIT
ensure python:3.11-slim python_standin
ensure redis:7 redis_standin

#!/bin/sh
# `pip install` for the Dockerfile's build stages: uses the build host's CA bundle and pip configuration
# when the build mounted them as the secrets `pip-cert` and `pip-conf` (see the Dockerfile), else the image's.
set -e
if [ -f /run/secrets/pip-cert ]; then export PIP_CERT=/run/secrets/pip-cert; fi
if [ -f /run/secrets/pip-conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip-conf; fi
exec pip install "$@"

#!/usr/bin/env bash
# The default user, password and virtual host from the official image's variables, accepted from any address
# (a client outside the container is not on the broker's loopback).
set -Eeuo pipefail
cat >"$RABBITMQ_CONFIG_FILE" <<CONF
loopback_users = none
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
default_vhost = ${RABBITMQ_DEFAULT_VHOST:-/}
CONF
exec "$@"

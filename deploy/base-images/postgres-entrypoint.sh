#!/usr/bin/env bash
# The official postgres image's start-up, in short: a new data directory is initialised with POSTGRES_USER
# (default postgres) and POSTGRES_PASSWORD, POSTGRES_DB is created, /docker-entrypoint-initdb.d/*.sql and *.sh run
# against it on a server listening only on its socket, then the real server starts in the foreground.
set -Eeuo pipefail
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}
    initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$database" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -q -c "CREATE DATABASE \"$database\""
    fi
    for file in /docker-entrypoint-initdb.d/*; do
        case "$file" in
            *.sql) psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$database" -q -f "$file" ;;
            *.sh) . "$file" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "docker-entrypoint: $PGDATA initialised"
fi
exec "$@"

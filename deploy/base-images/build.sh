#!/usr/bin/env bash
# Stand-in base images for a machine that reaches Debian's packages but no container registry.
#
#   deploy/base-images/build.sh [debian] [python] [node] [postgres] [rabbitmq]    (default: all five)
#
# Each image is built only when its tag is missing from the engine (DOCKER_HOST is honoured):
#   debian:bookworm-slim      debootstrap (minbase) + `docker import`; the machine's Debian apt sources and its
#                             extra CA certificates (/usr/local/share/ca-certificates) are copied in, so apt, pip,
#                             uv and npm inside a build reach the package registries as they do on the machine
#   python:3.11-slim          Debian's python3 (3.11) and pip, `python` and `pip` on the PATH, no EXTERNALLY-MANAGED
#   node:20-slim              the machine's own Node.js 20 and npm (Debian 12 has only Node 18; Vite 8 needs 20.19+)
#   postgres:15               Debian's PostgreSQL 15 with an entrypoint that reads the official image's variables
#   rabbitmq:3.10             Debian's RabbitMQ 3.10 (the broker of these machines), guest/guest from any address
# The first three carry the tags the recipes' FROM lines name, so deploy/Dockerfile and web/Dockerfile build
# unchanged; the last two are what the test harness starts through testcontainers (tests/harness.py).
# Builds use the host's network (the engine here runs without a bridge). Needs root, debootstrap and tar.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(debian python node postgres rabbitmq)

declare -A tag=(
    [debian]=debian:bookworm-slim
    [python]=python:3.11-slim
    [node]=node:20-slim
    [postgres]=postgres:15
    [rabbitmq]=rabbitmq:3.10
)

have() { docker image inspect "$1" >/dev/null 2>&1; }
say() { printf 'base-images: %s\n' "$*" >&2; }

work=$(mktemp -d /tmp/rental-base-images.XXXXXX)
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT

build_debian() {
    command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
    local rootfs=$work/rootfs
    # debootstrap's own default mirror; the machine's Debian sources (updates, security) replace it below.
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" >"$work/debootstrap.log" 2>&1 || {
        tail -20 "$work/debootstrap.log" >&2
        exit 1
    }
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
        rm -f "$rootfs/etc/apt/sources.list"
    fi
    # The machine's extra certificate authorities (an egress proxy's, say): trusted inside the image as outside.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    fi
    chroot "$rootfs" update-ca-certificates >/dev/null
    # As the official slim image: no documentation, manual pages or translations, now or from later installs.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    # As the official images: apt keeps no package cache or downloaded lists in a layer.
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    # Services must not start while packages install during a build (the official images' convention too).
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    tar -C "$rootfs" --numeric-owner -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["bash"]' \
        - "${tag[debian]}" >/dev/null
}

build_node() {
    local node npm_dir version
    node=$(readlink -f "$(command -v node)") || { say "node is missing on this machine"; exit 1; }
    npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
    version=$("$node" --version)
    case "$version" in
        v20.*) ;;
        *) say "node:20-slim needs Node.js 20 on this machine, found $version"; exit 1 ;;
    esac
    local context=$work/node
    mkdir -p "$context/root/usr/local/bin" "$context/root/usr/local/lib/node_modules"
    cp "$node" "$context/root/usr/local/bin/node"
    cp -a "$npm_dir" "$context/root/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$context/root/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$context/root/usr/local/bin/npx"
    cp "$here/node.Dockerfile" "$context/Dockerfile"
    docker build --quiet --network host -t "${tag[node]}" "$context" >/dev/null
}

build_from_recipe() { # name: deploy/base-images/<name>.Dockerfile with this folder as its context
    docker build --quiet --network host -f "$here/$1.Dockerfile" -t "${tag[$1]}" "$here" >/dev/null
}

for name in "${want[@]}"; do
    [ -n "${tag[$name]:-}" ] || { say "unknown image '$name' (debian, python, node, postgres, rabbitmq)"; exit 2; }
    for needed in debian "$name"; do
        if have "${tag[$needed]}"; then
            [ "$needed" = "$name" ] && say "${tag[$needed]}: present"
            continue
        fi
        say "${tag[$needed]}: building"
        start=$SECONDS
        case "$needed" in
            debian) build_debian ;;
            node) build_node ;;
            *) build_from_recipe "$needed" ;;
        esac
        say "${tag[$needed]}: built in $((SECONDS - start)) s"
    done
done

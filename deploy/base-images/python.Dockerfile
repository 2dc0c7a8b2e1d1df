# Stand-in for python:3.11-slim from Debian's packages (built by build.sh): Debian 12's Python 3.11 and pip.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3 /usr/local/bin/python \
    && ln -s /usr/bin/pip3 /usr/local/bin/pip \
    # pip installs into the system interpreter, as it does in the official image.
    && rm -f /usr/lib/python3.*/EXTERNALLY-MANAGED \
    && python --version && pip --version
CMD ["python3"]

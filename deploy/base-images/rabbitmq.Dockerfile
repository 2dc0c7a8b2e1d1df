# Stand-in for a rabbitmq image from Debian's packages (built by build.sh), for the testcontainers path: Debian 12's
# RabbitMQ 3.10, the broker these machines run. The entrypoint reads RABBITMQ_DEFAULT_USER / _PASS / _VHOST as the
# official image does; RABBITMQ_NODE_PORT, RABBITMQ_NODENAME, RABBITMQ_DIST_PORT and ERL_EPMD_PORT work as usual.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends rabbitmq-server \
    && rm -rf /var/lib/apt/lists/*
COPY rabbitmq-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV RABBITMQ_LOGS=- \
    RABBITMQ_CONFIG_FILE=/var/lib/rabbitmq/rabbitmq.conf
USER rabbitmq
WORKDIR /var/lib/rabbitmq
EXPOSE 5672
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["rabbitmq-server"]

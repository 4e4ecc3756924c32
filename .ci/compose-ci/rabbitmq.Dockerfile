# CI's stand-in for docker-compose.yml's rabbitmq:4-management, which cannot be pulled here: Debian's
# rabbitmq-server (3.10) with the management plugin and the compose file's user anton/anton, on the
# locally made base. Only .ci/compose uses it (through compose.ci.yml).
FROM node:24.21.0-bookworm-slim
RUN apt-get update \
 && apt-get install --yes --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* \
 && rabbitmq-plugins --offline enable rabbitmq_management >/dev/null \
 && printf 'default_user = anton\ndefault_pass = anton\nloopback_users = none\nlisteners.tcp.default = 5672\n' \
      >/etc/rabbitmq/rabbitmq.conf \
 && chown -R rabbitmq:rabbitmq /etc/rabbitmq /var/lib/rabbitmq
USER rabbitmq
ENV HOME=/var/lib/rabbitmq
CMD ["rabbitmq-server"]

# Stand-in for node:20-slim (built by build.sh): the machine's own Node.js 20 and npm on Debian's slim base.
FROM debian:bookworm-slim
COPY root/ /
# npm trusts the same certificate authorities as the rest of the image (the machine's extra ones included).
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN node --version && npm --version
CMD ["node"]

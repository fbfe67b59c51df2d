# daypass: a small image that runs as a non-root user with its SQLite file on a volume.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/daypass

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/daypass --create-home daypass
COPY --from=build /src/target/release/daypass /usr/local/bin/daypass
COPY config/daypass.toml /etc/daypass/daypass.toml
USER daypass
WORKDIR /var/lib/daypass
VOLUME ["/var/lib/daypass"]
ENV DAYPASS_CONFIG=/etc/daypass/daypass.toml \
    DAYPASS__SERVER__LISTEN=0.0.0.0:8080 \
    DAYPASS__DATABASE__URL=sqlite:///var/lib/daypass/daypass.db
EXPOSE 8080
# Healthy once the server answers /healthz with 200 (database reachable, scheduler running).
# The image has no curl: `daypass healthcheck` asks server.listen itself and exits 0 or 1.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["daypass", "healthcheck"]
ENTRYPOINT ["daypass"]
CMD ["serve"]

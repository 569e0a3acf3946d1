# CSIRT Mesh node image. Build: docker build -t csirtmesh .
# Run (data in a volume, config and charter mounted read-only):
#   docker volume create csirtmesh-data
#   docker run --rm -v csirtmesh-data:/var/lib/csirtmesh csirtmesh \
#       init --data-dir /var/lib/csirtmesh --name CSIRT-EXAMPLE --country BR
#   docker run -d --name csirtmesh -v csirtmesh-data:/var/lib/csirtmesh \
#       -v /etc/csirtmesh:/etc/csirtmesh:ro -p 4001:4001/tcp -p 4001:4001/udp \
#       -p 127.0.0.1:9464:9464 csirtmesh
# See the README, "Running in production".

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
ARG CSIRTMESH_COMMIT=unknown
ENV CSIRTMESH_COMMIT=${CSIRTMESH_COMMIT}
RUN cargo build --release --locked -p csirtmesh \
    && strip target/release/csirtmesh

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/csirtmesh \
        --no-create-home csirtmesh \
    && install -d -o csirtmesh -g csirtmesh -m 0700 /var/lib/csirtmesh
COPY --from=build /src/target/release/csirtmesh /usr/local/bin/csirtmesh
COPY node/packaging/config.toml /etc/csirtmesh/config.toml
USER csirtmesh:csirtmesh
VOLUME ["/var/lib/csirtmesh"]
ENV CSIRTMESH_DATA_DIR=/var/lib/csirtmesh
# libp2p over TCP and QUIC; metrics (set metrics_listen = "0.0.0.0:9464").
EXPOSE 4001/tcp 4001/udp 9464/tcp
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["csirtmesh", "status", "--data-dir", "/var/lib/csirtmesh"]
ENTRYPOINT ["csirtmesh"]
CMD ["run", "--config", "/etc/csirtmesh/config.toml"]

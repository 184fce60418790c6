# The runnel binary in a small Debian 12 image.
#
#   docker build -t runnel .
#   docker run --rm -it runnel                                  # shell on the embedded log
#   docker run --rm -v "$PWD/app.sql:/app/app.sql:ro" runnel \
#     run /app/app.sql --bootstrap-servers HOST:9092 --data-dir /var/lib/runnel
#
# docker-compose.yml runs it next to a Kafka broker; scripts/check-compose checks both files.

# ---- build ---------------------------------------------------------------------------------
FROM rust:1-bookworm AS build

# What scripts/setup installs: Debian's RocksDB (linked, not compiled; see .cargo/config.toml),
# libclang for librocksdb-sys's bindgen, and what librdkafka is built from source with
# (OpenSSL, Cyrus SASL, zlib, pkg-config to find them). gcc, g++, make and perl are in the
# rust image already.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librocksdb-dev libclang-dev libssl-dev libsasl2-dev zlib1g-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, in a layer of their own that a change to src/ does not invalidate.
# Cargo will not read the manifest unless every target it declares exists, so stand-ins are
# made for the library, the binary and each [[test]] and [[bench]] that Cargo.toml declares
# (the awk program lists their paths; scripts/check-compose runs it against Cargo.toml).
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
RUN for f in src/main.rs $(awk '/^\[\[(test|bench)\]\]/ { if (k != "") print (p != "" ? p : k "/" n ".rs"); k = ($0 ~ /test/) ? "tests" : "benches"; n = ""; p = ""; next } /^\[/ { if (k != "") print (p != "" ? p : k "/" n ".rs"); k = ""; next } k != "" && /^name *=/ { match($0, /"[^"]*"/); n = substr($0, RSTART + 1, RLENGTH - 2) } k != "" && /^path *=/ { match($0, /"[^"]*"/); p = substr($0, RSTART + 1, RLENGTH - 2) } END { if (k != "") print (p != "" ? p : k "/" n ".rs") }' Cargo.toml); do \
      mkdir -p "$(dirname "$f")" && echo 'fn main() {}' > "$f"; \
    done \
 && touch src/lib.rs \
 && cargo fetch --locked \
 && ROCKSDB_LIB_DIR="/usr/lib/$(gcc -print-multiarch)" \
      cargo build --release --locked --bin runnel

# Then the real sources. COPY keeps the files' own (older) timestamps, so touch them: else
# cargo would take the stand-ins' build as up to date. ROCKSDB_LIB_DIR is set here because
# .cargo/config.toml names the x86-64 directory; a variable set in the environment wins over
# its [env] table, so this builds on arm64 too.
COPY src ./src
RUN touch src/lib.rs src/main.rs \
 && ROCKSDB_LIB_DIR="/usr/lib/$(gcc -print-multiarch)" \
      cargo build --release --locked --bin runnel \
 && install -m 0755 target/release/runnel /usr/local/bin/runnel

# ---- run -----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# The shared libraries the binary links: RocksDB 7.8 (Debian 12's), OpenSSL 3, Cyrus SASL and
# zlib (for librdkafka); CA certificates for TLS to a broker (kafka.security.protocol=SSL or
# SASL_SSL). Kerberos (sasl.mechanism=GSSAPI) would also need libsasl2-modules-gssapi-mit.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librocksdb7.8 libssl3 libsasl2-2 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system runnel \
 && useradd --system --gid runnel --home-dir /var/lib/runnel --shell /usr/sbin/nologin runnel \
 && mkdir -p /var/lib/runnel /app \
 && chown runnel:runnel /var/lib/runnel /app

COPY --from=build /usr/local/bin/runnel /usr/local/bin/runnel
# Fails the build here, not at start, if a shared library is missing.
RUN runnel --version

USER runnel
WORKDIR /app
# The data directory: the embedded log's segments, or on Kafka the state stores.
VOLUME ["/var/lib/runnel"]

# runnel handles SIGTERM itself (headless mode commits and closes its queries), so it can
# run as PID 1 with no init.
ENTRYPOINT ["runnel"]
CMD ["--data-dir", "/var/lib/runnel"]

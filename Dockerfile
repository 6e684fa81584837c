# The card service image: Debian's Chromium and fonts, Node and the npm Playwright driver, the
# service binary and the built designs. Build: docker build -t card-service .
FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
ENV PLAYWRIGHT_SKIP_DRIVER_DOWNLOAD=1
RUN cargo build --release -p card-service \
 && cargo build --manifest-path card-templates/Cargo.toml --release --target wasm32-wasip2 -p card-design-classic \
 && mkdir -p /out/templates \
 && cp target/release/card-service /out/ \
 && cp card-templates/target/wasm32-wasip2/release/card_design_classic.wasm /out/templates/classic.wasm

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium nodejs npm ca-certificates \
      fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-noto-color-emoji fonts-noto-cjk \
 && npm install --prefix /opt/playwright --no-audit --no-fund playwright-core@1.64.0 \
 && apt-get purge -y npm && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/card-service /usr/local/bin/card-service
COPY --from=build /out/templates /opt/card-service/templates
ENV PLAYWRIGHT_NODE_EXE=/usr/bin/node \
    PLAYWRIGHT_CLI_JS=/opt/playwright/node_modules/playwright-core/cli.js \
    PLAYWRIGHT__EXECUTABLE_PATH=/usr/bin/chromium \
    TEMPLATES__DIR=/opt/card-service/templates \
    TEMPLATES__CACHE_DIR=/tmp/card-service-cwasm \
    SERVER__BIND=0.0.0.0:8080
EXPOSE 8080
USER nobody
CMD ["card-service"]

# amplify-deploy as a container image, for GitLab CI, Jenkins and other
# systems that run jobs in images. The final image is `scratch`: one static
# musl binary and the CA roots, nothing else.
#
#   docker build -t amplify-deploy .
#   docker run --rm -v "$PWD/dist:/site:ro" -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY \
#     amplify-deploy --app-id d1a2b3c4d5e6f7 --branch main --path /site
#
# To package a binary built elsewhere instead (e.g. a release asset):
#   docker build --build-arg PREBUILT=amplify-deploy --target prebuilt .

ARG RUST_VERSION=1.89

FROM rust:${RUST_VERSION}-alpine AS build
# musl-dev: the C runtime pieces the musl target links against; the rest
# builds C code pulled in by the TLS and compression crates.
RUN apk add --no-cache musl-dev gcc make cmake perl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates
COPY tests ./tests
RUN cargo build --release --locked --bin amplify-deploy \
 && cp target/release/amplify-deploy /amplify-deploy \
 && /amplify-deploy --version

FROM alpine:3 AS certs
RUN apk add --no-cache ca-certificates

FROM scratch AS prebuilt
ARG PREBUILT=amplify-deploy
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ${PREBUILT} /usr/local/bin/amplify-deploy
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/amplify-deploy"]

FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /amplify-deploy /usr/local/bin/amplify-deploy
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/amplify-deploy"]

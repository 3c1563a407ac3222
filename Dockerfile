# amplify-deploy as a container image, for GitLab CI, Jenkins and other
# systems that run jobs in images. The final image is `scratch`: one static
# musl binary, the CA roots and an empty /tmp, nothing else.
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

# The scratch image's file tree besides the binary: the CA roots, and a /tmp
# (mode 1777) for the deploy's temporary zip. tests/image/run.sh builds this
# tree from these instructions and runs a deploy in it with chroot.
FROM alpine:3 AS rootfs
RUN apk add --no-cache ca-certificates \
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && chmod 1777 /rootfs/tmp

FROM scratch AS prebuilt
ARG PREBUILT=amplify-deploy
COPY --from=rootfs /rootfs/ /
COPY ${PREBUILT} /usr/local/bin/amplify-deploy
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/amplify-deploy"]

FROM scratch
COPY --from=rootfs /rootfs/ /
COPY --from=build /amplify-deploy /usr/local/bin/amplify-deploy
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/amplify-deploy"]

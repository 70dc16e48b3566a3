# OwnerHub's image: one static binary on an empty base, with CA certificates
# and time zones, run as an unprivileged user (docs/operations.md, "Container
# image").
#
#   docker build --build-arg VERSION=1.4.0 --build-arg COMMIT=$(git rev-parse HEAD) -t ownerhub .
#
# The base images are pinned to exact versions; server/dockerfile_test.go
# checks that, and builds the binary with this file's own build command.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
# Modules first: a change of code alone does not download them again.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/ownerhub ./server
# DATA_DIR: the embedded database and the development secret, if used.
RUN mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/ownerhub /ownerhub
COPY --from=build /src/server/graphiql/LICENSE.graphiql /src/server/graphiql/LICENSE.react /licenses/
COPY --from=build --chown=65532:65532 /out/data /data
ENV APP_ENV=production \
    HTTP_ADDR=:8080 \
    DATA_DIR=/data
USER 65532:65532
WORKDIR /data
EXPOSE 8080
# No shell in the image: the binary probes itself (GET /healthz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/ownerhub", "healthcheck"]
ENTRYPOINT ["/ownerhub"]
CMD ["serve"]

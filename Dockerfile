# Build a static binary, then ship it alone in a distroless, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/gatehouse ./cmd/gatehouse \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
COPY --from=build --chown=nonroot:nonroot /out/data /data
WORKDIR /data
ENV GATEHOUSE_HTTP_ADDR=:8080 \
    GATEHOUSE_METRICS_ADDR=:9000 \
    GATEHOUSE_DATABASE_URL=sqlite:///data/gatehouse.db
USER nonroot:nonroot
# 8080: customers and apps. 9000: the management listener (/metrics,
# /healthz, /readyz); publish it only to the monitoring network.
EXPOSE 8080 9000
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]

# The chatbot service in a container, built in two stages on Debian 12:
# the build stage compiles with the same packages as scripts/setup.sh, the
# runtime stage holds the program, its shared libraries and the installed
# layout (deploy/CMakeLists.txt) and runs as an unprivileged user.
#
#   docker build -t chatbot .
#   docker run -p 8080:8080 -v chatbot-data:/var/lib/chatbot chatbot
#
# The first start trains the default bot (data/domain) when no model is in
# the volume. The release preset targets x86-64-v3 (AVX2); pass
# --build-arg CXX_FLAGS=-march=x86-64 for older processors.

FROM debian:12 AS build
ARG CXX_FLAGS=-march=x86-64-v3
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config \
      libboost1.81-dev libboost-json1.81-dev \
      libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev \
      libutf8proc-dev libyaml-cpp-dev liblinear-dev libssl-dev libsqlite3-dev \
      libdnnl-dev zlib1g-dev libbrotli-dev libhiredis-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release -B /build -DCHATBOT_BUILD_TESTS=OFF -DCHATBOT_BUILD_BENCH=OFF \
      -DCMAKE_CXX_FLAGS="${CXX_FLAGS}" \
 && cmake --build /build --target chatbot \
 && DESTDIR=/stage cmake --install /build

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libspdlog1.10 libfmt9 libtomlplusplus3 libutf8proc2 \
      libyaml-cpp0.7 liblinear4 libssl3 libsqlite3-0 libdnnl2 zlib1g libbrotli1 libhiredis0.14 libpq5 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/chatbot --shell /usr/sbin/nologin chatbot
COPY --from=build /stage/ /
RUN chown -R chatbot:chatbot /var/lib/chatbot /var/log/chatbot
USER chatbot
WORKDIR /var/lib/chatbot
ENV CHATBOT_CONFIG=/etc/chatbot/chatbot.toml \
    CHATBOT_PATHS_LOGS=/var/log/chatbot
EXPOSE 8080
VOLUME ["/var/lib/chatbot", "/var/log/chatbot"]
# SIGTERM: in-flight requests finish (server.shutdown_timeout_ms).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/chatbot"]
CMD ["serve"]

# The one image for `inbox web` and `inbox worker` (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package build needs, so unrelated edits do not bust the install layer.
COPY pyproject.toml README.md ./
COPY app ./app
COPY adapters ./adapters
COPY inbox ./inbox
COPY connectors ./connectors
COPY streams ./streams
COPY web ./web
RUN pip install .

# Never run the app as root.
RUN useradd --create-home --uid 10001 inbox \
    && mkdir -p /var/lib/inbox/media && chown inbox /var/lib/inbox/media
USER inbox
# Uploaded product images (docker-compose mounts one volume here, shared by every web replica).
ENV MEDIA_DIR=/var/lib/inbox/media

EXPOSE 8080
# Bind all interfaces: inside a container, loopback is unreachable from other services.
CMD ["inbox", "web", "--host", "0.0.0.0", "--port", "8080"]

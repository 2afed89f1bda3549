# MLSD Handbook: the app image (gunicorn; also the one-shot migrate and the task worker) and the
# nginx image in front of it. Build and run both with: docker compose up --build.

FROM python:3.13-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Each worker process writes its Prometheus counts here (deploy/gunicorn.conf.py).
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc

WORKDIR /app

# Graphviz draws the design docs' diagrams; Liberation Sans has Helvetica's metrics, so the
# layout Graphviz measures is the one browsers show.
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .

COPY . .
RUN pip install --no-deps -e . \
    && DEBUG=false SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 --home /app mlsd \
    && mkdir -p "$PROMETHEUS_MULTIPROC_DIR" \
    && chown -R mlsd /app "$PROMETHEUS_MULTIPROC_DIR"

USER mlsd
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"

# Serve, nothing else: migrations and content loading run once per deploy, before any replica
# starts (the compose file's one-shot `migrate`). X-Forwarded-* is believed only from the
# addresses in FORWARDED_ALLOW_IPS (gunicorn's default: 127.0.0.1): set it to the proxy's.
CMD ["sh", "-c", "exec gunicorn mlsd_site.wsgi:application --config deploy/gunicorn.conf.py --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2} --threads ${WEB_THREADS:-4}"]


# nginx with the repository's configuration and the collected static files.
FROM nginx:1.27 AS nginx

# The image renders /etc/nginx/templates/*.template into conf.d with these at start.
ENV MLSD_LISTEN=80 \
    MLSD_STATUS_LISTEN=127.0.0.1:8081 \
    MLSD_APP_1=web1:8000 \
    MLSD_APP_2=web2:8000 \
    MLSD_STATIC_ROOT=/srv/mlsd/static \
    MLSD_CACHE_DIR=/var/cache/nginx/mlsd

RUN rm /etc/nginx/conf.d/default.conf
COPY deploy/nginx/mlsd.conf.template /etc/nginx/templates/mlsd.conf.template
COPY --from=app /app/staticfiles /srv/mlsd/static

# MLSD Handbook, served by gunicorn. Build: docker compose build; run: docker compose up.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

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
    && chown -R mlsd /app

USER mlsd
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"

# Migrate and load content (idempotent, keeps admin edits), then serve.
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py load_content && exec gunicorn mlsd_site.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --forwarded-allow-ips='*'"]

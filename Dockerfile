# Pulse bot image: slim Python 3.11, non-root, the package installed from this checkout.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MPLBACKEND=Agg

RUN useradd --create-home --uid 10001 pulse
WORKDIR /app
COPY pyproject.toml README.md config.yaml ./
COPY pulse ./pulse
COPY storage ./storage
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --upgrade pip && pip install . && mkdir -p /data && chown pulse:pulse /data

USER pulse
# The database lives on a volume; override the URL with PULSE_DATABASE_URL if needed.
ENV PULSE_CONFIG=/app/config.yaml \
    PULSE_DATABASE_URL=sqlite+aiosqlite:////data/pulse.db
VOLUME ["/data"]
# Healthy only when /pulse/health answers 200 (database, Discord, feeds, scheduler, outbox).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/pulse/health' % os.environ.get('PULSE_HTTP_PORT', '9090'), timeout=4)"]
CMD ["pulse", "run", "--config", "/app/config.yaml"]

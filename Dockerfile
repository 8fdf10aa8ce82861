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
CMD ["pulse", "run", "--config", "/app/config.yaml"]

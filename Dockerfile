# Dalyvauk bot image: the package, its migrations and its Lithuanian/English catalogs.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md alembic.ini babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY locales ./locales
RUN pip install . \
    && pybabel compile -d locales -D messages \
    && useradd --system --home /app dalyvauk \
    && mkdir -p /data && chown dalyvauk /data

USER dalyvauk
# The catalogs are also compiled in memory at start, so the .mo files can never be stale.
ENV DATABASE_URL=sqlite:////data/dalyvauk.sqlite3
EXPOSE 8080
CMD ["sh", "-c", "dalyvauk db upgrade && dalyvauk run"]

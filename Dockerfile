FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 JUNCTION_DATA_DIR=/app/var
# The pinned versions CI tested (requirements.lock, `make lock`), in their own
# layer so a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
# The project itself; a dependency newer than the lock still installs (unpinned).
# collectstatic gathers the console's files for WhiteNoise to serve (hashed names,
# compressed); it needs no database and no real secret.
RUN pip install --no-cache-dir -e . \
    && DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 junction && mkdir -p var && chown -R junction var
USER junction
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--lifespan", "on", "--no-access-log"]

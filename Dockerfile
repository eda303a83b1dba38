FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files are collected at build time, as root: the app runs as `covax`, which
# cannot write under /app. Build-only secrets: settings refuse to load without them.
RUN DJANGO_SECRET_KEY=build-only COVAX_ID_HASH_KEY=build-only python manage.py collectstatic --noinput \
 && useradd --create-home covax && mkdir -p /data/media && chown covax /data/media
USER covax
EXPOSE 8000
CMD ["gunicorn", "covax.wsgi", "--bind", "0.0.0.0:8000"]

# Targets: `cpu` (web, CPU workers, migrate) and `gpu` (the braing3n worker on a CUDA base image).

# --- Frontend bundle ---------------------------------------------------------------------------
FROM node:20-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- CPU image ---------------------------------------------------------------------------------
FROM python:3.11-slim AS cpu
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PYTHONPATH=/app/platform:/app
WORKDIR /app
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY simulation/ simulation/
COPY generator/ generator/
RUN pip install .
COPY . .
COPY --from=frontend /app/frontend/dist frontend/dist
# Collected under production settings so whitenoise's manifest exists; the key is build-only.
RUN DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_ALLOWED_HOSTS=build \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    python manage.py collectstatic --noinput \
    && useradd --create-home sca && mkdir -p /data && chown sca /data
USER sca
EXPOSE 8000

# --- GPU image (CUDA runtime for the braing3n queue) -------------------------------------------
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS gpu
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PYTHONPATH=/app/platform:/app DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends software-properties-common \
    && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/* && python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN pip install --index-url https://download.pytorch.org/whl/cu128 "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY simulation/ simulation/
COPY generator/ generator/
RUN pip install .
COPY . .
RUN useradd --create-home sca && mkdir -p /data && chown sca /data
USER sca

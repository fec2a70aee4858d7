"""Small realistic repositories for the report tests, audited with the real pipeline. Written the
way projects write them; they exercise the formats, not any one analyzer's exact output."""

from __future__ import annotations

GITHUB_ACTIONS = {
    ".github/workflows/ci.yml": """\
name: CI

on:
  push:
    branches: [main]
  pull_request:

jobs:
  test:
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-latest, macos-latest]
        python: ["3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - name: Install dependencies
        run: |
          python -m pip install --upgrade pip
          pip install -r requirements.txt \\
            -r requirements-dev.txt
      - uses: actions/cache@v4
        with:
          path: .venv
          key: venv-static
      - run: pytest -q

  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker build -t app:${{ github.sha }} .
""",
    ".github/workflows/release.yml": """\
name: release
on:
  release:
    types: [published]
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: python -m pip install build && python -m build
      - uses: pypa/gh-action-pypi-publish@release/v1
""",
    "requirements.txt": "requests>=2.31\nflask\nrich==13.7.1\n",
    "requirements-dev.txt": "-r requirements.txt\npytest==8.3.3\n",
    "Dockerfile": "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\n",
}

GITLAB = {
    ".gitlab-ci.yml": """\
default:
  image: python:3.12

variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

.deps: &deps
  cache:
    paths:
      - ~/.cache/pip
    unprotect: true

test:
  <<: *deps
  script:
    - pip install --no-cache-dir -r requirements.txt
    - pytest

lint:
  script:
    - pip install ruff
    - ruff check .

build:
  image: docker:27
  services: [docker:27-dind]
  script:
    - docker build -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA" .
""",
    "requirements.txt": "django>=5\ncelery\n",
    "Dockerfile": """\
# syntax=docker/dockerfile:1
FROM python:3.12-slim AS builder
RUN apt-get update
RUN apt-get install -y build-essential
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir -r requirements.txt

FROM node:20 AS web
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm install
""",
    "package.json": '{"name": "web", "version": "1.0.0"}\n',
    "package-lock.json": '{"name": "web", "lockfileVersion": 3, "packages": {}}\n',
}

SUPPRESSED = {
    ".github/workflows/ci.yml": """\
name: CI
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      # cacheaudit: ignore
      - run: pip install -r requirements.txt  # cacheaudit: ignore
      - run: pip install tox  # cacheaudit: ignore
""",
    "Dockerfile": """\
# cacheaudit: ignore-file
FROM python:3.12
COPY . .
RUN pip install -r requirements.txt
""",
    "requirements.txt": "requests  # cacheaudit: ignore\n",
}

BROKEN = {
    ".github/workflows/bad.yml": "name: bad\non: [push\njobs:\n  x: {\n",
    ".gitlab-ci.yml": "test:\n  script:\n    - echo ok\n  cache: [\n",
    "requirements.txt": "requests==2.32.3\n",
    "pyproject.toml": "[project\nname = 'x'\n",
}

CLEAN = {
    ".github/workflows/ci.yml": """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install -r requirements.txt
""",
    "requirements.txt": "requests==2.32.3 \\\n    --hash=sha256:" + "0" * 64 + "\n",
}

REPOS: dict[str, dict[str, str]] = {
    "github-actions": GITHUB_ACTIONS,
    "gitlab-docker": GITLAB,
    "suppressed": SUPPRESSED,
    "broken": BROKEN,
    "clean": CLEAN,
}

"""Generate a synthetic monorepo for benchmarking cacheaudit (and zizmor/hadolint beside it).

Deterministic for a seed. Every file comes from a realistic template with variation, the way
real projects write them: workflows with matrix jobs, multi-line ``run:`` blocks with ``\\``
continuations, setup-python/setup-node/setup-uv caches (present, missing or wrong), actions/cache
keys, Docker builds; multi-stage Dockerfiles with and without BuildKit cache mounts, heredocs and
``COPY . .`` before the install; requirement files pinned, ranged, hashed, compiled or with VCS
requirements and ``-r`` includes; GitLab configurations with local includes, anchors, ``extends``
and ``default:``; and lock files (uv, poetry, npm, yarn, pnpm) from a few kilobytes up to 1 MB.

    python benchmarks/generate.py OUT [--seed 1] [--preset monorepo|small] [--scale 1.0]
"""

# ruff: noqa: E501 - the templates are file text, easier to read unbroken
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sizes:
    workflows: int
    dockerfiles: int
    requirements: int
    gitlab: int
    lockfiles: int
    actions: int
    max_lock_bytes: int = 1024 * 1024

    def scaled(self, factor: float) -> Sizes:
        def n(value: int) -> int:
            return max(1, round(value * factor))

        return Sizes(
            n(self.workflows),
            n(self.dockerfiles),
            n(self.requirements),
            n(self.gitlab),
            n(self.lockfiles),
            n(self.actions),
            self.max_lock_bytes,
        )


PRESETS = {
    "monorepo": Sizes(
        workflows=2000, dockerfiles=1000, requirements=1000, gitlab=200, lockfiles=300, actions=20
    ),
    "small": Sizes(
        workflows=3,
        dockerfiles=2,
        requirements=3,
        gitlab=1,
        lockfiles=2,
        actions=1,
        max_lock_bytes=64 * 1024,
    ),
}

PY_PACKAGES = (
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "charset-normalizer",
    "flask",
    "django",
    "fastapi",
    "uvicorn",
    "pydantic",
    "sqlalchemy",
    "psycopg2-binary",
    "redis",
    "celery",
    "boto3",
    "botocore",
    "numpy",
    "pandas",
    "scipy",
    "pyyaml",
    "jinja2",
    "click",
    "rich",
    "attrs",
    "httpx",
    "gunicorn",
    "pytest",
    "pytest-cov",
    "mypy",
    "ruff",
    "black",
    "coverage",
    "tenacity",
    "structlog",
    "orjson",
)
NPM_PACKAGES = (
    "react",
    "react-dom",
    "express",
    "lodash",
    "axios",
    "typescript",
    "vite",
    "eslint",
    "jest",
    "webpack",
    "next",
    "zod",
    "dayjs",
    "chalk",
    "commander",
    "prettier",
    "vitest",
    "tslib",
)
PY_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
NODE_VERSIONS = ("18", "20", "22")


def _sha(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(40))


def _hash(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"


@dataclass
class Service:
    name: str
    kind: str  # "pip", "uv", "poetry", "node"
    requirements: list[str]
    lock: str | None = None


class Generator:
    def __init__(self, root: Path, sizes: Sizes, seed: int) -> None:
        self.root = root
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.services: list[Service] = []
        self.files = 0
        self.bytes = 0

    # --- output ------------------------------------------------------------------------------

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(data)
        self.files += 1
        self.bytes += len(data)

    def run(self) -> None:
        self._plan_services()
        self._requirements()
        self._lockfiles()
        self._dockerfiles()
        self._actions()
        self._workflows()
        self._gitlab()

    # --- services ----------------------------------------------------------------------------

    def _plan_services(self) -> None:
        rng = self.rng
        count = max(self.sizes.dockerfiles, 1)
        for i in range(count):
            kind = rng.choices(("pip", "uv", "poetry", "node"), weights=(60, 15, 7, 18))[0]
            self.services.append(Service(f"services/svc-{i:04d}", kind, []))

    def _requirements(self) -> None:
        rng = self.rng
        python = [s for s in self.services if s.kind != "node"] or self.services
        written = 0
        index = 0
        while written < self.sizes.requirements:
            service = python[index % len(python)]
            index += 1
            if not service.requirements:
                rel = f"{service.name}/requirements.txt"
                self.write(
                    rel,
                    self._requirements_text(
                        rng.choice(("pinned", "ranged", "hashed", "compiled", "vcs", "mixed"))
                    ),
                )
            else:
                name = rng.choice(
                    (
                        "requirements-dev.txt",
                        "requirements-test.txt",
                        f"requirements/ci-{len(service.requirements)}.txt",
                    )
                )
                rel = f"{service.name}/{name}"
                base = posix_relative(service.requirements[0], rel)
                self.write(rel, f"-r {base}\n" + self._requirements_text("dev"))
            service.requirements.append(rel)
            written += 1

    def _requirements_text(self, style: str) -> str:
        rng = self.rng
        names = rng.sample(PY_PACKAGES, rng.randint(3, 14))
        lines: list[str] = []
        if style == "compiled":
            lines += [
                "#",
                f"# This file is autogenerated by pip-compile with Python {rng.choice(PY_VERSIONS)}",
                "# by the following command:",
                "#",
                "#    pip-compile --generate-hashes --output-file=requirements.txt requirements.in",
                "#",
            ]
        for name in sorted(names):
            version = _version(rng)
            if style in ("pinned", "compiled"):
                lines.append(f"{name}=={version}")
                if style == "compiled":
                    lines.append("    # via -r requirements.in")
            elif style == "hashed":
                lines.append(f"{name}=={version} \\")
                lines.append(f"    --hash=sha256:{_hash(rng)} \\")
                lines.append(f"    --hash=sha256:{_hash(rng)}")
            elif style == "ranged":
                lines.append(rng.choice((f"{name}>={version}", f"{name}~={version}", name)))
            elif style == "vcs" and rng.random() < 0.3:
                ref = rng.choice(("main", "v1.2.0", _sha(rng)))
                lines.append(f"{name} @ git+https://github.com/example/{name}.git@{ref}")
            elif style == "dev":
                lines.append(rng.choice((f"{name}=={version}", f"{name}>={version}")))
            else:
                lines.append(
                    rng.choice(
                        (
                            f"{name}=={version}",
                            f"{name}>={version}",
                            f"{name}[extra]=={version}; python_version >= '3.10'",
                        )
                    )
                )
        if rng.random() < 0.1:
            lines.insert(0, "--index-url https://pypi.org/simple")
        return "\n".join(lines) + "\n"

    # --- lock files --------------------------------------------------------------------------

    def _lockfiles(self) -> None:
        rng = self.rng
        candidates = [s for s in self.services if s.kind in ("uv", "poetry", "node")]
        candidates = candidates or self.services
        for i, service in enumerate(candidates[: self.sizes.lockfiles]):
            # Mostly small, a long tail up to the maximum (the first few always at the maximum).
            target = (
                self.sizes.max_lock_bytes
                if i < 3
                else int(min(self.sizes.max_lock_bytes, 4096 * rng.paretovariate(1.2)))
            )
            if service.kind in ("uv", "pip"):
                self._uv_project(service, target)
            elif service.kind == "poetry":
                self._poetry_project(service, target)
            else:
                self._node_project(service, target)

    def _uv_project(self, service: Service, target: int) -> None:
        rng = self.rng
        deps = rng.sample(PY_PACKAGES, 5)
        self.write(
            f"{service.name}/pyproject.toml",
            f'[project]\nname = "{service.name.rsplit("/", 1)[-1]}"\nversion = "0.1.0"\n'
            f'requires-python = ">={rng.choice(PY_VERSIONS)}"\n'
            f"dependencies = [{', '.join(json.dumps(d + '>=1') for d in deps)}]\n\n"
            '[dependency-groups]\ndev = ["pytest>=8", "ruff>=0.5"]\n',
        )
        parts = ['version = 1\nrequires-python = ">=3.10"\n']
        size = len(parts[0])
        n = 0
        while size < target:
            name = f"{rng.choice(PY_PACKAGES)}-{n}"
            version = _version(rng)
            block = (
                f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
                f'source = {{ registry = "https://pypi.org/simple" }}\n'
                f'sdist = {{ url = "https://files.pythonhosted.org/packages/{_hash(rng)[:2]}/{name}-{version}.tar.gz", '
                f'hash = "sha256:{_hash(rng)}", size = {rng.randint(1000, 900000)} }}\n'
                f'wheels = [\n    {{ url = "https://files.pythonhosted.org/packages/{name}-{version}-py3-none-any.whl", '
                f'hash = "sha256:{_hash(rng)}", size = {rng.randint(1000, 900000)} }},\n]\n'
            )
            parts.append(block)
            size += len(block)
            n += 1
        service.lock = f"{service.name}/uv.lock"
        self.write(service.lock, "".join(parts))

    def _poetry_project(self, service: Service, target: int) -> None:
        rng = self.rng
        deps = "\n".join(f'{d} = "^{_version(rng)}"' for d in rng.sample(PY_PACKAGES, 4))
        self.write(
            f"{service.name}/pyproject.toml",
            f'[tool.poetry]\nname = "{service.name.rsplit("/", 1)[-1]}"\nversion = "0.1.0"\n'
            f'description = ""\nauthors = ["Team <team@example.com>"]\n\n'
            f'[tool.poetry.dependencies]\npython = "^3.10"\n{deps}\n\n'
            '[tool.poetry.group.dev.dependencies]\npytest = "^8.0"\n\n'
            '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n',
        )
        parts: list[str] = []
        size = n = 0
        while size < target:
            name = f"{rng.choice(PY_PACKAGES)}-{n}"
            block = (
                f'[[package]]\nname = "{name}"\nversion = "{_version(rng)}"\ndescription = ""\n'
                f'optional = false\npython-versions = ">=3.8"\nfiles = [\n'
                f'    {{file = "{name}.whl", hash = "sha256:{_hash(rng)}"}},\n]\n\n'
            )
            parts.append(block)
            size += len(block)
            n += 1
        parts.append(f'[metadata]\nlock-version = "2.0"\ncontent-hash = "{_hash(rng)}"\n')
        service.lock = f"{service.name}/poetry.lock"
        self.write(service.lock, "".join(parts))

    def _node_project(self, service: Service, target: int) -> None:
        rng = self.rng
        manager = rng.choices(("npm", "yarn", "pnpm"), weights=(70, 15, 15))[0]
        deps = {d: f"^{_version(rng)}" for d in rng.sample(NPM_PACKAGES, 5)}
        package: dict[str, object] = {
            "name": service.name.rsplit("/", 1)[-1],
            "version": "1.0.0",
            "private": True,
            "dependencies": deps,
        }
        if rng.random() < 0.3:
            package["packageManager"] = f"{manager}@{rng.randint(8, 10)}.{rng.randint(0, 9)}.0"
        self.write(f"{service.name}/package.json", json.dumps(package, indent=2) + "\n")
        size = n = 0
        if manager == "npm":
            packages: dict[str, object] = {"": {"name": package["name"], "dependencies": deps}}
            while size < target:
                name = f"{rng.choice(NPM_PACKAGES)}-{n}"
                entry = {
                    "version": _version(rng),
                    "resolved": f"https://registry.npmjs.org/{name}/-/{name}.tgz",
                    "integrity": f"sha512-{_hash(rng)}{_hash(rng)}",
                }
                packages[f"node_modules/{name}"] = entry
                size += 200
                n += 1
            text = json.dumps(
                {
                    "name": package["name"],
                    "lockfileVersion": 3,
                    "requires": True,
                    "packages": packages,
                },
                indent=2,
            )
            service.lock = f"{service.name}/package-lock.json"
        elif manager == "yarn":
            lines = [
                "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.",
                "# yarn lockfile v1",
                "",
            ]
            while size < target:
                name = f"{rng.choice(NPM_PACKAGES)}-{n}"
                block = (
                    f'"{name}@^1.0.0":\n  version "{_version(rng)}"\n'
                    f'  resolved "https://registry.yarnpkg.com/{name}/-/{name}.tgz#{_sha(rng)}"\n'
                    f"  integrity sha512-{_hash(rng)}\n"
                )
                lines.append(block)
                size += len(block)
                n += 1
            text = "\n".join(lines)
            service.lock = f"{service.name}/yarn.lock"
        else:
            lines = ["lockfileVersion: '9.0'", "", "packages:", ""]
            while size < target:
                name = f"{rng.choice(NPM_PACKAGES)}-{n}"
                block = f"  {name}@{_version(rng)}:\n    resolution: {{integrity: sha512-{_hash(rng)}}}\n"
                lines.append(block)
                size += len(block)
                n += 1
            text = "\n".join(lines)
            service.lock = f"{service.name}/pnpm-lock.yaml"
        self.write(service.lock, text + "\n")

    # --- Dockerfiles -------------------------------------------------------------------------

    def _dockerfiles(self) -> None:
        for service in self.services[: self.sizes.dockerfiles]:
            if service.kind == "node":
                text = self._node_dockerfile(service)
            else:
                text = self._python_dockerfile(service)
            name = "Dockerfile" if self.rng.random() < 0.9 else "app.Dockerfile"
            self.write(f"{service.name}/{name}", text)

    def _python_dockerfile(self, service: Service) -> str:
        rng = self.rng
        py = rng.choice(PY_VERSIONS)
        req = (
            service.requirements[0].rsplit("/", 1)[-1]
            if service.requirements
            else "requirements.txt"
        )
        style = rng.choice(
            ("naive", "copy-first", "mounted", "multistage", "uv", "defeated", "apt")
        )
        apt = ""
        if style == "apt" or rng.random() < 0.3:
            if rng.random() < 0.5:
                apt = (
                    "RUN apt-get update && apt-get install -y --no-install-recommends \\\n"
                    "        build-essential \\\n        libpq-dev \\\n"
                    "    && rm -rf /var/lib/apt/lists/*\n"
                )
            else:
                apt = (
                    "RUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
                    "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n"
                    "    --mount=type=cache,target=/var/lib/apt,sharing=locked \\\n"
                    "    apt-get update && apt-get install -y --no-install-recommends gcc\n"
                )
        if style == "naive":
            return (
                f"FROM python:{py}-slim\nWORKDIR /app\n{apt}COPY {req} .\n"
                f"RUN pip install --no-cache-dir -r {req}\nCOPY . .\n"
                f'CMD ["gunicorn", "app:app", "--bind", "0.0.0.0:{rng.randint(8000, 9000)}"]\n'
            )
        if style == "copy-first":
            return (
                f"FROM python:{py}\nWORKDIR /srv\nCOPY . .\n{apt}"
                f"RUN python -m pip install --upgrade pip && \\\n    pip install -r {req}\n"
                'ENTRYPOINT ["python", "-m", "app"]\n'
            )
        if style == "mounted":
            return (
                "# syntax=docker/dockerfile:1\n"
                f"FROM python:{py}-slim\nWORKDIR /app\n{apt}"
                f"RUN --mount=type=cache,target=/root/.cache/pip \\\n"
                f"    --mount=type=bind,source={req},target={req} \\\n"
                f"    pip install -r {req}\nCOPY . .\nUSER 1000\n"
                'CMD ["python", "main.py"]\n'
            )
        if style == "multistage":
            return (
                f"FROM python:{py}-slim AS builder\nWORKDIR /build\n{apt}"
                "RUN python -m venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH\n"
                f"COPY {req} .\nRUN pip install -r {req}\n\n"
                f"FROM python:{py}-slim AS runtime\nCOPY --from=builder /opt/venv /opt/venv\n"
                "ENV PATH=/opt/venv/bin:$PATH\nWORKDIR /app\nCOPY . .\n"
                'CMD ["python", "-m", "service"]\n'
            )
        if style == "uv":
            link = "ENV UV_LINK_MODE=copy\n" if rng.random() < 0.5 else ""
            return (
                f"FROM ghcr.io/astral-sh/uv:python{py}-bookworm-slim AS build\n{link}WORKDIR /app\n"
                "RUN --mount=type=cache,target=/root/.cache/uv \\\n"
                "    --mount=type=bind,source=uv.lock,target=uv.lock \\\n"
                "    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\\n"
                "    uv sync --locked --no-install-project --no-dev\n"
                "COPY . /app\nRUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev\n\n"
                f"FROM python:{py}-slim\nCOPY --from=build /app /app\n"
                'ENV PATH="/app/.venv/bin:$PATH"\nCMD ["python", "-m", "app"]\n'
            )
        if style == "defeated":
            return (
                f"FROM python:{py}-slim\nARG PIP_NO_CACHE_DIR=1\nWORKDIR /app\n{apt}COPY {req} ./\n"
                "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
                f"    pip install --no-cache-dir -r {req}\nCOPY src/ ./src/\n"
                'CMD ["python", "-m", "src"]\n'
            )
        return (
            f"FROM python:{py}-slim\n{apt}WORKDIR /app\nCOPY {req} .\n"
            "RUN <<EOF\nset -eux\n"
            f"pip install -r {req}\npip check\nEOF\nCOPY . .\n"
        )

    def _node_dockerfile(self, service: Service) -> str:
        rng = self.rng
        node = rng.choice(NODE_VERSIONS)
        lock = service.lock.rsplit("/", 1)[-1] if service.lock else "package-lock.json"
        if rng.random() < 0.5:
            return (
                f"FROM node:{node}-alpine AS deps\nWORKDIR /app\nCOPY package.json {lock} ./\n"
                "RUN --mount=type=cache,target=/root/.npm npm ci\n\n"
                f"FROM node:{node}-alpine AS build\nWORKDIR /app\nCOPY --from=deps /app/node_modules ./node_modules\n"
                "COPY . .\nRUN npm run build\n\n"
                f"FROM node:{node}-alpine\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\n"
                'CMD ["node", "dist/index.js"]\n'
            )
        return (
            f"FROM node:{node}\nWORKDIR /usr/src/app\nCOPY . .\n"
            "RUN apk add --no-cache git && npm install\nEXPOSE 3000\n"
            'CMD ["npm", "start"]\n'
        )

    # --- GitHub Actions ----------------------------------------------------------------------

    def _actions(self) -> None:
        for i in range(self.sizes.actions):
            cache = "          cache: pip\n" if i % 2 else ""
            self.write(
                f".github/actions/setup-{i:02d}/action.yml",
                f"name: Set up Python {i}\ndescription: Shared set-up\n"
                "inputs:\n  python-version:\n    default: '3.12'\n"
                "runs:\n  using: composite\n  steps:\n"
                "    - uses: actions/setup-python@v5\n      with:\n"
                "        python-version: ${{ inputs.python-version }}\n"
                + cache.replace("          ", "        ")
                + "    - shell: bash\n      run: |\n"
                "        python -m pip install --upgrade pip\n"
                "        pip install -r requirements.txt\n",
            )

    def _workflows(self) -> None:
        rng = self.rng
        templates = (
            self._python_workflow,
            self._node_workflow,
            self._uv_workflow,
            self._docker_workflow,
            self._release_workflow,
            self._lint_workflow,
        )
        weights = (40, 15, 12, 15, 8, 10)
        for i in range(self.sizes.workflows):
            service = self.services[i % len(self.services)]
            template = rng.choices(templates, weights=weights)[0]
            name = f"{template.__name__.strip('_').replace('_workflow', '')}-{i:04d}"
            self.write(f".github/workflows/{name}.yml", template(service, name))

    def _triggers(self, service: Service) -> str:
        rng = self.rng
        # Trigger filters sit beside ``branches:``, four spaces in under the event.
        paths = f"    paths: ['{service.name}/**']\n" if rng.random() < 0.6 else ""
        choice = rng.random()
        if choice < 0.1:
            return "on:\n  pull_request:\n" + paths
        return (
            "on:\n  push:\n    branches: [main]\n"
            + paths
            + "  pull_request:\n"
            + ("  workflow_dispatch:\n" if rng.random() < 0.3 else "")
        )

    def _checkout(self) -> str:
        rng = self.rng
        ref = rng.choice(("v4", "v4", f"{_sha(rng)} # v4.2.2", "v3"))
        return f"      - uses: actions/checkout@{ref}\n"

    def _python_workflow(self, service: Service, name: str) -> str:
        rng = self.rng
        versions = rng.sample(PY_VERSIONS, rng.randint(1, 4))
        cache = rng.choice(("pip", "pip", "none", "actions/cache", "pip-path"))
        req = service.requirements[0] if service.requirements else "requirements.txt"
        setup_ref = rng.choice(("v5", "v5", "v4", "v5.1.0", f"{_sha(rng)} # v5.3.0"))
        lines = [
            f"name: {name}\n",
            self._triggers(service),
            "permissions:\n  contents: read\n",
            "jobs:\n  test:\n    runs-on: ${{ matrix.os }}\n",
            "    strategy:\n      fail-fast: false\n      matrix:\n",
            f"        python-version: [{', '.join(json.dumps(v) for v in versions)}]\n",
            "        os: [ubuntu-latest"
            + (", windows-latest" if rng.random() < 0.2 else "")
            + "]\n",
            "    steps:\n",
            self._checkout(),
            f"      - uses: actions/setup-python@{setup_ref}\n        with:\n",
            "          python-version: ${{ matrix.python-version }}\n",
        ]
        if cache == "pip":
            lines.append("          cache: pip\n")
            if rng.random() < 0.7:
                lines.append(f"          cache-dependency-path: {req}\n")
        elif cache == "pip-path":
            lines.append("          cache: pip\n          cache-dependency-path: |\n")
            lines.append(
                f"            {service.name}/requirements*.txt\n            missing/requirements.txt\n"
            )
        elif cache == "actions/cache":
            key = rng.choice(
                (
                    f"${{{{ runner.os }}}}-pip-${{{{ hashFiles('{service.name}/requirements*.txt') }}}}",
                    "pip-cache-v1",
                    "${{ runner.os }}-${{ github.sha }}",
                    "${{ runner.os }}-pip-${{ hashFiles('**/requirements-none.txt') }}",
                )
            )
            lines.append(
                f"      - uses: actions/cache@{rng.choice(('v4', 'v3', 'v2', 'v4.1.0'))}\n"
                "        with:\n"
                f"          path: {rng.choice(('~/.cache/pip', '.venv', '~/.cache/pip'))}\n"
                f"          key: {key}\n"
            )
            if rng.random() < 0.5:
                lines.append("          restore-keys: |\n            ${{ runner.os }}-pip-\n")
        no_cache = " --no-cache-dir" if rng.random() < 0.1 else ""
        lines.append(
            f"      - name: Install dependencies\n        working-directory: {service.name}\n"
            if rng.random() < 0.3
            else "      - name: Install dependencies\n"
        )
        lines.append(
            "        run: |\n"
            "          python -m pip install --upgrade pip setuptools wheel\n"
            f"          pip install{no_cache} \\\n"
            f"            -r {req} \\\n"
            f"            {rng.choice(('pytest pytest-cov', '-e .', 'tox'))}\n"
        )
        if rng.random() < 0.2:
            lines.append(
                "      - run: sudo apt-get update && sudo apt-get install -y libxml2-dev\n"
            )
        lines.append(
            "      - name: Test\n        run: |\n"
            f"          pytest -q {service.name}/tests \\\n            --cov --cov-report=xml\n"
        )
        return "".join(lines)

    def _node_workflow(self, service: Service, name: str) -> str:
        rng = self.rng
        manager = {"yarn.lock": "yarn", "pnpm-lock.yaml": "pnpm"}.get(
            (service.lock or "").rsplit("/", 1)[-1], "npm"
        )
        cache = "" if rng.random() < 0.3 else f"          cache: {manager}\n"
        if cache and rng.random() < 0.6:
            cache += f"          cache-dependency-path: {service.lock or service.name + '/package-lock.json'}\n"
        install = {
            "npm": rng.choice(("npm ci", "npm install")),
            "yarn": "yarn install --frozen-lockfile",
            "pnpm": "pnpm install",
        }[manager]
        pnpm = "      - uses: pnpm/action-setup@v4\n" if manager == "pnpm" else ""
        return (
            f"name: {name}\n{self._triggers(service)}jobs:\n  build:\n    runs-on: ubuntu-latest\n"
            f"    strategy:\n      matrix:\n        node: [{', '.join(rng.sample(NODE_VERSIONS, 2))}]\n"
            f"    defaults:\n      run:\n        working-directory: {service.name}\n"
            f"    steps:\n{self._checkout()}{pnpm}"
            f"      - uses: actions/setup-node@{rng.choice(('v4', 'v4', 'v6', 'v4.1.0'))}\n"
            "        with:\n          node-version: ${{ matrix.node }}\n"
            + cache
            + f"      - run: {install}\n      - run: |\n          npm run lint\n          npm test -- --ci\n"
        )

    def _uv_workflow(self, service: Service, name: str) -> str:
        rng = self.rng
        ref = rng.choice(("v6", "v5", "v3", "v4"))
        enable = rng.choice(
            ("", "          enable-cache: true\n", "          enable-cache: false\n")
        )
        glob = (
            f"          cache-dependency-glob: {service.name}/uv.lock\n"
            if enable and rng.random() < 0.5
            else ""
        )
        sync = rng.choice(
            ("uv sync --locked --all-extras --dev", "uv sync", "uv pip install -r requirements.txt")
        )
        return (
            f"name: {name}\n{self._triggers(service)}jobs:\n  test:\n    runs-on: ubuntu-latest\n"
            f"    steps:\n{self._checkout()}"
            f"      - uses: astral-sh/setup-uv@{ref}\n"
            + (f"        with:\n{enable}{glob}" if enable else "")
            + f"      - name: Sync\n        working-directory: {service.name}\n"
            f"        run: {sync}\n"
            f"      - run: uv run --directory {service.name} pytest\n"
        )

    def _docker_workflow(self, service: Service, name: str) -> str:
        rng = self.rng
        image = service.name.rsplit("/", 1)[-1]
        style = rng.choice(("gha", "none", "registry", "run"))
        if style == "run":
            build = (
                "      - name: Build\n        run: |\n"
                f"          docker build \\\n            -t ghcr.io/example/{image}:${{{{ github.sha }}}} \\\n"
                f"            {service.name}\n"
            )
        else:
            cache = {
                "gha": f"          cache-from: type=gha,scope={image}\n"
                f"          cache-to: type=gha,mode=max,scope={image}\n",
                "registry": f"          cache-from: type=registry,ref=ghcr.io/example/{image}:cache\n"
                f"          cache-to: type=registry,ref=ghcr.io/example/{image}:cache,mode=max\n",
                "none": "",
            }[style]
            build = (
                "      - uses: docker/setup-buildx-action@v3\n"
                f"      - uses: docker/build-push-action@{rng.choice(('v6', 'v5'))}\n        with:\n"
                f"          context: {service.name}\n"
                f"          push: ${{{{ github.event_name != 'pull_request' }}}}\n"
                f"          tags: ghcr.io/example/{image}:latest\n" + cache
            )
        return (
            f"name: {name}\n{self._triggers(service)}jobs:\n  image:\n    runs-on: ubuntu-latest\n"
            "    permissions:\n      contents: read\n      packages: write\n"
            f"    steps:\n{self._checkout()}{build}"
        )

    def _release_workflow(self, service: Service, name: str) -> str:
        rng = self.rng
        trigger = rng.choice(
            ("on:\n  release:\n    types: [published]\n", "on:\n  push:\n    tags: ['v*']\n")
        )
        cache = "          cache: pip\n" if rng.random() < 0.6 else ""
        return (
            f"name: {name}\n{trigger}jobs:\n  publish:\n    runs-on: ubuntu-latest\n"
            "    environment: pypi\n    permissions:\n      id-token: write\n"
            f"    steps:\n{self._checkout()}"
            "      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.12'\n"
            + cache
            + "      - run: |\n          python -m pip install build\n"
            f"          python -m build {service.name}\n"
            "      - uses: pypa/gh-action-pypi-publish@release/v1\n"
            f"        with:\n          packages-dir: {service.name}/dist\n"
        )

    def _lint_workflow(self, service: Service, name: str) -> str:
        return (
            f"name: {name}\n{self._triggers(service)}jobs:\n  lint:\n    runs-on: ubuntu-latest\n"
            f"    steps:\n{self._checkout()}"
            "      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.12'\n"
            "      - uses: actions/cache@v4\n        with:\n          path: ~/.cache/pre-commit\n"
            "          key: pre-commit-${{ hashFiles('.pre-commit-config.yaml') }}\n"
            "      - run: |\n          pip install pre-commit\n"
            "          pre-commit run --all-files --show-diff-on-failure\n"
        )

    # --- GitLab CI ---------------------------------------------------------------------------

    def _gitlab(self) -> None:
        rng = self.rng
        self.write(
            "ci/templates/python.yml",
            'variables:\n  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"\n\n'
            ".python-cache: &python-cache\n  key:\n    files: [requirements.txt]\n"
            "    prefix: pip\n  paths:\n    - .cache/pip\n\n"
            ".python:\n  image: python:3.12-slim\n  cache: *python-cache\n"
            "  before_script:\n    - python -m pip install --upgrade pip\n",
        )
        self.write(
            "ci/templates/docker.yml",
            ".docker-build:\n  image: docker:27\n  services: [docker:27-dind]\n"
            '  script:\n    - docker build -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA" .\n',
        )
        for i in range(self.sizes.gitlab):
            service = self.services[i % len(self.services)]
            project = f"gitlab/proj-{i:03d}"
            req = service.requirements[0] if service.requirements else "requirements.txt"
            cache = rng.choice(
                (
                    "  cache:\n    key: static\n    paths: [.cache/pip]\n",
                    "  cache:\n    paths:\n      - ~/.cache/pip\n",
                    "",
                    f"  cache:\n    key:\n      files: [{req}]\n    paths: [.cache/pip]\n    policy: pull\n",
                )
            )
            self.write(
                f"{project}/ci/jobs.yml",
                ".unit:\n  stage: test\n  extends: .python\n  script:\n"
                f"    - pip install -r {req}\n    - pytest -q\n",
            )
            unprotect = "    unprotect: true\n" if rng.random() < 0.05 else ""
            self.write(
                f"{project}/.gitlab-ci.yml",
                "include:\n  - local: ci/templates/python.yml\n"
                f"  - local: {project}/ci/jobs.yml\n"
                + ("  - local: ci/templates/docker.yml\n" if rng.random() < 0.4 else "")
                + "  - template: Security/SAST.gitlab-ci.yml\n\n"
                "stages: [test, build]\n\n"
                "default:\n  cache:\n    key: default-pip\n    paths: [.cache/pip]\n"
                + unprotect
                + "\nunit-tests:\n  extends: .unit\n"
                + cache
                + "\nlint:\n  stage: test\n  image: python:3.12\n  script:\n"
                "    - pip install --no-cache-dir ruff\n    - ruff check .\n"
                "\nbuild-image:\n  stage: build\n  image: docker:27\n  script:\n"
                f'    - docker build --cache-from "$CI_REGISTRY_IMAGE:latest" -t app {service.name}\n',
            )


def posix_relative(target: str, start_file: str) -> str:
    """``target`` relative to the directory of ``start_file`` (both repository paths)."""
    import posixpath

    return posixpath.relpath(target, posixpath.dirname(start_file))


def generate(root: Path, sizes: Sizes, seed: int = 1) -> Generator:
    gen = Generator(root, sizes, seed)
    gen.run()
    return gen


def fingerprint(root: Path) -> str:
    """A digest of every generated path and byte, to check determinism."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory to create (must not exist or be empty)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="monorepo")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    sizes = PRESETS[args.preset].scaled(args.scale)
    gen = generate(args.out, sizes, args.seed)
    print(f"{gen.files} files, {gen.bytes / 1e6:.1f} MB in {args.out} ({sizes})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

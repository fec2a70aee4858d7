"""Hypothesis strategies for structured-but-wrong inputs.

Each generator follows the real grammar closely enough to reach deep into the analyzers (jobs
with steps, cache inputs, GitLab includes and extends, multi-stage Dockerfiles with mounts and
heredocs, requirement options) and then lets any part of it be of the wrong type, missing, or
replaced by junk. Shapes come from the vocabularies below, so shrinking yields readable cases.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# --- vocabularies ----------------------------------------------------------------------------

SHELL_WORDS = (
    "pip",
    "pip3",
    "python",
    "python3",
    "-m",
    "install",
    "-r",
    "requirements.txt",
    "requirements-dev.txt",
    "-c",
    "constraints.txt",
    "--no-cache-dir",
    "--no-cache",
    "-U",
    "--upgrade",
    ".",
    "-e",
    "uv",
    "sync",
    "--locked",
    "--frozen",
    "tool",
    "poetry",
    "pipenv",
    "--deploy",
    "pdm",
    "conda",
    "mamba",
    "npm",
    "ci",
    "yarn",
    "--frozen-lockfile",
    "pnpm",
    "apt-get",
    "apt",
    "update",
    "-y",
    "apk",
    "add",
    "sudo",
    "env",
    "PIP_NO_CACHE_DIR=1",
    "PIP_CACHE_DIR=/tmp/x",
    "UV_NO_CACHE=1",
    "bash",
    "-c",
    "sh",
    "-s",
    "xargs",
    "docker",
    "build",
    "buildx",
    "--cache-from",
    "--cache-to",
    "type=gha",
    "--group",
    "dev",
    "requests==2.32.3",
    "git+https://github.com/o/r@main",
    "/wheels/*.whl",
    "--hash=sha256:00",
    "tox",
    "nox",
    "pre-commit",
    "&&",
    "||",
    ";",
    "|",
    "&",
    "\\\n",
    "\n",
    "$(",
    ")",
    "`",
    "'",
    '"',
    "(",
    "{",
    "}",
    "<<EOF",
    "EOF",
    "<<-'END'",
    "END",
    "if",
    "then",
    "fi",
    "for",
    "in",
    "do",
    "done",
    "case",
    "esac",
    "#",
    "2>&1",
    ">",
    "/dev/null",
    "${{ matrix.python-version }}",
    "${VAR}",
    "$HOME",
    "~/.cache/pip",
    "--index-url",
    "https://pypi.org/simple",
    "*",
    "--",
    "!",
)

ACTIONS = (
    "actions/checkout@v4",
    "actions/setup-python@v5",
    "actions/setup-python@v4",
    "actions/setup-python@v5.3.0",
    "actions/setup-python@0b93645e9fea7318ecaed2b359559ac225c90a2b",
    "actions/setup-node@v4",
    "actions/setup-node@v6",
    "actions/setup-node@v4.1.0",
    "actions/cache@v4",
    "actions/cache@v3",
    "actions/cache@v2",
    "actions/cache@v4.1.0",
    "actions/cache/restore@v4",
    "actions/cache/save@v4",
    "astral-sh/setup-uv@v3",
    "astral-sh/setup-uv@v6",
    "docker/build-push-action@v6",
    "docker/setup-buildx-action@v3",
    "pypa/gh-action-pypi-publish@release/v1",
    "./.github/actions/setup",
    "docker://alpine:3",
    "actions/cache",
    "actions/setup-python@",
    "@v4",
    "",
    "o/r/.github/workflows/x.yml@main",
)

WITH_KEYS = (
    "python-version",
    "cache",
    "cache-dependency-path",
    "node-version",
    "package-manager-cache",
    "path",
    "key",
    "restore-keys",
    "lookup-only",
    "enable-cache",
    "cache-dependency-glob",
    "cache-from",
    "cache-to",
    "push",
    "tags",
    "version",
    "working-directory",
    "fail-on-cache-miss",
    "cache-suffix",
    "prune-cache",
    "python-version-file",
    "context",
    "file",
)

WITH_VALUES = (
    "pip",
    "pipenv",
    "poetry",
    "npm",
    "yarn",
    "pnpm",
    "true",
    "false",
    "auto",
    True,
    False,
    "requirements.txt",
    "**/requirements*.txt",
    "sub/req.txt\nother.txt",
    "~/.cache/pip",
    "~/.npm",
    "node_modules",
    ".venv",
    "${{ runner.os }}-pip-${{ hashFiles('**/requirements*.txt') }}",
    "static-key",
    "${{ github.sha }}",
    "${{ hashFiles('[z-a]', '') }}",
    "${{ hashFiles( }}",
    "${{ matrix.python-version }}",
    "type=gha,mode=max",
    "type=registry,ref=x",
    "3.12",
    3.1,
    "${{ !startsWith(github.ref, 'refs/tags/') }}",
    "../outside/x",
    "/etc/passwd",
)

TRIGGERS = (
    "push",
    "pull_request",
    "pull_request_target",
    "release",
    "workflow_run",
    "workflow_dispatch",
    "schedule",
    "merge_group",
    "workflow_call",
)

PATHS = (
    "requirements.txt",
    "requirements-dev.txt",
    "constraints.txt",
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "Pipfile.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "package.json",
    "sub/requirements.txt",
    "ci/a.yml",
    "ci/b.yml",
    ".gitlab-ci.yml",
    "*.yml",
    "ci/**.yml",
    "../x",
    "/etc/passwd",
    "",
    ".",
    "dir/",
    "**",
    "[z-a]",
    "req*.txt",
)


def junk() -> st.SearchStrategy[Any]:
    """A value of the wrong type."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True),
        st.text(max_size=20),
    )
    return st.one_of(
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    )


def maybe_wrong(strategy: st.SearchStrategy[Any], odds: int = 6) -> st.SearchStrategy[Any]:
    """``strategy`` most of the time, a wrong-typed value otherwise."""
    return st.one_of(*([strategy] * (odds - 1)), junk())


def shell_text(max_words: int = 40) -> st.SearchStrategy[str]:
    word = st.one_of(st.sampled_from(SHELL_WORDS), st.text(max_size=6))
    sep = st.sampled_from((" ", " ", " ", "", "\n", " \\\n  ", "\t"))
    return st.lists(st.tuples(word, sep), max_size=max_words).map(
        lambda parts: "".join(w + s for w, s in parts)
    )


def env_map() -> st.SearchStrategy[Any]:
    keys = st.sampled_from(
        (
            "PIP_NO_CACHE_DIR",
            "PIP_CACHE_DIR",
            "UV_NO_CACHE",
            "UV_CACHE_DIR",
            "npm_config_cache",
            "POETRY_CACHE_DIR",
            "HOME",
            "X",
        )
    )
    values = st.one_of(
        st.sampled_from(("0", "1", "false", "off", "$CI_PROJECT_DIR/.cache/pip")), junk()
    )
    return maybe_wrong(st.dictionaries(keys, values, max_size=3))


# --- YAML emission ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """GitLab ``!reference [a, b]``."""

    parts: tuple[str, ...]


def dump_yaml(value: Any) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.representer.add_representer(
        Reference, lambda rep, ref: rep.represent_sequence("!reference", list(ref.parts))
    )
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


@st.composite
def corrupt(draw: st.DrawFn, text: str) -> str:
    """Line-level damage: drop, duplicate or re-indent a line, or insert a tab."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        if not lines:
            break
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(("drop", "dup", "indent", "tab", "dedent")))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "indent":
            lines[i] = "  " + lines[i]
        elif action == "tab":
            lines[i] = "\t" + lines[i]
        else:
            lines[i] = lines[i].lstrip()
    return "\n".join(lines)


def yaml_text(document: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    dumped = document.map(dump_yaml)
    return st.one_of(dumped, dumped, dumped, dumped.flatmap(corrupt))


# --- GitHub Actions --------------------------------------------------------------------------


def _step() -> st.SearchStrategy[Any]:
    with_map = maybe_wrong(
        st.dictionaries(
            st.sampled_from(WITH_KEYS), st.one_of(st.sampled_from(WITH_VALUES), junk()), max_size=5
        )
    )
    uses = st.fixed_dictionaries(
        {"uses": maybe_wrong(st.sampled_from(ACTIONS))},
        optional={
            "with": with_map,
            "name": st.text(max_size=10),
            "id": st.text(max_size=5),
            "if": st.sampled_from(("always()", "${{ x }}", "false")),
            "env": env_map(),
        },
    )
    run = st.fixed_dictionaries(
        {"run": maybe_wrong(shell_text())},
        optional={
            "name": st.text(max_size=10),
            "env": env_map(),
            "shell": st.sampled_from(("bash", "pwsh", "python")),
            "working-directory": st.sampled_from(PATHS),
        },
    )
    return maybe_wrong(st.one_of(uses, run))


def _job() -> st.SearchStrategy[Any]:
    matrix = st.fixed_dictionaries(
        {},
        optional={
            "python-version": st.lists(st.sampled_from(("3.10", "3.12", 3.1)), max_size=3),
            "os": st.lists(st.sampled_from(("ubuntu-latest", "windows-latest")), max_size=2),
            "include": maybe_wrong(st.lists(st.dictionaries(st.text(max_size=4), junk()))),
        },
    )
    return maybe_wrong(
        st.fixed_dictionaries(
            {"steps": maybe_wrong(st.lists(_step(), max_size=6))},
            optional={
                "runs-on": maybe_wrong(st.sampled_from(("ubuntu-latest", "self-hosted"))),
                "strategy": maybe_wrong(st.fixed_dictionaries({"matrix": maybe_wrong(matrix)})),
                "env": env_map(),
                "container": maybe_wrong(st.sampled_from(("python:3.12", "node:20"))),
                "uses": st.sampled_from(ACTIONS),
                "needs": junk(),
                "permissions": junk(),
                "name": st.text(max_size=8),
            },
        )
    )


def _on() -> st.SearchStrategy[Any]:
    trigger = st.sampled_from(TRIGGERS)
    return maybe_wrong(
        st.one_of(
            trigger,
            st.lists(trigger, max_size=3),
            st.dictionaries(
                trigger,
                st.one_of(
                    st.none(),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "branches": st.lists(st.sampled_from(("main", "*")), max_size=2),
                            "tags": st.lists(st.sampled_from(("v*", "*")), max_size=2),
                            "types": st.lists(st.sampled_from(("published", "completed"))),
                        },
                    ),
                ),
                max_size=3,
            ),
        )
    )


def workflow_document() -> st.SearchStrategy[Any]:
    return maybe_wrong(
        st.fixed_dictionaries(
            {
                "on": _on(),
                "jobs": maybe_wrong(
                    st.dictionaries(
                        st.sampled_from(("test", "build", "lint", "r")), _job(), max_size=3
                    )
                ),
            },
            optional={"name": st.text(max_size=10), "env": env_map(), "permissions": junk()},
        ),
        odds=10,
    )


def action_document() -> st.SearchStrategy[Any]:
    return maybe_wrong(
        st.fixed_dictionaries(
            {
                "runs": maybe_wrong(
                    st.fixed_dictionaries(
                        {"using": st.sampled_from(("composite", "node20", "docker"))},
                        optional={"steps": maybe_wrong(st.lists(_step(), max_size=5))},
                    )
                )
            },
            optional={"name": st.text(max_size=10), "inputs": junk()},
        ),
        odds=10,
    )


# --- GitLab CI -------------------------------------------------------------------------------

GITLAB_NAMES = ("test", "build", ".base", ".cache", "deploy", "lint")


def _gitlab_cache() -> st.SearchStrategy[Any]:
    key = st.one_of(
        st.sampled_from(("static", "$CI_COMMIT_REF_SLUG", "${CI_JOB_NAME}-pip", "")),
        st.fixed_dictionaries(
            {"files": maybe_wrong(st.lists(st.sampled_from(PATHS), max_size=3))},
            optional={"prefix": st.sampled_from(("pip", "$CI_JOB_NAME"))},
        ),
    )
    one = st.fixed_dictionaries(
        {},
        optional={
            "key": maybe_wrong(key),
            "paths": maybe_wrong(
                st.lists(
                    st.sampled_from(
                        (
                            ".cache/pip",
                            "~/.cache/pip",
                            "/root/.npm",
                            ".venv",
                            "node_modules/",
                            "$CI_PROJECT_DIR/.cache/uv",
                            "../x",
                        )
                    ),
                    max_size=3,
                )
            ),
            "policy": st.sampled_from(("pull", "push", "pull-push", "bogus")),
            "unprotect": junk(),
            "when": st.sampled_from(("always", "on_success")),
            "fallback_keys": junk(),
        },
    )
    return maybe_wrong(st.one_of(one, st.lists(one, max_size=2)))


def _gitlab_job() -> st.SearchStrategy[Any]:
    script = st.one_of(
        shell_text(),
        st.lists(
            st.one_of(shell_text(12), st.builds(Reference, st.just((".base", "script")))),
            max_size=4,
        ),
        st.builds(
            Reference,
            st.tuples(st.sampled_from(GITLAB_NAMES), st.sampled_from(("script", "cache"))),
        ),
    )
    return maybe_wrong(
        st.fixed_dictionaries(
            {},
            optional={
                "script": maybe_wrong(script),
                "before_script": maybe_wrong(script),
                "cache": _gitlab_cache(),
                "extends": maybe_wrong(
                    st.one_of(
                        st.sampled_from(GITLAB_NAMES),
                        st.lists(st.sampled_from(GITLAB_NAMES), max_size=3),
                    )
                ),
                "image": maybe_wrong(st.sampled_from(("python:3.12", "docker:27"))),
                "variables": env_map(),
                "services": junk(),
                "inherit": maybe_wrong(
                    st.fixed_dictionaries({}, optional={"default": junk(), "variables": junk()})
                ),
                "parallel": junk(),
                "stage": st.sampled_from(("test", "build")),
            },
        )
    )


def _include() -> st.SearchStrategy[Any]:
    local = st.sampled_from(
        ("ci/a.yml", "/ci/b.yml", "ci/*.yml", ".gitlab-ci.yml", "missing.yml", "../x.yml")
    )
    entry = st.one_of(
        local,
        st.fixed_dictionaries({"local": local}),
        st.fixed_dictionaries({"remote": st.just("https://example.invalid/x.yml")}),
        st.fixed_dictionaries({"project": st.just("g/p"), "file": maybe_wrong(local)}),
        st.fixed_dictionaries({"template": st.just("Python.gitlab-ci.yml")}),
        st.fixed_dictionaries({"component": st.just("gitlab.com/x/y@1")}),
    )
    return maybe_wrong(st.one_of(entry, st.lists(entry, max_size=3)))


def gitlab_document() -> st.SearchStrategy[Any]:
    top = st.dictionaries(st.sampled_from(GITLAB_NAMES), _gitlab_job(), max_size=4)
    extra = st.fixed_dictionaries(
        {},
        optional={
            "include": _include(),
            "default": maybe_wrong(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "cache": _gitlab_cache(),
                        "image": st.just("python:3.12"),
                        "before_script": shell_text(10),
                    },
                )
            ),
            "variables": env_map(),
            "cache": _gitlab_cache(),
            "stages": junk(),
            "workflow": junk(),
        },
    )
    return maybe_wrong(st.tuples(top, extra).map(lambda pair: {**pair[1], **pair[0]}), odds=10)


GITLAB_ANCHOR_TEMPLATE = """\
.pip: &pip
  variables:
    PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"
  cache: &cache
    key: {key}
    paths: [{path}]
test:
  <<: {merge}
  script:
    - {script}
other:
  extends: {extends}
  cache: {cache}
  script: !reference [{ref}, script]
"""


@st.composite
def gitlab_anchor_text(draw: st.DrawFn) -> str:
    """Anchors, merge keys and ``!reference`` written by hand: dumpers never produce these."""
    return GITLAB_ANCHOR_TEMPLATE.format(
        key=draw(st.sampled_from(("pip", "{files: [requirements.txt]}", "*cache", "''"))),
        path=draw(st.sampled_from((".cache/pip", "~/.cache/pip", "*pip"))),
        merge=draw(st.sampled_from(("*pip", "[*pip, *cache]", "*missing", "5", "*cache"))),
        script=draw(shell_text(12)).replace("\n", " "),
        extends=draw(st.sampled_from((".pip", "test", "other", "[.pip, test]", "{}"))),
        cache=draw(st.sampled_from(("*cache", "[]", "{}", "[*cache, *cache]", "null"))),
        ref=draw(st.sampled_from((".pip", "test", "other", ".pip, cache, key", ""))),
    )


# --- Dockerfile ------------------------------------------------------------------------------

_IMAGES = ("python:3.12-slim", "node:20", "ghcr.io/astral-sh/uv:latest", "scratch", "base", "$BASE")
_STAGES = ("base", "builder", "deps", "final", "0")
_TARGETS = (
    "/root/.cache/pip",
    "/root/.cache/uv",
    "/root/.npm",
    "/var/cache/apt",
    "/var/lib/apt",
    "/home/app/.cache/pip",
    "/pnpm/store",
    "/tmp/x",
    "",
    "$PIP_CACHE_DIR",
)


@st.composite
def _mount(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(("cache", "bind", "secret", "tmpfs", "ssh", "", "bogus")))
    opts = [f"type={kind}"] if kind else []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        opts.append(
            draw(
                st.one_of(
                    st.sampled_from(_TARGETS).map(lambda t: f"target={t}"),
                    st.sampled_from(
                        (
                            "id=pip",
                            "sharing=locked",
                            "uid=1000",
                            "source=requirements.txt",
                            "from=builder",
                            "readonly",
                            "dst=/x",
                            "rw",
                            '"target=/a,b"',
                        )
                    ),
                    st.text(max_size=8),
                )
            )
        )
    return "--mount=" + ",".join(opts)


@st.composite
def _run(draw: st.DrawFn) -> str:
    flags = " ".join(
        draw(
            st.lists(
                st.one_of(
                    _mount(), st.sampled_from(("--network=none", "--security=insecure", "--mount"))
                ),
                max_size=3,
            )
        )
    )
    form = draw(st.sampled_from(("shell", "shell", "exec", "heredoc", "broken-exec")))
    if form == "exec":
        body = json.dumps(draw(st.lists(st.sampled_from(SHELL_WORDS), max_size=6)))
    elif form == "broken-exec":
        body = '["pip", "install"' + draw(st.text(max_size=5))
    elif form == "heredoc":
        marker = draw(st.sampled_from(("EOF", "'EOT'", "-EOF", '"X"')))
        end = marker.strip("'\"-")
        script = draw(shell_text(20))
        closing = draw(st.sampled_from((end, end, "", "\t" + end)))
        body = f"<<{marker}\n{script}\n{closing}"
    else:
        body = draw(shell_text())
    return f"RUN {flags} {body}".replace("\n\n", "\n")


def _instruction() -> st.SearchStrategy[str]:
    key_value = st.tuples(
        st.sampled_from(
            (
                "PIP_NO_CACHE_DIR",
                "PIP_CACHE_DIR",
                "UV_NO_CACHE",
                "UV_CACHE_DIR",
                "UV_LINK_MODE",
                "HOME",
                "PATH",
                "BASE",
                "X",
            )
        ),
        st.sampled_from(("1", "0", "off", "copy", "/tmp/c", "$HOME/.cache", "")),
    )
    sources = st.lists(st.sampled_from(PATHS), min_size=1, max_size=3).map(" ".join)
    return st.one_of(
        st.tuples(
            st.sampled_from(_IMAGES),
            st.sampled_from(("", " AS ", " as ")),
            st.sampled_from(_STAGES),
        ).map(lambda t: f"FROM {t[0]}{t[1]}{t[2] if t[1] else ''}"),
        key_value.map(lambda kv: f"ENV {kv[0]}={kv[1]}"),
        key_value.map(lambda kv: f"ARG {kv[0]}={kv[1]}"),
        key_value.map(lambda kv: f"ENV {kv[0]} {kv[1]}"),
        _run(),
        _run(),
        st.tuples(
            st.sampled_from(("COPY", "ADD", "COPY --from=builder", "COPY --link --chown=1:1")),
            sources,
            st.sampled_from((".", "./", "/app/", "$X")),
        ).map(" ".join),
        st.sampled_from(
            (
                "WORKDIR /app",
                "USER app",
                "USER 1000:1000",
                "USER root",
                'SHELL ["/bin/bash", "-c"]',
                "ONBUILD RUN pip install x",
                'CMD ["x"]',
                "HEALTHCHECK NONE",
                "EXPOSE 80",
                "LABEL a=b",
                "# syntax=docker/dockerfile:1",
                "# escape=`",
                "#",
                "",
                "\\",
                "MAINTAINER x",
                "FROM",
                "RUN",
                "COPY . .",
            )
        ),
        st.text(max_size=30),
    )


def dockerfile_text() -> st.SearchStrategy[str]:
    sep = st.sampled_from(("\n", "\n", "\n", " \\\n", "\n\n"))
    return st.lists(st.tuples(_instruction(), sep), max_size=14).map(
        lambda parts: "".join(i + s for i, s in parts)
    )


# --- Python dependency files -----------------------------------------------------------------

REQUIREMENT_LINES = (
    "requests==2.32.3",
    "requests>=2",
    "requests",
    "Django~=5.0",
    "flask[async]==3.0; python_version>'3.8'",
    "-r requirements-dev.txt",
    "--requirement=constraints.txt",
    "-r requirements.txt",
    "-rreq.txt",
    "-c constraints.txt",
    "-e .",
    "-e git+https://github.com/o/r@main#egg=r",
    "git+https://github.com/o/r@0b93645e9fea7318ecaed2b359559ac225c90a2b",
    "r @ https://x/r-1.whl",
    "    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "--index-url https://pypi.org/simple",
    "--extra-index-url=https://x",
    "--find-links ./wheels",
    "--no-binary :all:",
    "--only-binary=:all:",
    "--pre",
    "--require-hashes",
    "--trusted-host x",
    "# comment",
    "#",
    "${VERSION}",
    "pkg==${VERSION}",
    "./local/pkg",
    "file:///etc/passwd",
    "-r ../outside.txt",
    "-r /etc/passwd",
    "\\",
    "--",
    "-",
    "==1",
    "@",
    "pkg @",
    "[x]",
    "# This file is autogenerated by pip-compile with Python 3.12",
    "#    pip-compile --output-file=requirements.txt requirements.in",
    "    # via flask",
    "# uv pip compile requirements.in -o requirements.txt",
    "--group dev",
)


def requirements_text() -> st.SearchStrategy[str]:
    line = st.one_of(st.sampled_from(REQUIREMENT_LINES), st.text(max_size=20))
    sep = st.sampled_from(("\n", "\n", " \\\n", " ", "\n\n"))
    return st.lists(st.tuples(line, sep), max_size=12).map(lambda ps: "".join(a + b for a, b in ps))


PYPROJECT_SECTIONS = (
    "[project]",
    "[project.optional-dependencies]",
    "[dependency-groups]",
    "[tool.poetry]",
    "[tool.poetry.dependencies]",
    "[tool.poetry.group.dev.dependencies]",
    "[tool.uv]",
    "[tool.uv.sources]",
    "[tool.pdm]",
    "[tool.pdm.dev-dependencies]",
    "[build-system]",
    "[[tool.uv.index]]",
    "[project.scripts]",
)
PYPROJECT_LINES = (
    'name = "app"',
    'version = "1.0"',
    'dependencies = ["requests>=2", "flask==3.0"]',
    "dependencies = []",
    "dependencies = 5",
    'dependencies = ["git+https://x/y@main"]',
    'dev = ["pytest"]',
    'test = [{include-group = "dev"}]',
    'python = "^3.10"',
    'requests = {version = "^2", extras = ["socks"]}',
    'requests = "*"',
    "package = false",
    'requires = ["hatchling"]',
    'build-backend = "hatchling.build"',
    'dynamic = ["dependencies"]',
    'requires-python = ">=3.10"',
    "managed = true",
    'url = "https://x"',
    "x = [",
    "= 1",
    '"a" = {}',
)


def pyproject_text() -> st.SearchStrategy[str]:
    line = st.one_of(
        st.sampled_from(PYPROJECT_SECTIONS), st.sampled_from(PYPROJECT_LINES), st.text(max_size=15)
    )
    return st.lists(line, max_size=12).map(lambda ls: "\n".join(ls) + "\n")


def lockfile_text(name: str) -> st.SearchStrategy[str]:
    if name.endswith(".json") or name == "Pipfile.lock":
        doc = st.recursive(
            junk(),
            lambda inner: st.dictionaries(
                st.sampled_from(
                    ("packages", "default", "develop", "lockfileVersion", "version", "")
                ),
                inner,
                max_size=4,
            ),
            max_leaves=10,
        )
        return st.one_of(doc.map(json.dumps), st.text(max_size=40))
    if name.endswith(".yaml"):
        return st.one_of(
            yaml_text(st.dictionaries(st.text(max_size=6), junk(), max_size=4)),
            st.text(max_size=40),
        )
    package = st.tuples(st.text(max_size=6), st.text(max_size=6)).map(
        lambda nv: f'[[package]]\nname = "{nv[0]}"\nversion = "{nv[1]}"\n'
    )
    return st.one_of(st.lists(package, max_size=4).map("".join), st.text(max_size=40))


# --- whole repositories ----------------------------------------------------------------------

FILE_STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    ".github/workflows/ci.yml": yaml_text(workflow_document()),
    ".github/workflows/release.yml": yaml_text(workflow_document()),
    ".github/actions/setup/action.yml": yaml_text(action_document()),
    ".gitlab-ci.yml": st.one_of(yaml_text(gitlab_document()), gitlab_anchor_text()),
    "ci/a.yml": yaml_text(gitlab_document()),
    "ci/b.yml": st.one_of(yaml_text(gitlab_document()), gitlab_anchor_text()),
    "Dockerfile": dockerfile_text(),
    "services/api/Dockerfile": dockerfile_text(),
    "requirements.txt": requirements_text(),
    "requirements-dev.txt": requirements_text(),
    "constraints.txt": requirements_text(),
    "sub/requirements.txt": requirements_text(),
    "pyproject.toml": pyproject_text(),
    "uv.lock": lockfile_text("uv.lock"),
    "poetry.lock": lockfile_text("poetry.lock"),
    "package-lock.json": lockfile_text("package-lock.json"),
    "Pipfile.lock": lockfile_text("Pipfile.lock"),
    "pnpm-lock.yaml": lockfile_text("pnpm-lock.yaml"),
    "package.json": st.sampled_from(
        ('{"packageManager": "npm@10.0.0"}', '{"packageManager": 5}', "{", "[]")
    ),
    "scripts/install.sh": shell_text(),
}


@st.composite
def repository(draw: st.DrawFn) -> dict[str, str]:
    """A few files of the repository above, each drawn from its own generator."""
    names = draw(
        st.lists(st.sampled_from(sorted(FILE_STRATEGIES)), min_size=1, max_size=8, unique=True)
    )
    return {name: draw(FILE_STRATEGIES[name]) for name in sorted(names)}

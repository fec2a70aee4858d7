"""Dockerfile parsing (cacheaudit.parsing.dockerfile) and the Dockerfile analyzer: what each rule
says, where it points, the fix it proposes, and the installs it records."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import FIXTURES, run_audit

from cacheaudit.analyzers import dockerfile as analyzer
from cacheaudit.analyzers.dockerfile.rewrite import apply_edits
from cacheaudit.discovery import FileKind, SourceFile
from cacheaudit.model import Finding, InstallSite, Report
from cacheaudit.parsing.dockerfile import expand, parse
from cacheaudit.repo import RepoContext

MakeRepo = Callable[[dict[str, str]], Path]

REQS = "flask==3.0.3\ngunicorn==22.0.0\n"


def audit(make_repo: MakeRepo, dockerfile: str, **files: str) -> Report:
    repo = {"Dockerfile": dedent(dockerfile).lstrip("\n"), **files}
    return run_audit(make_repo({k.replace("__", "/"): v for k, v in repo.items()}))


def rule(report: Report, rule_id: str) -> list[Finding]:
    return [f for f in (*report.findings, *report.notices) if f.rule_id == rule_id]


def only(report: Report, rule_id: str) -> Finding:
    found = rule(report, rule_id)
    assert len(found) == 1, [(f.rule_id, f.location.line, f.message) for f in found]
    return found[0]


def docker_rules(report: Report) -> list[tuple[str, int]]:
    return sorted(
        (f.rule_id, f.location.line)
        for f in (*report.findings, *report.notices)
        if f.rule_id.startswith(("CA3", "CA001")) or f.rule_id == "CA504"
    )


def sites(report: Report) -> list[InstallSite]:
    return [s for s in report.installs if s.platform == "dockerfile"]


# --- parsing -----------------------------------------------------------------------------------


def test_instructions_keep_their_lines_across_continuations_comments_and_blank_lines() -> None:
    parsed = parse(
        dedent(
            """\
            FROM python:3.12
            RUN apt-get update && \\
                # a comment inside the continuation
                apt-get install -y gcc

            RUN pip install \\

                -r requirements.txt
            COPY . .
            """
        )
    )
    summary = [(i.keyword, i.line, i.end_line) for i in parsed.instructions]
    assert summary == [("FROM", 1, 1), ("RUN", 2, 4), ("RUN", 6, 8), ("COPY", 9, 9)]
    assert parsed.instructions[2].args == "pip install -r requirements.txt"
    assert parsed.problems == ()


def test_heredoc_bodies_are_not_instructions() -> None:
    parsed = parse(
        dedent(
            """\
            FROM alpine
            RUN <<EOF
            FROM evil
            apk add --no-cache git \\
            EOF
            COPY <<-"CONF" <<NOTES /etc/app/
            \tkey = value
            \tCONF
            notes
            NOTES
            USER nobody
            """
        )
    )
    keywords = [(i.keyword, i.line) for i in parsed.instructions]
    assert keywords == [("FROM", 1), ("RUN", 2), ("COPY", 6), ("USER", 11)]
    run, copy = parsed.instructions[1], parsed.instructions[2]
    assert [(h.name, h.line, h.end_line) for h in run.heredocs] == [("EOF", 3, 5)]
    assert run.heredocs[0].body == "FROM evil\napk add --no-cache git \\"
    assert [(h.name, h.strip_tabs, h.body) for h in copy.heredocs] == [
        ("CONF", True, "key = value"),
        ("NOTES", False, "notes"),
    ]


def test_unterminated_heredoc_is_a_problem_not_a_crash() -> None:
    parsed = parse("FROM alpine\nRUN <<EOF\necho hi\n")
    assert [p.line for p in parsed.problems] == [2]
    assert "never terminated" in parsed.problems[0].message


def test_run_flags_and_mounts() -> None:
    parsed = parse(
        dedent(
            """\
            FROM python:3.12
            RUN --network=none \\
                --mount=type=cache,target=/root/.cache/pip,sharing=locked,id=pip \\
                --mount=source=uv.lock,target=uv.lock \\
                --mount=type=secret,id=netrc,target=/root/.netrc \\
                pip install -r requirements.txt
            """
        )
    )
    run = parsed.instructions[1]
    assert run.flag("network") == "none"
    assert [(m.type, m.target) for m in run.mounts] == [
        ("cache", "/root/.cache/pip"),
        ("bind", "uv.lock"),  # BuildKit's default type
        ("secret", "/root/.netrc"),
    ]
    assert run.mounts[0].get("sharing") == "locked"
    assert run.args == "pip install -r requirements.txt"
    # The script keeps the arguments at their own line and column for the shell parser.
    assert run.script.split("\n")[4] == "    pip install -r requirements.txt"
    assert run.script.split("\n")[0].strip() == "\\"  # keyword and flags blanked


def test_exec_form_and_its_fallback() -> None:
    parsed = parse('FROM x\nRUN ["pip", "install", "flask"]\nRUN ["pip", install]\n')
    assert parsed.instructions[1].exec_form == ("pip", "install", "flask")
    assert parsed.instructions[2].exec_form is None  # invalid JSON: shell form, as in BuildKit


def test_directives_only_at_the_top_and_the_escape_character() -> None:
    windows = parse(
        "# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN pip install `\n    flask\n"
    )
    assert windows.escape == "`"
    assert [(i.keyword, i.end_line) for i in windows.instructions] == [("FROM", 2), ("RUN", 4)]
    late = parse("# a comment first\n# escape=`\nFROM x\n")
    assert late.escape == "\\" and late.directives == ()
    both = parse("# syntax=docker/dockerfile:1.7\n# check=skip=all\nFROM x\n")
    assert [k for k, _ in both.directives] == ["syntax", "check"]


def test_unknown_instruction_is_reported_once() -> None:
    parsed = parse("FROM x\nRUNN pip install a\nCOPPY . .\n")
    assert [(p.line, p.message) for p in parsed.problems] == [(2, "unknown instruction 'RUNN'")]


def test_expand_like_the_dockerfile_frontend() -> None:
    values = {"A": "/opt", "EMPTY": ""}
    assert expand("$A/x ${A}/y", values) == "/opt/x /opt/y"
    assert expand("${EMPTY:-/fallback}", values) == "/fallback"
    assert expand("${A:+set}", values) == "set"
    assert expand("$UNKNOWN/x", values) is None
    assert expand("$HOME/.cache", values, unset={"HOME": ""}) == "/.cache"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "FROM python:3.12 AS base",
                "FROM base",
                "RUN <<EOF",
                "EOF",
                "RUN <<-X bash",
                "\tX",
                "RUN --mount=type=cache,target=/root/.cache/pip \\",
                "pip install -r r.txt",
                "ENV PIP_NO_CACHE_DIR=1",
                "ARG A",
                "USER 1000",
                "USER app",
                "WORKDIR sub",
                "COPY . .",
                "COPY --from=base /a /b",
                'RUN ["pip", "install", "x"]',
                "",
                "\\",
                "# escape=`",
                "`",
                "RUN apt-get update",
                "npm install",
                "apt-get install -y x",
                'ENV A="unterminated',
                "RUN $(",
                "ONBUILD RUN pip install x",
                "${X:-",
                "COPY",
            ]
        )
        | st.text(max_size=30),
        max_size=25,
    )
)
def test_any_text_is_parsed_and_analyzed_without_raising(lines: list[str]) -> None:
    text = "\n".join(lines)
    parse(text)
    ctx = RepoContext.from_files(Path("/nonexistent"), {"Dockerfile": text, "r.txt": "x\n"})
    analyzer.analyze(ctx, SourceFile(FileKind.DOCKERFILE, "Dockerfile", text))


# --- CA301 -------------------------------------------------------------------------------------


def test_ca301_names_the_stage_and_gives_the_mounted_run(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12-slim AS build
        COPY requirements.txt .
        RUN pip install -r requirements.txt
        """,
        **{"requirements.txt": REQS},
    )
    finding = only(report, "CA301")
    assert (finding.location.line, finding.location.column) == (3, 5)
    assert "stage build" in finding.message and "/root/.cache/pip" in finding.message
    assert finding.subject == "stage build / RUN #1 / pip"
    assert finding.weight == 1.0
    assert finding.fix is not None
    assert finding.fix.snippet == (
        "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt"
    )


def test_ca301_no_cache_dir_is_a_lesser_finding_and_the_fix_drops_it(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12-alpine
        COPY requirements.txt .
        RUN apk add --no-cache libpq && \\
            pip install --no-cache-dir \\
                -r requirements.txt
        """,
        **{"requirements.txt": REQS},
    )
    finding = only(report, "CA301")
    assert finding.location.line == 4
    assert finding.weight == 0.5
    assert "keeps the image lean" in finding.message
    assert finding.fix is not None
    assert finding.fix.snippet == dedent(
        """\
        RUN --mount=type=cache,target=/root/.cache/pip \\
            apk add --no-cache libpq && \\
            pip install \\
                -r requirements.txt"""
    )


def test_ca301_install_line_inside_a_multi_line_script(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM node:20
        WORKDIR /app
        COPY package.json ./
        RUN set -eux; \\
            corepack enable; \\
            yarn install
        """,
        **{"package.json": "{}\n"},
    )
    finding = only(report, "CA301")
    assert (finding.location.line, finding.location.column) == (6, 5)
    assert finding.fix is not None
    # yarn classic as root caches under /usr/local/share, not /root (RULES.md trap).
    assert "--mount=type=cache,target=/usr/local/share/.cache/yarn" in finding.fix.snippet


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            "uv sync --locked",
            "ENV UV_LINK_MODE=copy\nRUN --mount=type=cache,target=/root/.cache/uv",
        ),
        ("npm ci", "RUN --mount=type=cache,target=/root/.npm npm ci"),
        ("poetry install --no-root", "RUN --mount=type=cache,target=/root/.cache/pypoetry"),
        ("pdm sync --prod", "RUN --mount=type=cache,target=/root/.cache/pdm"),
        ("pipenv sync", "RUN --mount=type=cache,target=/root/.cache/pip pipenv sync"),
        ("pnpm install --frozen-lockfile", "--mount=type=cache,id=pnpm,target=/root/.local/share"),
    ],
)
def test_ca301_mount_target_per_tool(make_repo: MakeRepo, run: str, expected: str) -> None:
    report = audit(make_repo, f"FROM base:1\nWORKDIR /app\nRUN {run}\n")
    finding = only(report, "CA301")
    assert finding.fix is not None
    assert expected in finding.fix.snippet


def test_ca301_respects_env_moved_caches(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM node:20
        ENV PNPM_HOME=/pnpm XDG_CACHE_HOME=/cache
        RUN pnpm install --frozen-lockfile
        RUN pip install requests
        """,
    )
    snippets = {f.subject: f.fix.snippet for f in rule(report, "CA301") if f.fix}
    assert "id=pnpm,target=/pnpm/store" in snippets["stage #0 / RUN #1 / pnpm"]
    assert "target=/cache/pip" in snippets["stage #0 / RUN #2 / pip"]


def test_ca301_not_for_bootstraps_local_wheels_or_dependency_free_projects(
    make_repo: MakeRepo,
) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        COPY --from=build /wheels /wheels
        RUN pip install --upgrade pip setuptools wheel
        RUN pip install --no-cache-dir /wheels/*.whl
        COPY . /src
        RUN pip install /src
        RUN pip install --no-deps -e /src
        RUN apk add --no-cache git
        """,
        **{"pyproject.toml": '[project]\nname = "tool"\nversion = "1"\ndependencies = []\n'},
    )
    assert docker_rules(report) == []


def test_ca301_project_install_with_dependencies_counts(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        "FROM python:3.12\nWORKDIR /src\nCOPY pyproject.toml .\nRUN pip install .\n",
        **{"pyproject.toml": '[project]\nname = "a"\nversion = "1"\ndependencies = ["httpx"]\n'},
    )
    assert [f.location.line for f in rule(report, "CA301")] == [4]


# --- CA302 -------------------------------------------------------------------------------------


def test_ca302_arg_in_stage_and_inline_env(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12 AS base
        ARG PIP_NO_CACHE_DIR=1
        RUN --mount=type=cache,target=/root/.cache/pip pip install flask

        FROM python:3.12
        RUN --mount=type=cache,target=/root/.cache/pip pip install flask
        RUN --mount=type=cache,target=/root/.cache/pip PIP_NO_CACHE_DIR=0 pip install flask
        """,
    )
    found = rule(report, "CA302")
    # The ARG is scoped to stage base; the second stage only fails where set inline (any value).
    assert [f.location.line for f in found] == [3, 7]
    assert "ARG at line 2" in found[0].message
    assert found[0].fix is not None and found[0].fix.snippet == ""  # delete the ARG line
    assert found[1].fix is not None
    assert found[1].fix.snippet == (
        "RUN --mount=type=cache,target=/root/.cache/pip pip install flask"
    )


def test_ca302_global_arg_applies_only_when_redeclared(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        ARG PIP_NO_CACHE_DIR=1
        FROM python:3.12 AS a
        RUN --mount=type=cache,target=/root/.cache/pip pip install flask
        FROM python:3.12 AS b
        ARG PIP_NO_CACHE_DIR
        RUN --mount=type=cache,target=/root/.cache/pip pip install flask
        """,
    )
    assert [f.location.line for f in rule(report, "CA302")] == [6]


def test_ca302_env_inherited_by_child_stage_fix_rewrites_the_env(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12 AS base
        ENV PYTHONUNBUFFERED=1 \\
            PIP_NO_CACHE_DIR=off
        FROM base AS deps
        RUN --mount=type=cache,target=/root/.cache/pip pip install flask
        """,
    )
    finding = only(report, "CA302")
    assert finding.location.line == 5
    assert "ENV at line 3 in stage base" in finding.message
    assert finding.fix is not None and finding.fix.snippet == "ENV PYTHONUNBUFFERED=1"


def test_ca302_uv_no_cache_and_deleting_the_mounted_cache(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        ENV UV_LINK_MODE=copy
        RUN --mount=type=cache,target=/root/.cache/uv uv pip install --system --no-cache flask
        RUN --mount=type=cache,target=/root/.cache/pypoetry \\
            poetry install --no-root \\
            && rm -rf /root/.cache/pypoetry/*
        """,
    )
    found = rule(report, "CA302")
    assert [f.location.line for f in found] == [3, 5]
    assert "`--no-cache`" in found[0].message
    assert "`rm -rf /root/.cache/pypoetry/*` (line 6) empties it" in found[1].message
    assert found[1].fix is not None
    assert found[1].fix.snippet == dedent(
        """\
        RUN --mount=type=cache,target=/root/.cache/pypoetry \\
            poetry install --no-root"""
    )
    assert rule(report, "CA301") == []


def test_ca302_not_without_a_mount_and_not_for_other_tools(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        ENV PIP_NO_CACHE_DIR=1
        RUN --mount=type=cache,target=/root/.npm npm ci
        RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked
        """,
    )
    assert rule(report, "CA302") == []


# --- CA303 -------------------------------------------------------------------------------------


def test_ca303_points_at_the_copy_and_reorders_the_block(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        WORKDIR /app
        COPY . /app/
        RUN --mount=type=cache,target=/root/.cache/uv \\
            uv sync --locked
        """,
        **{"pyproject.toml": "[project]\nname='a'\nversion='1'\n", "uv.lock": "version = 1\n"},
    )
    finding = only(report, "CA303")
    assert finding.location.line == 3
    assert "`COPY . /app/` (line 3)" in finding.message and "(line 5)" in finding.message
    assert finding.subject == "stage #0 / COPY #1"
    assert finding.fix is not None
    assert finding.fix.snippet == dedent(
        """\
        COPY pyproject.toml uv.lock ./
        RUN --mount=type=cache,target=/root/.cache/uv \\
            uv sync --locked --no-install-project
        COPY . /app/
        RUN --mount=type=cache,target=/root/.cache/uv \\
            uv sync --locked"""
    )
    # the copy is deleted and the RUN replaced by the block
    assert [(e.start_line, e.end_line) for e in finding.fix.line_edits] == [(3, 3), (4, 5)]


def test_ca303_in_a_child_stage_and_not_for_two_step_installs(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12 AS src
        WORKDIR /app
        ADD . .
        FROM src AS deps
        RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
        FROM python:3.12 AS ok
        COPY requirements.txt .
        RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
        COPY . .
        RUN pip install --no-deps .
        COPY --from=deps /app /app
        RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
        """,
        **{"requirements.txt": REQS},
    )
    finding = only(report, "CA303")
    assert finding.location.line == 3
    assert "in stage deps" in finding.message


def test_ca303_a_deps_first_install_of_another_kind_does_not_excuse(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        RUN --mount=type=cache,target=/root/.cache/pip pip install gunicorn
        COPY . .
        RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
        """,
        **{"requirements.txt": REQS},
    )
    assert [f.location.line for f in rule(report, "CA303")] == [3]


def test_ca303_dockerignore_allowlist_of_manifests(make_repo: MakeRepo) -> None:
    dockerfile = """
        FROM node:20
        WORKDIR /app
        COPY . .
        RUN --mount=type=cache,target=/root/.npm npm ci
        """
    files = {"package.json": "{}\n", "package-lock.json": "{}\n", "index.js": "x\n"}
    manifests_only = audit(
        make_repo, dockerfile, **files, **{".dockerignore": "**\n!package*.json\n"}
    )
    assert rule(manifests_only, "CA303") == []


def test_ca303_dockerignore_that_lets_source_through(make_repo: MakeRepo) -> None:
    files = {"package.json": "{}\n", "package-lock.json": "{}\n", "src__index.js": "x\n"}
    report = audit(
        make_repo,
        "FROM node:20\nCOPY . .\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
        **files,
        **{".dockerignore": "*\n!package*.json\n!src\n"},
    )
    assert [f.location.line for f in rule(report, "CA303")] == [2]


# --- CA304 -------------------------------------------------------------------------------------


def test_ca304_mount_not_writable_by_the_user(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        RUN useradd --create-home --home-dir /srv/app --uid 4242 app
        USER app
        RUN --mount=type=cache,target=/srv/app/.cache/pip pip install --user flask
        RUN --mount=type=cache,target=/srv/app/.cache/pip,uid=4242 pip install --user httpx
        """,
    )
    finding = only(report, "CA304")
    assert finding.location.line == 4
    assert "owned by root" in finding.message and "user app" in finding.message
    assert finding.fix is not None
    assert finding.fix.snippet == (
        "RUN --mount=type=cache,target=/srv/app/.cache/pip,uid=4242,gid=4242 "
        "pip install --user flask"
    )


def test_ca304_home_and_tilde_are_not_expanded_in_mount_targets(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        WORKDIR /app
        RUN --mount=type=cache,target=$HOME/.cache/pip pip install flask
        RUN --mount=type=cache,target=~/.cache/pip pip install flask
        ENV HOME=/root
        RUN --mount=type=cache,target=$HOME/.cache/pip pip install flask
        """,
    )
    found = rule(report, "CA304")
    assert [f.location.line for f in found] == [3, 4]
    assert "targets /.cache/pip" in found[0].message
    assert "targets /app/~/.cache/pip" in found[1].message


def test_ca304_cache_dir_moved_by_env(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        ENV UV_CACHE_DIR=/opt/uv-cache UV_LINK_MODE=copy
        RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked
        RUN --mount=type=cache,target=/opt/uv-cache uv sync --locked
        """,
    )
    finding = only(report, "CA304")
    assert finding.location.line == 3
    assert "/opt/uv-cache (UV_CACHE_DIR (ENV at line 2))" in finding.message
    assert finding.fix is not None
    assert finding.fix.snippet == "RUN --mount=type=cache,target=/opt/uv-cache uv sync --locked"


def test_unknown_mount_variable_is_not_judged(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        "FROM base:1\nRUN --mount=type=cache,target=$CACHE_ROOT/pip pip install flask\n",
    )
    assert rule(report, "CA301") == [] and rule(report, "CA304") == []


# --- CA305 / CA306 / CA308 ---------------------------------------------------------------------


def test_ca305_only_where_lists_reach_the_shipped_image(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM debian:12 AS build
        RUN apt-get update && apt-get install -y gcc
        FROM debian:12 AS base
        RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists
        RUN apt-get update && apt-get install -y jq && apt-get clean
        RUN apt-get update && apt-get install -y git && apt-get dist-clean
        RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y make
        # hadolint ignore=DL3009
        RUN apt-get update && apt-get install -y vim
        FROM build AS tools
        RUN apt-get update && apt-get install -y zip
        FROM base
        COPY --from=tools /usr/bin/zip /usr/bin/zip
        """,
    )
    # `build` and `tools` are only copied from: never shipped (DL3009's exemption); `clean`
    # keeps the lists; dist-clean, rm and a cache mount on the lists do not.
    assert [f.location.line for f in rule(report, "CA305")] == [5]
    finding = only(report, "CA305")
    assert "stage base" in finding.message and "shipped" in finding.message
    assert finding.fix is not None and finding.fix.line_edits
    assert finding.fix.snippet == (
        "RUN apt-get update && apt-get install -y jq && apt-get clean "
        "&& rm -rf /var/lib/apt/lists/*"
    )


def test_ca305_not_in_a_dev_container(make_repo: MakeRepo) -> None:
    dockerfile = "FROM debian:12\nRUN apt-get update && apt-get install -y git\n"
    report = run_audit(make_repo({".devcontainer/Dockerfile": dockerfile}))
    assert rule(report, "CA305") == [] and len(rule(report, "CA308")) == 1


def test_ca305_fix_in_a_multi_line_run_and_a_heredoc(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM debian:12 AS one
        RUN apt-get update \\
            && apt-get install -y curl
        FROM one
        RUN <<EOF
        apt-get update
        apt-get install -y git
        EOF
        """,
    )
    fixes = {f.location.line: f.fix.snippet for f in rule(report, "CA305") if f.fix}
    assert fixes == {
        3: "RUN apt-get update \\\n    && apt-get install -y curl \\\n"
        "    && rm -rf /var/lib/apt/lists/*",
        7: "RUN <<EOF\napt-get update\napt-get install -y git\nrm -rf /var/lib/apt/lists/*\nEOF",
    }


def test_ca308_fix_is_the_recipe_with_update_and_without_cleanup(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM debian:12
        RUN apt-get install -y --no-install-recommends curl \\
            && apt-get clean \\
            && rm -rf /var/lib/apt/lists/*
        """,
    )
    finding = only(report, "CA308")
    assert rule(report, "CA305") == []
    assert finding.fix is not None
    keep = (
        "RUN rm -f /etc/apt/apt.conf.d/docker-clean; echo 'Binary::apt::APT::"
        'Keep-Downloaded-Packages "true";\' > /etc/apt/apt.conf.d/keep-cache\n'
    )
    assert finding.fix.snippet == keep + dedent(
        """\
        RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
            --mount=type=cache,target=/var/lib/apt,sharing=locked \\
            apt-get update && apt-get install -y --no-install-recommends curl"""
    )
    assert [(e.start_line, e.end_line) for e in finding.fix.line_edits] == [(2, 4)]


def test_ca308_mounts_without_removing_docker_clean(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM ubuntu:24.04
        RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
            --mount=type=cache,target=/var/lib/apt,sharing=locked \\
            apt-get update && apt-get install -y git
        """,
    )
    finding = only(report, "CA308")
    assert finding.weight == 0.5 and "docker-clean" in finding.message
    assert finding.fix is not None and finding.fix.snippet.startswith("RUN rm -f /etc/apt/")
    (site,) = sites(report)
    assert site.cache_state.value == "broken" and "docker-clean" in site.cache_reason


def test_ca308_names_the_missing_mount(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM debian:12
        RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \\
            apt-get update && apt-get install -y git
        """,
    )
    finding = only(report, "CA308")
    assert "no cache mount on /var/cache/apt:" in finding.message
    assert finding.fix is not None
    assert "--mount=type=cache,target=/var/lib/apt/lists" not in finding.fix.snippet
    assert finding.fix.snippet.count("--mount=type=cache") == 2


def test_ca306_only_for_an_update_of_its_own(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM debian:12
        RUN apt-get update
        RUN apt-get update && apt-get -y upgrade && rm -rf /var/lib/apt/lists/*
        RUN apt-get install -y curl
        """,
    )
    finding = only(report, "CA306")
    assert finding.location.line == 2
    assert finding.fix is not None
    # the merged RUN now fetches the lists in a shipped stage: it removes them too (CA305)
    assert finding.fix.snippet == (
        "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*"
    )
    assert [(e.start_line, e.end_line, e.text) for e in finding.fix.line_edits] == [
        (2, 2, ""),
        (4, 4, finding.fix.snippet),
    ]


# --- CA307 -------------------------------------------------------------------------------------


def test_ca307_only_when_a_lock_exists_and_nothing_is_named(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM node:20
        WORKDIR /srv
        COPY package.json package-lock.json ./
        RUN --mount=type=cache,target=/root/.npm npm i --no-audit
        RUN --mount=type=cache,target=/root/.npm npm install -g pnpm
        RUN --mount=type=cache,target=/root/.npm npm install left-pad
        """,
        **{"package.json": "{}\n", "package-lock.json": "{}\n"},
    )
    finding = only(report, "CA307")
    assert finding.location.line == 4
    assert finding.fix is not None
    assert finding.fix.snippet == "RUN --mount=type=cache,target=/root/.npm npm ci --no-audit"


def test_ca307_not_without_a_lock(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        "FROM node:20\nCOPY package.json .\nRUN npm install\n",
        **{"package.json": "{}\n"},
    )
    assert rule(report, "CA307") == []


# --- CA504 and the build context ---------------------------------------------------------------


def test_context_is_the_directory_where_copy_sources_exist(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "services/api/Dockerfile": dedent(
                """\
                FROM python:3.12
                COPY services/api/requirements.txt /tmp/
                RUN --mount=type=cache,target=/root/.cache/pip pip install -r /tmp/requirements.txt
                COPY constraints.txt .
                """
            ),
            "services/api/requirements.txt": REQS,
        }
    )
    report = run_audit(repo)
    finding = only(report, "CA504")
    loc = finding.location
    assert (loc.path, loc.line, loc.column) == ("services/api/Dockerfile", 4, 6)
    assert "services/api/, services/, the repository root" in finding.message
    [site] = sites(report)
    assert site.inputs == ("services/api/requirements.txt",)


def test_ca504_bind_mount_source_and_a_suggested_path(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        RUN --mount=type=cache,target=/root/.cache/uv \\
            --mount=type=bind,source=uv.lock,target=uv.lock \\
            --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
            uv sync --locked
        COPY requirements-prod.txt .
        """,
        **{"backend__requirements-prod.txt": REQS, "pyproject.toml": "[project]\nname='a'\n"},
    )
    found = rule(report, "CA504")
    assert [f.location.line for f in found] == [3, 6]
    assert "bind mount source uv.lock" in found[0].message
    assert found[1].fix is not None
    assert found[1].fix.snippet == "COPY backend/requirements-prod.txt ."


def test_ca504_not_for_globs_other_stages_or_non_dependency_files(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        COPY requirements*.txt ./
        COPY --from=builder /app/requirements.txt .
        COPY dist/app.whl /tmp/
        COPY ${REQS_FILE} .
        """,
    )
    assert rule(report, "CA504") == []


# --- install sites, notices --------------------------------------------------------------------


def test_install_sites_map_image_paths_back_to_the_repository(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12 AS base
        WORKDIR /srv/app
        COPY requirements/ ./reqs/
        RUN --mount=type=cache,target=/root/.cache/pip pip install -r reqs/prod.txt
        FROM base
        RUN cd /srv/app/reqs && pip install --no-cache-dir -r dev.txt
        """,
        **{"requirements__prod.txt": REQS, "requirements__dev.txt": "-r prod.txt\npytest==8\n"},
    )
    found = {s.location.line: s for s in sites(report)}
    assert found[4].inputs == ("requirements/prod.txt",)
    assert found[4].cached is True
    assert found[4].context == "Dockerfile / stage base / RUN #1"
    assert found[6].inputs == ("requirements/dev.txt",)
    assert found[6].cached is False
    assert found[6].tool == "pip" and found[6].command == "pip install --no-cache-dir -r dev.txt"


def test_apt_and_apk_installs_are_recorded(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM alpine:3.20
        RUN --mount=type=cache,target=/var/cache/apk apk add git
        FROM debian:12
        RUN apt-get update && apt-get install -y git
        """,
    )
    assert [(s.tool, s.cached) for s in sites(report)] == [("apk", True), ("apt", False)]


def test_unterminated_heredoc_is_ca001_and_earlier_instructions_are_audited(
    make_repo: MakeRepo,
) -> None:
    report = audit(make_repo, "FROM python:3.12\nRUN pip install flask\nRUN <<EOF\npip install x\n")
    assert docker_rules(report) == [("CA001", 3), ("CA301", 2), ("CA301", 4)]


def test_text_without_instructions_yields_nothing(make_repo: MakeRepo) -> None:
    report = audit(make_repo, "{{ template }}\n")
    assert [(f.rule_id, f.location.line) for f in report.notices] == [("CA001", 1)]
    assert docker_rules(report) == [("CA001", 1)]


@pytest.mark.parametrize("name", ["Containerfile", "deploy/api.Dockerfile", "Dockerfile.prod"])
def test_every_dockerfile_name_is_audited(make_repo: MakeRepo, name: str) -> None:
    report = run_audit(make_repo({name: "FROM python:3.12\nRUN pip install flask\n"}))
    assert [(f.rule_id, f.location.path) for f in rule(report, "CA301")] == [("CA301", name)]


# --- fixes as edits ----------------------------------------------------------------------------

DOCKER_CASES = sorted(p.parent for p in (FIXTURES / "docker").glob("*/expected.txt"))


def _counts(report: Report) -> Counter[str]:
    return Counter(f.rule_id for f in (*report.findings, *report.notices))


def _edited(report: Report) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.rule_id.startswith("CA3") and f.fix is not None and f.fix.line_edits
    ]


@pytest.mark.parametrize("case", DOCKER_CASES, ids=[c.name for c in DOCKER_CASES])
def test_every_fix_edit_resolves_its_finding_and_raises_no_other(
    case: Path, tmp_path: Path
) -> None:
    """Apply each CA3xx fix that is an edit to a copy of the fixture and audit again: the finding
    is gone, no rule fires more often than before, and the Dockerfile still parses."""
    report = run_audit(case)
    before = _counts(report)
    for number, finding in enumerate(_edited(report)):
        root = tmp_path / str(number)
        shutil.copytree(case, root)
        target = root / finding.location.path
        assert finding.fix is not None
        edited = apply_edits(target.read_text(encoding="utf-8"), finding.fix.line_edits)
        target.write_text(edited, encoding="utf-8")
        assert parse(edited).problems == parse((case / finding.location.path).read_text()).problems
        after = _counts(run_audit(root))
        allowed = before - Counter({finding.rule_id: 1})
        grown = {r: (before[r], n) for r, n in after.items() if n > allowed[r]}
        assert grown == {}, (finding.rule_id, finding.location.line, edited)


def test_the_fixtures_exercise_an_edit_for_every_docker_rule() -> None:
    rules: set[str] = set()
    for case in DOCKER_CASES:
        rules |= {f.rule_id for f in _edited(run_audit(case))}
    assert rules >= {"CA301", "CA302", "CA303", "CA304", "CA305", "CA306", "CA307", "CA308"}


# --- the install map ---------------------------------------------------------------------------


def _states(report: Report) -> list[tuple[int, str, str, str]]:
    return [(s.location.line, s.tool, s.cache_state.value, s.cache_reason) for s in sites(report)]


def test_every_install_site_carries_its_true_cache_state(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12 AS base
        ENV PIP_NO_CACHE_DIR=1
        RUN pip install --no-cache-dir flask==3.0.3
        RUN --mount=type=cache,target=/root/.cache/pip pip install httpx==0.27.0
        FROM python:3.12
        RUN --mount=type=cache,target=/root/.cache/pip pip install flask==3.0.3
        RUN --mount=type=cache,target=/root/.cache/pip pip install rich==13.7.1 \\
            && rm -rf /root/.cache/pip
        RUN --mount=type=cache,target=/tmp/uv uv pip install --system rich==13.7.1
        RUN --mount=type=cache,target=$CACHES/pip pip install attrs==23.2.0
        RUN apk add --no-cache git
        RUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt \\
            apt-get update && apt-get install -y git
        """,
    )
    assert _states(report) == [
        (3, "pip", "missing", "no cache mount; `--no-cache-dir` (line 3) keeps the image lean"),
        (4, "pip", "broken", "`PIP_NO_CACHE_DIR` (ENV at line 2) turns the mounted cache off"),
        (6, "pip", "effective", "cache mount on /root/.cache/pip"),
        (7, "pip", "broken", "`rm -rf /root/.cache/pip` empties the mounted cache"),
        (9, "uv", "broken", "the cache mount targets /tmp/uv, but uv writes to /root/.cache/uv"),
        (
            10,
            "pip",
            "unknown",
            "a cache mount or pip's cache directory (default for root) "
            "depends on a variable set outside the Dockerfile",
        ),
        (11, "apk", "missing", "apk --no-cache: lean, downloads on every build"),
        (
            13,
            "apt",
            "broken",
            "/etc/apt/apt.conf.d/docker-clean deletes the downloaded packages "
            "from the /var/cache/apt mount",
        ),
    ]
    assert all(s.runs_per_pipeline == 1 for s in sites(report))


def test_a_non_root_user_needs_a_mount_it_can_write(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        RUN groupadd -g 2000 team && useradd -m -u 1500 -g 2000 app
        USER app
        RUN --mount=type=cache,target=/home/app/.cache/pip pip install flask==3.0.3
        RUN --mount=type=cache,target=/home/app/.cache/pip,uid=1500 pip install httpx==0.27.0
        RUN --mount=type=cache,target=/home/app/.cache/pip,gid=2000 pip install rich==13.7.1
        RUN --mount=type=cache,target=/home/app/.cache/pip,gid=2000,mode=0770 pip install attrs
        RUN --mount=type=cache,target=/home/app/.cache/pip,mode=1777 pip install click==8.1.7
        """,
    )
    states = {line: state for line, _, state, _ in _states(report)}
    # gid=2000 alone keeps mode 0755: the group cannot write
    assert states == {4: "broken", 5: "effective", 6: "broken", 7: "effective", 8: "effective"}
    assert [f.location.line for f in rule(report, "CA304")] == [4, 6]
    fix = rule(report, "CA304")[0].fix
    assert fix is not None and "uid=1500,gid=2000" in fix.snippet and fix.line_edits


def test_the_uv_fix_sets_the_link_mode(make_repo: MakeRepo) -> None:
    report = audit(make_repo, "FROM python:3.12\nRUN uv pip install --system flask==3.0.3\n")
    fix = only(report, "CA301").fix
    assert fix is not None
    assert fix.snippet.startswith("ENV UV_LINK_MODE=copy\nRUN --mount=type=cache,target=/root/")


def test_tool_bootstraps_and_project_steps_are_not_downloads(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        RUN pip install --no-cache-dir poetry==1.8.3 poetry-plugin-export
        RUN npm install -g @go-task/cli
        WORKDIR /app
        COPY requirements.txt .
        RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
        COPY . .
        RUN pip install --no-cache-dir -e .
        RUN --mount=type=bind,from=wheels,target=/wheels pip install /wheels/*
        """,
        **{"requirements.txt": REQS, "setup.py": "from setuptools import setup\nsetup()\n"},
    )
    assert [s.location.line for s in sites(report)] == [6]
    assert docker_rules(report) == []


# --- templates and flags -----------------------------------------------------------------------


def test_template_lines_are_comments_and_values_unknown_words() -> None:
    text = dedent(
        """\
        {% if cookiecutter.docker == "y" -%}
        FROM python:{{ cookiecutter.python_version }}-slim
        RUN pip install -r {{ cookiecutter.requirements }} \\
        {%- if cookiecutter.celery %}
            && pip install celery \\
        {%- endif %}
            && echo ok
        {% endif %}
        HEALTHCHECK CMD docker inspect --format '{{.State.Health}}' app
        """
    )
    parsed = parse(text)
    assert parsed.problems == () and parsed.template
    assert [(i.keyword, i.line, i.end_line) for i in parsed.instructions] == [
        ("FROM", 2, 2),
        ("RUN", 3, 7),
        ("HEALTHCHECK", 9, 9),
    ]
    run = parsed.instructions[1]
    assert "{{ cookiecutter.requirements }}" in run.text  # the text stays as written
    assert "-r ${" in run.args and "cookiecutter" not in run.args
    assert expand("python:${___}-slim", {}) is None
    assert "{{.State.Health}}" in parsed.instructions[2].args  # a Go template is not Jinja


def test_mount_flags_lose_their_quotes_but_keep_their_text() -> None:
    parsed = parse('FROM x\nRUN --mount=type=cache,target="$POETRY_CACHE_DIR" poetry install\n')
    (mount,) = parsed.instructions[1].mounts
    assert mount.target == "$POETRY_CACHE_DIR"
    assert mount.text == 'type=cache,target="$POETRY_CACHE_DIR"'


# --- CA303 fixes that stay advice --------------------------------------------------------------


@pytest.mark.parametrize(
    ("dockerfile", "files", "why"),
    [
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n",
            {"setup.py": "from setuptools import setup\nsetup(install_requires=['flask'])\n"},
            "builds the project itself",
        ),
        (
            "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            {
                "package.json": '{"name": "a", "workspaces": ["packages/*"]}',
                "package-lock.json": "{}",
            },
            "workspace",
        ),
        (
            "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            {
                "package.json": '{"name": "a", "scripts": {"postinstall": "node tools/x.js"}}',
                "package-lock.json": "{}",
            },
            "install scripts",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN ./configure.sh\n"
            "RUN pip install -r requirements.txt\n",
            {"requirements.txt": REQS, "configure.sh": "true\n"},
            "the RUN at line 4 sits between",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\n"
            "RUN pip install -r requirements.txt && python manage.py collectstatic\n",
            {"requirements.txt": REQS, "manage.py": "print()\n"},
            "runs more than the install",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
            {"requirements.txt": "-e ./libs/core\nflask==3.0.3\n", "libs/core/setup.py": "x"},
            "installs a local path",
        ),
    ],
)
def test_ca303_fix_is_advice_when_it_cannot_be_computed_safely(
    make_repo: MakeRepo, dockerfile: str, files: dict[str, str], why: str
) -> None:
    report = run_audit(make_repo({"Dockerfile": dockerfile, **files}))
    fix = only(report, "CA303").fix
    assert fix is not None and fix.line_edits == ()
    assert fix.description.startswith("Advice, not applied") and why in fix.description


def test_ca303_fix_copies_requirements_includes_and_moves_the_copy_past_workdir(
    make_repo: MakeRepo,
) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        COPY . /srv/app
        WORKDIR /srv/app/api
        ENV PYTHONUNBUFFERED=1
        RUN pip install -r requirements/prod.txt
        """,
        **{
            "api__requirements__prod.txt": "-r base.txt\n-c ../constraints.txt\ngunicorn\n",
            "api__requirements__base.txt": "flask\n",
            "api__constraints.txt": "flask==3.0.3\n",
            "api__app.py": "print()\n",
        },
    )
    fix = only(report, "CA303").fix
    assert fix is not None and fix.line_edits
    assert fix.snippet == dedent(
        """\
        COPY api/requirements/prod.txt api/requirements/base.txt requirements/
        COPY api/constraints.txt ./
        RUN pip install -r requirements/prod.txt
        COPY . /srv/app"""
    )


def test_inputs_skip_stdin_and_include_the_pyproject_of_a_group(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM python:3.12
        WORKDIR /app
        COPY pyproject.toml .
        RUN --mount=type=cache,target=/root/.cache/pip pip install --group docker
        RUN --mount=type=cache,target=/root/.cache/uv uv export | uv pip install --system -r -
        """,
        **{"pyproject.toml": "[dependency-groups]\ndocker = ['gunicorn==22.0.0']\n"},
    )
    assert [(s.location.line, s.inputs) for s in sites(report)] == [
        (4, ("pyproject.toml",)),
        (5, ()),
    ]


# --- fixes that reach a follow-up install ------------------------------------------------------


def test_ca301_fix_for_pnpm_fetch_mounts_the_store_on_the_offline_install_too(
    make_repo: MakeRepo,
) -> None:
    """One finding (the fetch), two edits: the offline install in a child stage reads the store
    the fetch fills, which the mount moves out of the layer."""
    report = audit(
        make_repo,
        """
        FROM node:20-slim AS deps
        WORKDIR /app
        COPY pnpm-lock.yaml ./
        RUN pnpm fetch
        FROM deps AS build
        COPY . .
        RUN pnpm install --offline && pnpm run build
        """,
        **{"pnpm-lock.yaml": "lockfileVersion: '9.0'\n", "package.json": "{}\n", "a.js": ""},
    )
    finding = only(report, "CA301")
    assert finding.location.line == 4
    assert finding.fix is not None
    mount = "--mount=type=cache,id=pnpm,target=/root/.local/share/pnpm/store"
    assert [(e.start_line, e.text.count(mount)) for e in finding.fix.line_edits] == [(4, 1), (7, 1)]
    assert "RUN at line 7" in finding.fix.description


def test_ca301_fix_leaves_a_follow_up_that_already_mounts_the_cache(make_repo: MakeRepo) -> None:
    report = audit(
        make_repo,
        """
        FROM node:20-slim
        WORKDIR /app
        COPY pnpm-lock.yaml ./
        RUN pnpm fetch
        COPY . .
        RUN --mount=type=cache,id=pnpm,target=/root/.local/share/pnpm/store pnpm install --offline
        """,
        **{"pnpm-lock.yaml": "lockfileVersion: '9.0'\n", "package.json": "{}\n", "a.js": ""},
    )
    finding = only(report, "CA301")
    assert finding.fix is not None
    assert [e.start_line for e in finding.fix.line_edits] == [4]


# --- CA308: docker-clean turned off once per stage chain ---------------------------------------


def _fixed_text(root: Path, name: str = "Dockerfile") -> str:
    from cacheaudit.config import build_config
    from cacheaudit.fix.engine import run

    outcome = run(build_config(root), unsafe=True)
    return outcome.changes[name][1].decode("utf-8")


def test_ca308_fixes_turn_docker_clean_off_once_before_the_first_apt_run(
    make_repo: MakeRepo,
) -> None:
    """Two apt RUNs in a stage and one in a stage built FROM it: each fix carries the same edit
    before the first apt RUN, so the keep-cache RUN lands once."""
    root = make_repo(
        {
            "Dockerfile": dedent(
                """\
                FROM debian:bookworm AS base
                RUN apt-get update && apt-get install -y curl
                RUN apt-get update && apt-get install -y git
                FROM base AS dev
                RUN apt-get update && apt-get install -y vim
                """
            )
        }
    )
    report = run_audit(root)
    fixes = [f.fix for f in rule(report, "CA308") if f.fix is not None]
    assert len(fixes) == 3
    keep = [e for fix in fixes for e in fix.line_edits if "docker-clean" in e.text]
    assert {(e.start_line, e.end_line) for e in keep} == {(2, 2)}
    text = _fixed_text(root)
    assert text.count("docker-clean") == 1
    assert text.index("docker-clean") < text.index("apt-get install -y curl")


def test_ca308_fix_adds_no_keep_cache_run_where_the_base_stage_has_one(
    make_repo: MakeRepo,
) -> None:
    root = make_repo(
        {
            "Dockerfile": dedent(
                """\
                FROM debian:bookworm AS base
                RUN rm -f /etc/apt/apt.conf.d/docker-clean
                FROM base AS dev
                RUN apt-get update && apt-get install -y vim
                """
            )
        }
    )
    finding = only(run_audit(root), "CA308")
    assert finding.fix is not None
    assert all("docker-clean" not in e.text for e in finding.fix.line_edits)
    assert _fixed_text(root).count("docker-clean") == 1


# --- CA305: stages CI builds with --target are shipped -----------------------------------------

_TARGETED = """\
FROM debian:bookworm-slim AS base
RUN apt-get update && apt-get install -y curl
FROM base AS pr-test
RUN apt-get update && apt-get install -y git
FROM base AS release
CMD ["bash"]
"""


def _ca305_stages(report: Report) -> list[str]:
    return sorted(f.subject.split(" / ")[0] for f in rule(report, "CA305"))


def test_ca305_follows_a_node_run_package_script_that_builds_a_target(make_repo: MakeRepo) -> None:
    """uptime-kuma: the workflow runs `node --run build-docker-pr-test`, whose package.json
    script builds `--target pr-test2` of docker/dockerfile and pushes it."""
    script = "docker buildx build -f docker/Dockerfile -t acme/app:pr --target pr-test . --push"
    workflow = "on: workflow_dispatch\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
    workflow += "      - run: node --run build-pr\n"
    root = make_repo(
        {
            "docker/Dockerfile": _TARGETED,
            "package.json": json.dumps({"scripts": {"build-pr": script}}),
            ".github/workflows/pr.yml": workflow,
        }
    )
    report = run_audit(root)
    assert _ca305_stages(report) == ["stage base", "stage pr-test"]
    assert "--target in .github/workflows/pr.yml" in rule(report, "CA305")[1].message


def test_ca305_reads_the_target_input_of_build_push_action(make_repo: MakeRepo) -> None:
    action = (
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: docker/build-push-action@v6\n"
        "        with:\n          file: docker/Dockerfile\n          target: pr-test\n"
    )
    report = run_audit(
        make_repo({"docker/Dockerfile": _TARGETED, ".github/workflows/i.yml": action})
    )
    assert _ca305_stages(report) == ["stage base", "stage pr-test"]


def test_ca305_ignores_a_target_built_only_by_a_script_ci_never_runs(make_repo: MakeRepo) -> None:
    local = '{"scripts": {"local": "docker build -f docker/Dockerfile --target pr-test ."}}\n'
    report = run_audit(make_repo({"docker/Dockerfile": _TARGETED, "package.json": local}))
    assert _ca305_stages(report) == ["stage base"]

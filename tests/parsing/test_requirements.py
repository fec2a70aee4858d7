"""pip's requirements file format: lines, options, requirement kinds, headers, includes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cacheaudit.parsing import requirements as reqs
from cacheaudit.repo import RepoContext


def parse(text: str, path: str = "requirements.txt") -> reqs.RequirementsFile:
    return reqs.parse(text, path)


def only(text: str) -> reqs.Requirement:
    parsed = parse(text)
    assert parsed.errors == ()
    assert len(parsed.requirements) == 1
    return parsed.requirements[0]


def ctx_of(files: dict[str, str]) -> RepoContext:
    return RepoContext.from_files(Path("/nonexistent-root"), files)


# --- lines -----------------------------------------------------------------------------------


def test_continuations_join_and_keep_the_first_line_number() -> None:
    parsed = parse(
        "# pinned\n"
        "requests==2.32.3 \\\n"
        "    --hash=sha256:aaa \\\n"
        "    --hash=sha256:bbb\n"
        "    # via app\n"
        "idna==3.10\n"
    )
    first, second = parsed.requirements
    assert (first.line, first.name, first.hashes) == (2, "requests", ("sha256:aaa", "sha256:bbb"))
    assert (second.line, second.name) == (6, "idna")


def test_a_comment_line_ends_a_continuation() -> None:
    # pip: a line ending in "\" followed by a comment line is closed by that comment.
    parsed = parse("flask==3.0.3 \\\n# trailing comment\nclick==8.1.7\n")
    assert [r.name for r in parsed.requirements] == ["flask", "click"]


def test_comments_need_whitespace_before_the_hash() -> None:
    req = only("git+https://github.com/org/lib.git@v1#egg=lib  # our fork\n")
    assert req.name == "lib"
    assert req.url == "git+https://github.com/org/lib.git@v1#egg=lib"


def test_columns_follow_indentation() -> None:
    req = only("   requests>=2\n")
    assert req.column == 4


# --- options ---------------------------------------------------------------------------------


def test_includes_resolve_relative_to_the_including_file() -> None:
    parsed = parse(
        "-r base.txt\n--requirement=../common.txt\n-c constraints/pins.txt\n-rshort.txt\n",
        "requirements/dev.txt",
    )
    got = [(i.constraint, i.target, i.path, i.line) for i in parsed.includes]
    assert got == [
        (False, "base.txt", "requirements/base.txt", 1),
        (False, "../common.txt", "common.txt", 2),
        (True, "constraints/pins.txt", "requirements/constraints/pins.txt", 3),
        (False, "short.txt", "requirements/short.txt", 4),
    ]


def test_includes_that_cannot_be_resolved_have_no_path() -> None:
    parsed = parse(
        "-r https://example.com/reqs.txt\n-r ${REQS_DIR}/base.txt\n-r ../../outside.txt\n",
        "sub/requirements.txt",
    )
    assert [i.path for i in parsed.includes] == [None, None, None]
    assert parsed.errors == ()


def test_option_lines_are_recorded() -> None:
    parsed = parse(
        "--index-url https://pypi.example.com/simple\n"
        "--extra-index-url=https://mirror.example.com/simple\n"
        "--find-links ./wheels\n"
        "--no-binary :all:\n--only-binary=numpy\n--require-hashes\n--pre\n"
    )
    names = [(o.name, o.value) for o in parsed.options]
    assert names == [
        ("--index-url", "https://pypi.example.com/simple"),
        ("--extra-index-url", "https://mirror.example.com/simple"),
        ("--find-links", "./wheels"),
        ("--no-binary", ":all:"),
        ("--only-binary", "numpy"),
        ("--require-hashes", None),
        ("--pre", None),
    ]
    assert parsed.require_hashes


def test_unambiguous_long_option_prefixes_are_accepted() -> None:
    parsed = parse("--constr pins.txt\n--extra-index https://x/simple\n")
    assert parsed.errors == ()
    assert parsed.includes[0].constraint
    assert parsed.options[0].name == "--extra-index-url"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--bogus\n", "no such option: --bogus"),
        ("--req x.txt\n", "ambiguous option: --req"),
        ("-r\n", "-r option requires 1 argument"),
        ("--pre=yes\n", "--pre option does not take a value"),
        ("-x foo\n", "no such option: -x"),
        ("requests==2.0 --hash='unterminated\n", "cannot split options"),
    ],
)
def test_lines_pip_rejects_are_errors_with_their_line(line: str, message: str) -> None:
    parsed = parse("flask==3.0.3\n" + line)
    assert len(parsed.errors) == 1
    assert parsed.errors[0].line == 2
    assert message in parsed.errors[0].message


def test_an_invalid_requirement_is_an_error() -> None:
    parsed = parse("flask==3.0.3\nnot a requirement!!\n")
    assert parsed.errors[0].line == 2
    assert "invalid requirement 'not a requirement!!'" in parsed.errors[0].message


# --- requirement kinds -----------------------------------------------------------------------


def test_names_specifiers_markers_and_extras() -> None:
    req = only('Celery[redis,SQS]>=5.4,<6 ; python_version >= "3.9"\n')
    assert req.name == "celery"
    assert req.extras == ("redis", "sqs")
    assert req.marker == 'python_version >= "3.9"'
    assert req.registry
    assert not req.pinned


@pytest.mark.parametrize(
    ("spec", "pinned"),
    [("==1.2.3", True), ("===1.2.3", True), ("==1.*", False), (">=1,<2", False), ("", False)],
)
def test_pinned_means_exactly_one_version(spec: str, pinned: bool) -> None:
    assert only(f"pkg{spec}\n").pinned is pinned


@pytest.mark.parametrize(
    ("line", "ref", "immutable", "short"),
    [
        ("git+https://github.com/org/lib.git@main#egg=lib", "main", False, False),
        ("lib @ git+https://github.com/org/lib.git@v1.2.0", "v1.2.0", False, False),
        ("lib @ git+https://github.com/org/lib.git@" + "a" * 40, "a" * 40, True, False),
        ("lib @ git+https://github.com/org/lib.git@3f1c2e7", "3f1c2e7", False, True),
        ("lib @ git+https://github.com/org/lib.git", None, False, False),
        ("lib @ git+ssh://git@github.com/org/lib.git@release/2.x", "release/2.x", False, False),
        ("lib @ hg+https://hg.example.com/lib@" + "b" * 40, "b" * 40, False, False),
    ],
)
def test_vcs_refs(line: str, ref: str | None, immutable: bool, short: bool) -> None:
    req = only(line + "\n")
    assert req.vcs is not None
    assert req.name == "lib"
    assert req.vcs.ref == ref
    assert req.vcs.immutable is immutable  # only a full git commit is immutable for pip
    assert req.vcs.short_hash is short
    assert not req.registry


@pytest.mark.parametrize(
    "line",
    [".", "./packages/core", "-e .", "-e ./plugins/x[dev]", "wheels/app-1.0-py3-none-any.whl",
     "dist/app-1.0.tar.gz", "app @ file:///srv/wheels/app-1.0-py3-none-any.whl", ".[test]"],
)  # fmt: skip
def test_local_paths_and_archives(line: str) -> None:
    req = only(line + "\n")
    assert req.local
    assert not req.registry
    assert req.editable is line.startswith("-e")


def test_remote_urls_are_not_registry_requirements() -> None:
    req = only("https://example.com/pkgs/tool-2.0.tar.gz\n")
    assert req.url == "https://example.com/pkgs/tool-2.0.tar.gz"
    assert not req.local
    assert not req.registry


def test_environment_variables_are_not_errors() -> None:
    parsed = parse(
        "requests==${REQUESTS_VERSION}\n"
        "private @ git+https://${GH_TOKEN}@github.com/org/private.git@v2\n"
    )
    assert parsed.errors == ()
    first, second = parsed.requirements
    assert first.variables and first.name == "requests"
    assert second.vcs is not None and second.vcs.ref == "v2"
    assert "${GH_TOKEN}" in second.vcs.url  # the URL as written, for messages
    assert parsed.registry_requirements == ()  # unknowable versions are never judged


# --- headers ---------------------------------------------------------------------------------


def test_pip_compile_header() -> None:
    parsed = parse(
        "#\n# This file is autogenerated by pip-compile with Python 3.12\n"
        "# by the following command:\n#\n"
        "#    pip-compile --output-file=requirements.txt requirements.in\n#\n"
        "flask==3.0.3\n"
    )
    assert parsed.generator == "pip-compile"
    assert parsed.generator_command == "pip-compile --output-file=requirements.txt requirements.in"
    assert parsed.generator_line == 5
    assert parsed.compiled and parsed.fully_pinned


def test_old_pip_compile_header() -> None:
    parsed = parse(
        "#\n# This file is autogenerated by pip-compile\n# To update, run:\n#\n"
        "#    make requirements\n#\nflask==2.0.1\n"
    )
    assert (parsed.generator, parsed.generator_command) == ("pip-compile", "make requirements")


@pytest.mark.parametrize(
    ("command", "generator"),
    [
        ("uv pip compile requirements.in -o requirements.txt", "uv pip compile"),
        ("uv export --frozen --no-dev -o requirements.txt", "uv export"),
    ],
)
def test_uv_headers(command: str, generator: str) -> None:
    parsed = parse(
        f"# This file was autogenerated by uv via the following command:\n#    {command}\n"
        "anyio==4.6.0\n"
    )
    assert (parsed.generator, parsed.generator_command) == (generator, command)


def test_pdm_header_and_hand_written_files() -> None:
    assert parse("# This file is @generated by PDM.\nidna==3.10\n").generator == "pdm export"
    hand = parse("# our pins\nflask==3.0.3\n")
    assert hand.generator is None and not hand.compiled


def test_via_annotations_mark_a_compiled_file_without_header() -> None:
    assert parse("click==8.1.7\n    # via flask\nflask==3.0.3\n").compiled


# --- includes across files -------------------------------------------------------------------


def test_resolve_follows_includes_once_and_separates_constraints() -> None:
    ctx = ctx_of(
        {
            "requirements/dev.txt": "-r test.txt\n-r base.txt\nipython\n",
            "requirements/test.txt": "-r base.txt\n-c constraints.txt\npytest\n",
            "requirements/base.txt": "django==5.0.9\n",
            "requirements/constraints.txt": "pytest==8.3.3\n",
        }
    )
    resolution = reqs.resolve(ctx, ["requirements/dev.txt"])
    assert [f.path for f in resolution.files] == [
        "requirements/dev.txt",
        "requirements/test.txt",
        "requirements/base.txt",
        "requirements/constraints.txt",
    ]
    assert [f.path for f in resolution.constraints] == ["requirements/constraints.txt"]
    assert resolution.missing == () and resolution.cycles == ()


def test_a_file_reached_as_constraint_and_requirement_counts_as_installed() -> None:
    ctx = ctx_of(
        {
            "requirements.txt": "-c constraints.txt\n-r constraints.txt\n",
            "constraints.txt": "x==1\n",
        }
    )
    resolution = reqs.resolve(ctx, ["requirements.txt"])
    assert [f.path for f in resolution.installed] == ["requirements.txt", "constraints.txt"]
    assert resolution.constraints == ()


def test_resolve_reports_missing_includes_and_cycles() -> None:
    ctx = ctx_of(
        {
            "requirements.txt": "-r requirements-base.txt\n-r nowhere.txt\n",
            "requirements-base.txt": "-r requirements.txt\nflask\n",
        }
    )
    resolution = reqs.resolve(ctx, ["requirements.txt"])
    assert [(path, inc.target) for path, inc in resolution.missing] == [
        ("requirements.txt", "nowhere.txt")
    ]
    assert [(path, inc.target) for path, inc in resolution.cycles] == [
        ("requirements-base.txt", "requirements.txt")
    ]


def test_a_cycle_is_reported_in_one_file_only() -> None:
    ctx = ctx_of(
        {
            "reqs/b.txt": "-r a.txt\n",
            "reqs/a.txt": "-r b.txt\n",
            "reqs/self.txt": "-r self.txt\n",
        }
    )
    assert [i.target for i in reqs.cycle_closing_includes(ctx, "reqs/a.txt")] == ["b.txt"]
    assert reqs.cycle_closing_includes(ctx, "reqs/b.txt") == []
    assert [i.target for i in reqs.cycle_closing_includes(ctx, "reqs/self.txt")] == ["self.txt"]


def test_load_parses_each_file_once_per_run() -> None:
    ctx = ctx_of({"requirements.txt": "flask\n"})
    assert reqs.load(ctx, "requirements.txt") is reqs.load(ctx, "requirements.txt")
    assert reqs.load(ctx, "missing.txt") is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab=-r c#\\\n@+:/.;[]${}'\"=<>~ ")), max_size=80))
def test_parse_never_raises(text: str) -> None:
    parsed = parse(text)
    for item in (*parsed.requirements, *parsed.includes, *parsed.errors):
        assert item.line >= 1

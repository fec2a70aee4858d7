"""Property-based tests: no parser or analyzer raises on any input, results are deterministic
(same input, same output) and independent of the order files are analyzed in, and every
location points inside the file it names.

Analyzers are called directly here (not through ``audit``, which would turn an exception into a
CA001 notice), so a crash fails the test with its traceback and its shrunk input.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cacheaudit.analyzers import file_analyzer, repo_analyzer
from cacheaudit.discovery import DEFAULT_MAX_FILE_BYTES, FileKind, SourceFile, classify, discover
from cacheaudit.model import Analysis, Finding, InstallSite
from cacheaudit.parsing import shell
from cacheaudit.parsing.yaml import YamlError, load
from cacheaudit.paths import glob_match, glob_regex, normalize
from cacheaudit.repo import RepoContext
from tests.conftest import run_audit
from tests.hardening import strategies as gen

SCALE = float(os.environ.get("CACHEAUDIT_FUZZ_SCALE", "1"))
"""Multiplies every example budget: ``CACHEAUDIT_FUZZ_SCALE=20 pytest tests/hardening`` hunts
longer than CI can afford."""


def budget(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


FAST = budget(150)
SLOW = budget(60)


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def on_disk(files: dict[str, str]) -> Iterator[Path]:
    """The repository written to a fresh directory (GitLab includes and other unclassified
    files are read from disk through the context, as in a real run)."""
    with tempfile.TemporaryDirectory(prefix="cacheaudit-prop-") as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        yield root


def context(root: Path, order: Iterable[int] | None = None) -> RepoContext:
    """A fresh context (nothing memoised) over what discovery finds, files in ``order``."""
    found = discover(root)
    files = list(found.files)
    if order is not None:
        files = [files[i] for i in order]
    return RepoContext(
        root=root.resolve(),
        files=tuple(files),
        paths=frozenset(found.paths),
        max_file_bytes=DEFAULT_MAX_FILE_BYTES,
    )


def analyze_all(ctx: RepoContext) -> tuple[list[Finding], list[InstallSite], list[Finding]]:
    """What ``audit`` does with the analyzers, but letting exceptions out."""
    findings: list[Finding] = []
    installs: list[InstallSite] = []
    for source in ctx.files:
        analyzer = file_analyzer(source.kind)
        if analyzer is None:
            continue
        result = analyzer.analyze(ctx, source)
        assert isinstance(result, Analysis), f"{source.path}: {type(result)}"
        findings.extend(result.findings)
        installs.extend(result.installs)
    cross = repo_analyzer().analyze_repo(ctx, list(installs))
    findings.extend(cross.findings)
    return findings, installs, list(ctx.notices)


def canonical(items: Iterable[Any]) -> list[str]:
    return sorted(repr(i) for i in items)


def check_locations(ctx: RepoContext, findings: Iterable[Finding]) -> None:
    """Every finding names a file of the repository and a line that exists in it."""
    for finding in findings:
        loc = finding.location
        if loc.path in ("", "."):
            continue
        assert loc.path in ctx.paths or ctx.is_dir(loc.path), f"unknown path: {finding}"
        text = ctx.read_text(loc.path)
        if text is None:
            continue
        last = text.count("\n") + 1
        assert 0 <= loc.line <= last, f"line {loc.line} outside {loc.path} (1..{last}): {finding}"
        if loc.end_line is not None:
            assert loc.line <= loc.end_line <= last, f"end line outside the file: {finding}"
        assert finding.message.strip(), f"empty message: {finding}"


def analyze_one(files: dict[str, str], target: str) -> None:
    """The analyzer of ``target`` never raises, is deterministic and points inside files."""
    kind = classify(target)
    assert kind is not None
    analyzer = file_analyzer(kind)
    if analyzer is None:
        return
    with on_disk(files) as root:
        first, second = context(root), context(root)
        source, again = first.file(target), second.file(target)
        if source is None or again is None:  # undecodable or oversized: discovery's notice
            return
        one = analyzer.analyze(first, source)
        two = analyzer.analyze(second, again)
        assert one == two, f"{target}: two runs differ"
        check_locations(first, one.findings)


# --- parsers ---------------------------------------------------------------------------------


@FAST
@given(st.one_of(st.text(max_size=300), gen.yaml_text(gen.workflow_document())))
def test_yaml_load_raises_only_yaml_error(text: str) -> None:
    try:
        load(text)
    except YamlError as exc:
        assert exc.line >= 0 and exc.column >= 0


@FAST
@given(st.one_of(gen.shell_text(), st.text(max_size=200)), st.integers(1, 5000))
def test_shell_parser_never_raises_and_lines_stay_in_the_text(text: str, start: int) -> None:
    commands = shell.parse_script(text, start_line=start)
    last = start + text.count("\n")
    for command in commands:
        assert start <= command.line <= last, (command, text)
    installs = shell.find_installs(commands)
    for install in installs:
        assert install.tool and install.cache_tool
        assert isinstance(install.downloads_from_registry, bool)
    assert shell.find_installs(shell.parse_script(text, start_line=start)) == installs


@FAST
@given(st.lists(st.one_of(st.sampled_from(gen.SHELL_WORDS), st.text(max_size=10)), max_size=8))
def test_exec_form_never_raises(argv: list[str]) -> None:
    commands = shell.parse_exec_form(argv, line=7)
    assert all(c.line == 7 for c in commands)
    shell.find_installs(commands)


@FAST
@given(st.one_of(st.text(max_size=40), st.sampled_from(gen.PATHS)), st.sampled_from(gen.PATHS))
def test_glob_patterns_from_repository_files_never_raise(pattern: str, path: str) -> None:
    # hashFiles(), cache-dependency-path and GitLab `key: files:` patterns come from the
    # audited repository: a malformed one must not raise re.error.
    glob_regex(pattern)
    glob_match(pattern, path)


@FAST
@given(st.text(max_size=30), st.sampled_from(("", "sub", "a/b", "..", "a/../..")))
def test_normalize_never_leaves_the_root(path: str, base: str) -> None:
    result = normalize(path, base)
    if result is not None:
        assert not result.startswith("/") and result != ".."
        assert not result.startswith("../")


def _is_repository_path(path: str) -> bool:
    return bool(path) and not path.startswith("/") and normalize(path) == path


@FAST
@given(
    gen.shell_text(12),
    st.sampled_from(("", "sub", "services/api", "..", "/app", "/", "~/src", "$GITHUB_WORKSPACE")),
)
def test_install_inputs_are_repository_paths(script: str, workdir: str) -> None:
    """InstallSite.inputs are "relative to the root": whatever the working directory a
    workflow (``working-directory: /app``) or Dockerfile (``WORKDIR /app``) names."""
    from cacheaudit.installs import install_inputs

    ctx = RepoContext.from_files(
        Path("/nonexistent"),
        {
            "requirements.txt": "x\n",
            "pyproject.toml": "",
            "uv.lock": "",
            "sub/requirements.txt": "",
        },
    )
    for install in shell.find_installs(
        shell.parse_script("pip install -r requirements.txt\n" + script)
    ):
        inputs = install_inputs(install, ctx, workdir)
        assert all(_is_repository_path(p) for p in inputs), (workdir, install.command.text, inputs)


# --- analyzers, one file kind at a time ------------------------------------------------------

SUPPORT = {
    "requirements.txt": "requests==2.32.3\n",
    "pyproject.toml": '[project]\nname = "x"\ndependencies = ["requests"]\n',
    "uv.lock": "version = 1\n",
    "package.json": '{"packageManager": "npm@10.0.0"}\n',
}


@FAST
@given(gen.yaml_text(gen.workflow_document()), st.booleans())
def test_workflow_analyzer_never_raises(text: str, with_support: bool) -> None:
    files = {**(SUPPORT if with_support else {}), ".github/workflows/ci.yml": text}
    analyze_one(files, ".github/workflows/ci.yml")


@FAST
@given(st.text(max_size=300))
def test_workflow_analyzer_on_arbitrary_text(text: str) -> None:
    analyze_one({".github/workflows/ci.yml": text}, ".github/workflows/ci.yml")


@SLOW
@given(gen.yaml_text(gen.action_document()))
def test_composite_action_analyzer_never_raises(text: str) -> None:
    analyze_one(
        {**SUPPORT, ".github/actions/setup/action.yml": text}, ".github/actions/setup/action.yml"
    )


@FAST
@given(
    st.one_of(gen.yaml_text(gen.gitlab_document()), gen.gitlab_anchor_text()),
    gen.yaml_text(gen.gitlab_document()),
    gen.yaml_text(gen.gitlab_document()),
)
def test_gitlab_analyzer_never_raises(main: str, included_a: str, included_b: str) -> None:
    files = {**SUPPORT, ".gitlab-ci.yml": main, "ci/a.yml": included_a, "ci/b.yml": included_b}
    analyze_one(files, ".gitlab-ci.yml")


@FAST
@given(st.text(max_size=300))
def test_gitlab_analyzer_on_arbitrary_text(text: str) -> None:
    analyze_one({".gitlab-ci.yml": text}, ".gitlab-ci.yml")


@FAST
@given(st.one_of(gen.dockerfile_text(), st.text(max_size=300)), st.booleans())
def test_dockerfile_analyzer_never_raises(text: str, with_support: bool) -> None:
    files = {**(SUPPORT if with_support else {}), "Dockerfile": text}
    analyze_one(files, "Dockerfile")


@FAST
@given(gen.dockerfile_text())
def test_dockerfile_parser_never_raises(text: str) -> None:
    from cacheaudit.parsing import dockerfile

    parsed = dockerfile.parse(text)
    last = text.count("\n") + 1
    for instruction in parsed.instructions:
        assert 1 <= instruction.line <= last, (instruction, text)
    assert dockerfile.parse(text) == parsed


@FAST
@given(st.one_of(gen.requirements_text(), st.text(max_size=200)), gen.requirements_text())
def test_requirements_analyzer_never_raises(text: str, other: str) -> None:
    files = {
        "requirements.txt": text,
        "requirements-dev.txt": other,
        "Dockerfile": "FROM python:3.12\nCOPY . .\nRUN pip install -r requirements.txt\n",
    }
    analyze_one(files, "requirements.txt")
    analyze_one(files, "requirements-dev.txt")


@FAST
@given(st.one_of(gen.requirements_text(), st.text(max_size=200)))
def test_requirements_parser_never_raises(text: str) -> None:
    from cacheaudit.parsing import requirements

    parsed = requirements.parse(text, "requirements.txt")
    assert requirements.parse(text, "requirements.txt") == parsed


@FAST
@given(st.one_of(gen.pyproject_text(), st.text(max_size=200)))
def test_pyproject_analyzer_never_raises(text: str) -> None:
    files = {
        "pyproject.toml": text,
        "Dockerfile": "FROM python:3.12\nCOPY . .\nRUN pip install .\n",
    }
    analyze_one(files, "pyproject.toml")


# --- whole repositories: determinism and file order ------------------------------------------


@SLOW
@given(gen.repository(), st.randoms(use_true_random=False))
def test_repository_results_do_not_depend_on_file_order(files: dict[str, str], rng: Any) -> None:
    with on_disk(files) as root:
        base = context(root)
        order = list(range(len(base.files)))
        reference = [canonical(part) for part in analyze_all(base)]
        check_locations(base, analyze_all(context(root))[0])
        rng.shuffle(order)
        shuffled = [canonical(part) for part in analyze_all(context(root, order))]
        reverse = [canonical(part) for part in analyze_all(context(root, order[::-1]))]
    assert shuffled == reference, "findings/installs/notices change with the file order"
    assert reverse == reference, "findings/installs/notices change with the file order"


@budget(25)
@given(gen.repository())
def test_full_audit_never_loses_the_run_and_is_repeatable(files: dict[str, str]) -> None:
    """Through ``audit`` (config, suppressions, scoring): no internal-error notice, and a
    second run gives the same report."""
    with on_disk(files) as root:
        first = run_audit(root)
        second = run_audit(root)
    crashes = [n for n in first.notices if n.subject.startswith("internal-error")]
    assert not crashes, crashes
    assert first == second


def test_file_kinds_under_test_cover_every_analyzed_kind() -> None:
    """A new analyzed file kind needs a generator here."""
    from cacheaudit.analyzers import ANALYZERS

    covered = {classify(p) for p in gen.FILE_STRATEGIES}
    assert set(ANALYZERS) <= covered | {FileKind.SETUP_CFG, FileKind.SETUP_PY, FileKind.PIPFILE}


def test_source_file_texts_are_what_analyzers_expect() -> None:
    # The properties above feed analyzers through discovery, which normalises line endings and
    # strips a BOM; make sure that still holds, or the line checks would be meaningless.
    with on_disk({"Dockerfile": "\ufeffFROM x\r\nRUN y\r\n"}) as root:
        (source,) = context(root).files
    assert source == SourceFile(FileKind.DOCKERFILE, "Dockerfile", "FROM x\nRUN y\n")

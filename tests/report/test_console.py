"""The console and concise reports on a real fixture: code is never cropped (folded with a valid
`\\` continuation where shell allows it), the why is said once per rule, lines are
``path:line:col`` relative to the current directory, and counts read as English."""

from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cacheaudit.report import concise, console
from cacheaudit.report.console import fold_code, fold_shell
from tests.conftest import FIXTURES, run_audit

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
APT = FIXTURES / "docker" / "apt-heavy"
KEEP_LINE = (
    "RUN rm -f /etc/apt/apt.conf.d/docker-clean; echo "
    "'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' > /etc/apt/apt.conf.d/keep-cache"
)


def _joined(text: str) -> str:
    """What Docker and the shell read: `\\` + newline (and the next line's indent) removed."""
    return re.sub(r" \\\n\s*", " ", text)


@pytest.mark.parametrize("color", [True, False])
def test_snippets_are_never_cropped_on_a_wide_terminal(color: bool) -> None:
    text = ANSI.sub("", console.render(run_audit(APT), color=color, width=200))
    assert KEEP_LINE in text  # whole, on one line: it fits in 200 columns
    assert "&& rm -rf /var/lib/apt/lists/*" in text


@pytest.mark.parametrize("color", [True, False])
@pytest.mark.parametrize("width", [60, 80, 100])
def test_long_shell_lines_fold_with_a_continuation_and_keep_every_word(
    color: bool, width: int
) -> None:
    text = ANSI.sub("", console.render(run_audit(APT), color=color, width=width))
    assert KEEP_LINE in _joined(text)
    for line in text.splitlines():
        code = line.startswith(("      RUN", "          "))
        # Code lines are folded to the width wherever a split outside quotes exists; what is
        # longer is one word that cannot be split (a quoted string), left to overflow.
        if code and len(line) > width:
            assert len(shlex.split(line.strip().removesuffix(" \\"))) == 1, line


def test_fold_never_splits_inside_quotes_and_round_trips() -> None:
    line = "RUN echo 'a b c d e f g h' && printf \"%s %s\" x y && touch /tmp/some/long/path"
    for width in range(12, len(line)):
        folded = fold_shell(line, width)
        assert " ".join(shlex.split(_joined("\n".join(folded)))) == " ".join(shlex.split(line))
        assert all(part.endswith(" \\") for part in folded[:-1])


def test_yaml_and_heredocs_are_never_folded() -> None:
    yaml = (
        "      - run: pip install --upgrade pip setuptools wheel && pip install -r requirements.txt"
    )
    assert fold_code(yaml, "yaml", 20) == yaml
    heredoc = (
        "RUN <<EOF\npip install --upgrade pip setuptools wheel && pip install -r reqs.txt\nEOF"
    )
    assert fold_code(heredoc, "dockerfile", 20) == heredoc


def test_why_is_said_once_per_rule() -> None:
    report = run_audit(APT)
    ca308 = [f for f in report.findings if f.rule_id == "CA308"]
    assert len(ca308) == 2
    text = console.render(report, color=False)
    assert text.count("why (docker-apt-downloads-not-cached)") == 1
    assert text.count("why (docker-apt-update-alone)") == 1


def test_findings_are_openable_paths_relative_to_the_current_directory() -> None:
    report = run_audit(APT)
    base = str(FIXTURES.parent)
    text = console.render(report, color=False, base=base)
    assert "\nfixtures/docker/apt-heavy/Dockerfile:4:5: CA306 [warning] " in text
    lines = concise.render(report, base=base).splitlines()
    assert lines[0].startswith("fixtures/docker/apt-heavy/Dockerfile:4:5: CA306 [warning] ")
    assert len(lines) == len(report.findings) + len(report.notices) + 1


def test_concise_is_one_line_per_finding_like_ruff() -> None:
    report = run_audit(APT)
    lines = concise.render(report).splitlines()
    pattern = re.compile(r"^Dockerfile:\d+:\d+: CA\d{3} \[(error|warning|info)\] \S")
    assert all(pattern.match(line) for line in lines[:-1]), lines
    assert lines[-1] == "cacheaudit: score 35/100 (F), 4 findings (1 warning, 3 info)"


def test_statistics_count_per_rule() -> None:
    lines = concise.statistics(run_audit(APT)).splitlines()
    assert lines[0].split() == ["2", "CA308", "[info]", "docker-apt-downloads-not-cached"]
    assert lines[1].split() == ["1", "CA305", "[info]", "docker-apt-lists-left"]
    assert lines[2].split() == ["1", "CA306", "[warning]", "docker-apt-update-alone"]


def test_counts_read_as_english(tmp_path: Path) -> None:
    root = tmp_path / "one"
    root.mkdir()
    (root / "Dockerfile").write_text(
        "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    )
    report = run_audit(root, select=["CA301"])
    text = console.render(report, color=False, width=300)  # the header names a long tmp path
    assert " 1 file audited" in text.splitlines()[0]
    assert "\n1 finding (1 warning).\n" in text
    assert "1 findings" not in text and "1 files" not in text


def test_notices_are_laid_out_like_findings(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: [\n")
    text = console.render(run_audit(tmp_path), color=False)
    assert "\n1 notice (not scored):\n" in text
    assert re.search(r"\n\.github/workflows/ci\.yml:\d+(:\d+)?: CA001 \[notice\] ", text)


def test_ascii_only_has_no_box_or_block_characters() -> None:
    text = console.render(run_audit(APT), color=False, ascii_only=True)
    assert not set("█░╭╮╰╯─│·") & set(text)
    assert "+--" in text and "#" in text


# ---- word wrap ------------------------------------------------------------------------------

_WORDS = st.text(alphabet=st.sampled_from([*"ab-/.:`é界", " ", "\t", "\n", "\xa0"]), max_size=60)


@settings(max_examples=500, deadline=None)
@given(
    text=_WORDS,
    width=st.integers(min_value=1, max_value=40),
    first=st.sampled_from(["", "x.yml:3:1: CA101 [warning] ", "  = fix: ", "  +3   "]),
    rest=st.sampled_from(["", "    ", "       ", " " * 45]),
)
def test_wrap_is_textwraps_word_wrap(text: str, width: int, first: str, rest: str) -> None:
    """The console's greedy wrap gives textwrap's lines for the options it stands for, on
    normalised and unnormalised text, indents longer than the width included."""
    expected = textwrap.wrap(
        " ".join(text.split()),
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [first.rstrip()]
    assert console._wrap(text, width, first, rest) == expected

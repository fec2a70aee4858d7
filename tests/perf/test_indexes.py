"""The indexed glob, ``matching`` and the memoised shell parser give exactly what a full scan
and a fresh parse give."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cacheaudit.parsing.shell import parse_script
from cacheaudit.parsing.shell.commands import _Ctx, _parse
from cacheaudit.paths import glob_match, glob_regex
from cacheaudit.repo import RepoContext

_SEGMENTS = st.sampled_from(["a", "b", "svc-1", ".github", "x.txt", "requirements.txt", "uv.lock"])
_PATHS = st.lists(st.lists(_SEGMENTS, min_size=1, max_size=4).map("/".join), max_size=25)
_PATTERN_PARTS = st.sampled_from(
    ["a", "b", "svc-*", "*", "**", "?", "*.txt", "requirements*.txt", "uv.lock", "[ab]", "x.txt"]
)
_PATTERNS = st.tuples(
    st.sampled_from(["", "/", "./", "!", " "]),
    st.lists(_PATTERN_PARTS, min_size=1, max_size=4).map("/".join),
    st.sampled_from(["", "/"]),
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_PATHS, st.lists(_PATTERNS, min_size=1, max_size=4))
def test_indexed_glob_equals_a_full_scan(paths: list[str], patterns: list[str]) -> None:
    ctx = RepoContext.from_files(Path("/nonexistent"), dict.fromkeys(paths, ""))
    for pattern in patterns:
        if pattern.startswith("!"):
            continue
        regex = glob_regex(pattern)
        assert ctx.glob(pattern) == sorted(p for p in set(paths) if regex.match(p))
    # A cache key's file list: any positive pattern, no `!` one (cross.py's _covered).
    positive = [p for p in patterns if p.strip() and not p.strip().startswith("!")]
    negative = [p.strip()[1:] for p in patterns if p.strip().startswith("!")]
    expected = sorted(
        p
        for p in set(paths)
        if any(glob_match(q, p) for q in positive) and not any(glob_match(q, p) for q in negative)
    )
    assert ctx.matching(patterns) == expected


def test_memoised_shell_parse_is_a_fresh_list_each_time() -> None:
    text = "pip install -r requirements.txt\nnpm ci\n"
    first = parse_script(text, start_line=7)
    first.append(first[0])
    second = parse_script(text, start_line=7)
    assert second == _parse(text, 7, _Ctx()) and len(second) == 2
    assert parse_script(text, start_line=8)[0].line == 8

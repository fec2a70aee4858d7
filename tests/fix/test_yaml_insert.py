"""Where a block mapping ends, read from the parser (``fix.generators._yaml``): the shapes that
indentation alone gets wrong, and the mappings that must not be edited."""

from __future__ import annotations

import pytest
import yaml

from cacheaudit.fix.generators._yaml import append_entries, block_mapping, only_adds
from cacheaudit.fix.text import apply_text
from cacheaudit.parsing.yaml import load


def _insert(text: str, path: tuple[str, ...], entries: str) -> str:
    mapping = block_mapping(text, path)
    assert mapping is not None and mapping.editable
    edit = append_entries(".gitlab-ci.yml", text, mapping, entries)
    return apply_text(text.encode(), [edit]).decode()


CASES = {
    # quart/hypercorn: a sequence at its key's own column ends the job, not `script:`
    "indentless sequence": (
        "job:\n  script:\n  - pip install tox\n  - tox\n\nother:\n  script: [a]\n",
        "job:\n  script:\n  - pip install tox\n  - tox\n  cache: x\n\nother:\n  script: [a]\n",
    ),
    "indentless sequence of mappings": (
        "job:\n  rules:\n  - if: $A\n    when: never\n  - when: always\nnext: 1\n",
        "job:\n  rules:\n  - if: $A\n    when: never\n  - when: always\n  cache: x\nnext: 1\n",
    ),
    "flow sequence over lines": (
        "job:\n  script: [\n    a,\n    b\n  ]\nnext: 1\n",
        "job:\n  script: [\n    a,\n    b\n  ]\n  cache: x\nnext: 1\n",
    ),
    "flow sequence closed less indented": (
        "job:\n  script: [a,\n b]\nnext: 1\n",
        "job:\n  script: [a,\n b]\n  cache: x\nnext: 1\n",
    ),
    "block scalar with blank lines after": (
        "job:\n  script: |\n    a\n\n    b\n\n\nnext: 1\n",
        "job:\n  script: |\n    a\n\n    b\n  cache: x\n\n\nnext: 1\n",
    ),
    "multi-line quoted scalar": (
        'job:\n  script: "a\n    b"\nnext: 1\n',
        'job:\n  script: "a\n    b"\n  cache: x\nnext: 1\n',
    ),
    "comments of the last value stay above, the next job's below": (
        "job:\n  script:\n    - a\n    # - b\n# next job\nnext: 1\n",
        "job:\n  script:\n    - a\n    # - b\n  cache: x\n# next job\nnext: 1\n",
    ),
    "odd indentation": (
        "job:\n   image: x\n   script:\n        - a\nnext: 1\n",
        "job:\n   image: x\n   script:\n        - a\n   cache: x\nnext: 1\n",
    ),
    "last job without a final newline": (
        "job:\n  script:\n  - a",
        "job:\n  script:\n  - a\n  cache: x",
    ),
    "anchored but never aliased": (
        "job: &j\n  script: [a]\n",
        "job: &j\n  script: [a]\n  cache: x\n",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_entries_go_after_the_last_value(name: str) -> None:
    before, after = CASES[name]
    assert _insert(before, ("job",), "cache: x\n") == after
    assert load(after)["job"]["cache"] == "x"


@pytest.mark.parametrize(
    "text",
    [
        "job: {script: [a]}\n",  # flow style
        "base: &b\n  image: x\njob:\n  <<: *b\n  script: [a]\n",  # merge key
        "job: &j\n  script: [a]\nother: *j\n",  # anchored and aliased
        "job: !custom\n  script: [a]\n",  # tagged
        "job:\n  ? [complex]\n  : 1\n",  # complex key
    ],
)
def test_mappings_an_insertion_could_change_elsewhere_are_not_editable(text: str) -> None:
    mapping = block_mapping(text, ("job",))
    assert mapping is None or not mapping.editable


def test_a_mapping_reached_only_through_an_alias_is_not_found() -> None:
    assert block_mapping("a: &x\n  k: 1\nb: *x\n", ("b",)) is None
    assert block_mapping("jobs:\n  - k: 1\n", ("jobs", 0)) is not None
    assert block_mapping("jobs:\n  - k: 1\n", ("jobs", 1)) is None


def test_only_adds_refuses_an_edit_that_changes_a_value() -> None:
    text = "job:\n  script: |+\n    a\n\nnext: 1\n"
    mapping = block_mapping(text, ("job",))
    assert mapping is not None
    # a kept block scalar's trailing blank lines are content: inserting before them changes it
    edit = append_entries(".gitlab-ci.yml", text, mapping, "cache: x\n")
    assert not only_adds(text, [edit], {("job",): {"cache": "x"}})
    plain = "job:\n  script: [a]\nnext: 1\n"
    mapping = block_mapping(plain, ("job",))
    assert mapping is not None
    edit = append_entries(".gitlab-ci.yml", plain, mapping, "cache: x\n")
    assert only_adds(plain, [edit], {("job",): {"cache": "x"}})
    assert not only_adds(plain, [edit], {("job",): {"cache": "y"}})
    assert not only_adds(plain, [edit], {})


@pytest.mark.parametrize("name", CASES)
def test_libyaml_and_pure_parser_events_agree(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Positions come from libyaml's parser when it is there, else PyYAML's own: the same."""
    before, _ = CASES[name]
    fast = block_mapping(before, ("job",))
    monkeypatch.delattr(yaml, "CSafeLoader")
    assert block_mapping(before, ("job",)) == fast

"""The libyaml loader (C composer + our constructor) must give what ruamel's round-trip loader
gives: values, YAML 1.2 types, tags, merges, shared aliases and every line/column the analyzers
read. Checked on every YAML file of the fixtures and the real-world corpus, and on generated
documents (differential, with hypothesis)."""

from __future__ import annotations

import contextlib
import datetime
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.hardening import strategies as gen
from tests.parsing.ruamel_reference import load_ruamel

from cacheaudit.parsing import yaml as loader

TESTS = Path(__file__).parents[1]
YAML_FILES = sorted(
    p
    for root in (TESTS / "fixtures", TESTS / "realworld")
    for p in root.rglob("*")
    if p.suffix in (".yml", ".yaml") and p.is_file() and not p.is_symlink()
)
BEYOND_RUAMEL = {
    "realworld/f-droid__fdroidserver/.gitlab-ci.yml",
    "fixtures/gitlab/repeated-merge-keys/.gitlab-ci.yml",
    "fixtures/gitlab/repeated-merge-keys-near-miss/.gitlab-ci.yml",
    "fixtures/github/jinja-templated-workflow/.github/workflows/ci.yml",
    "fixtures/github/jinja-templated-workflow-near-miss/.github/workflows/ci.yml",
}
"""Files ruamel refuses and we read: two ``<<`` keys in one mapping (GitLab accepts them) and
Jinja-templated YAML."""


def picture(node: Any, seen: dict[int, int] | None = None) -> Any:
    """Everything an analyzer can read from a loaded document, comparable across loaders."""
    seen = {} if seen is None else seen
    if isinstance(node, dict):
        if id(node) in seen:
            return ("alias", seen[id(node)])
        seen[id(node)] = len(seen)
        own = getattr(node, "_ok", None)
        items = []
        for key, value in node.items():
            where = None
            if node.lc.data is not None and (own is None or key in own):
                where = tuple(node.lc.key(key))
                if value is not None:  # an empty value has no position of its own
                    where += tuple(node.lc.value(key))
            items.append((_key(key), where, picture(value, seen)))
        merged = len(getattr(node, "merge", None) or ())
        owned = sorted(map(repr, node if own is None else own))
        return ("map", node.lc.line, node.lc.col, loader.tag_of(node), items, owned, merged)
    if isinstance(node, list):
        if id(node) in seen:
            return ("alias", seen[id(node)])
        seen[id(node)] = len(seen)
        items = []
        for index, item in enumerate(node):
            try:
                where: Any = tuple(node.lc.item(index))
            except (KeyError, IndexError, TypeError):
                where = None
            items.append((where, picture(item, seen)))
        return ("seq", node.lc.line, node.lc.col, loader.tag_of(node), items)
    return _scalar(node)


def _key(key: Any) -> Any:
    if type(key).__name__ == "CommentedKeyMap":
        return ("tuple", tuple((_key(k), _key(v)) for k, v in key.items()))
    if isinstance(key, tuple):
        return ("tuple", tuple(_key(k) for k in key))
    return _scalar(key)


def _scalar(value: Any) -> Any:
    name = type(value).__name__
    if loader.is_block_scalar(value):
        return ("block", "literal" if "Literal" in name else "folded", str(value))
    if name == "TaggedScalar":
        return ("tagged", value.value, loader.tag_of(value))
    if value is None or isinstance(value, bool):
        return ("const", value)
    if isinstance(value, int):
        return ("int", int(value))
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else float(value))
    if isinstance(value, str):
        return ("str", str(value))
    if isinstance(value, datetime.date):
        return ("date", value.isoformat()[:19])
    return ("other", name, repr(value))


def outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", picture(load(text))
    except loader.YamlError:
        return "error", None


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(TESTS)))
def test_loader_matches_ruamel_on_every_yaml_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    ours = outcome(loader.load, text)
    if str(path.relative_to(TESTS)) in BEYOND_RUAMEL:
        assert ours[0] == "ok"
        assert outcome(load_ruamel, text)[0] == "error"
        return
    assert ours == outcome(load_ruamel, text)


_SCALARS = st.one_of(
    st.sampled_from(
        [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "n",
            "true",
            "True",
            "FALSE",
            "tRue",
            "null",
            "Null",
            "~",
            "",
            "0",
            "012",
            "09",
            "-0",
            "+5",
            "1_000",
            "0x1F",
            "0xff",
            "0o17",
            "0b101",
            "1.5",
            "1e3",
            "1.5e-3",
            ".5",
            "5.",
            ".inf",
            "-.Inf",
            ".nan",
            "-.nan",
            "2001-12-14",
            "2001-12-14 21:59:43.10 -5",
            "=",
            "1:20",
            "3.10",
            "v1.2",
            "'quoted'",
            '"dq\\n"',
            "${{ matrix.os }}",
            "a b",
            "!custom x",
            "!!str 12",
            "!!int '7'",
            "!!float 3",
            "!reference [.a, b]",
            "|\n  lit\n  two",
            ">\n  fold\n  ed",
            "|-\n  strip",
            "[1, two, 3.0]",
            "{a: 1, b: [x]}",
            "# comment",
            "&anchor value",
            "*anchor",
        ]
    ),
    # No ":": `- :` is a syntax libyaml and ruamel read apart (not a question of typing).
    st.text(alphabet="abcxyz019.-_/ ", max_size=8),
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Block mappings/sequences with scalars from the tricky list, anchors, aliases, merges."""
    lines = ["base: &base {k: 1, v: two}", "seq: &seq [1, 2]"]
    for index in range(draw(st.integers(1, 6))):
        key = draw(st.sampled_from(["job", "on", "yes", "1", "true", "null", "2001-01-01", "k"]))
        key = f"{key}{index}" if draw(st.booleans()) else key
        shape = draw(st.integers(0, 3))
        if shape == 0:
            value = draw(_SCALARS)
            if value.startswith(("|", ">")):
                head, _, body = value.partition("\n")
                lines.append(f"{key}: {head}")
                lines.extend(f"  {line.strip()}" for line in body.splitlines())
            else:
                lines.append(f"{key}: {value}")
        elif shape == 1:
            lines.append(f"{key}:")
            for _ in range(draw(st.integers(0, 3))):
                value = draw(_SCALARS)
                if not value.startswith(("|", ">")):
                    lines.append(f"  - {value}")
        elif shape == 2:
            lines.append(f"{key}:")
            lines.append(f"  <<: {draw(st.sampled_from(['*base', '[*base]', '{k: 3}']))}")
            lines.append(f"  k: {(draw(_SCALARS).splitlines() or [''])[0]}")
        else:
            lines.append(f"{key}: {draw(st.sampled_from(['*seq', '*base', '!t *seq']))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_loader_matches_ruamel_on_generated_documents(text: str) -> None:
    assert outcome(loader.load, text) == outcome(load_ruamel, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(gen.yaml_text(gen.workflow_document()), gen.yaml_text(gen.gitlab_document())))
def test_loader_matches_ruamel_on_ci_documents(text: str) -> None:
    # libyaml counts NEL/LS/PS as line breaks (YAML 1.1), ruamel does not: lines then differ.
    assume(not any(c in text for c in "\x85\u2028\u2029"))
    ours = outcome(loader.load, text)
    reference = outcome(load_ruamel, text)
    if ours[0] == reference[0] == "ok":
        assert ours == reference
    # libyaml and ruamel may disagree on which broken documents are broken; both must only
    # ever raise YamlError (outcome() lets anything else through).


def test_yaml_12_scalars() -> None:
    doc = loader.load(
        "on: push\nyes: no\na: [1, 0x10, 0o17, 012, 1_000, 1.5, .inf, true, null, ~, '', 3.10]\n"
    )
    assert list(doc) == ["on", "yes", "a"]
    assert doc["yes"] == "no"
    assert doc["a"][:7] == [1, 16, 15, 12, 1000, 1.5, float("inf")]
    assert doc["a"][7:] == [True, None, None, "", 3.1]


def test_aliases_are_shared_not_copied() -> None:
    doc = loader.load("a: &x {k: [1]}\nb: *x\nc: [*x, *x]\n")
    assert doc["a"] is doc["b"] is doc["c"][0] is doc["c"][1]


def test_tags_kept() -> None:
    doc = loader.load("a: !reference [.setup, script]\nb: !custom text\nc: !!str 12\n")
    assert loader.tag_of(doc["a"]) == "!reference" and doc["a"] == [".setup", "script"]
    assert (doc["b"].value, loader.tag_of(doc["b"])) == ("text", "!custom")
    assert doc["c"].value == "12"


def test_positions_and_blocks() -> None:
    doc = loader.load("jobs:\n  t:\n    run: |\n      pip install x\n    steps: [a, b]\n")
    job = doc["jobs"]["t"]
    assert loader.key_line(job, "run") == 3
    assert loader.value_line(job, "run") == 4  # a block's content starts on the next line
    assert loader.item_line(job["steps"], 1) == 5
    assert loader.is_block_scalar(job["run"])


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\na: 2\n", 2),  # duplicate key
        ("a: [1, 2\n", 2),  # unclosed flow sequence
        ("a: 1\n---\nb: 2\n", 2),  # two documents
        ("key: 'unterminated\n", 2),
        ("\ta: 1\n", 1),  # a tab for indentation
        ("<<: 1\n", 1),  # a merge of a scalar
        ("a: *nope\n", 1),  # undefined alias
    ],
)
def test_invalid_documents_are_reported_at_libyamls_mark(text: str, line: int) -> None:
    with pytest.raises(loader.YamlError) as error:
        loader.load(text)
    assert error.value.line == line
    with pytest.raises(loader.YamlError):  # and ruamel refuses them too
        load_ruamel(text)


def test_duplicate_key_message_is_ruamels() -> None:
    with pytest.raises(loader.YamlError) as ours:
        loader.load("a: 1\na: 2\n")
    with pytest.raises(loader.YamlError) as reference:
        load_ruamel("a: 1\na: 2\n")
    assert (ours.value.message, ours.value.line, ours.value.column) == (
        reference.value.message,
        reference.value.line,
        reference.value.column,
    )


def test_bounds() -> None:
    with pytest.raises(loader.YamlError, match="nested more than"):
        loader.load("a: " + "[" * 150 + "]" * 150 + "\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6)
    )
    with pytest.raises(loader.YamlError, match="alias bomb"):
        loader.load(bomb)


def test_repeated_merge_keys_each_merge_in_order() -> None:
    # GitLab (Ruby's Psych) accepts several `<<` in one mapping: each merges, a later one winning
    # over an earlier one, and the mapping's own keys over both.
    doc = loader.load(
        ".a: &a {image: a, stage: a, tags: [a]}\n"
        ".b: &b {image: b, script: [b]}\n"
        "job:\n  <<: *a\n  <<: *b\n  stage: own\n"
    )
    job = doc["job"]
    assert dict(job) == {"stage": "own", "image": "b", "script": ["b"], "tags": ["a"]}
    assert job._ok == {"stage"}
    assert job.merge == [doc[".b"], doc[".a"]]
    assert loader.key_line(job, "stage") == 6


def test_templated_yaml_is_read_around_the_template() -> None:
    text = (
        "name: {{ cookiecutter.project_name }}\n"
        "on: [push]\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "{%- if cookiecutter.use_uv == 'y' %}\n"
        "      - uses: astral-sh/setup-uv@v6\n"
        "{%- else %}\n"
        "      - uses: actions/setup-python@v5\n"
        "        with: {python-version: '{{ cookiecutter.python }}', cache: pip}\n"
        "{%- endif %}\n"
        "      - run: echo ${{ github.sha }} {{ cookiecutter.slug }}\n"
    )
    doc = loader.load(text)
    assert doc["name"] == "{{ cookiecutter.project_name }}"
    steps = doc["jobs"]["test"]["steps"]
    assert [s.get("uses") for s in steps] == [
        "actions/checkout@v4",
        "astral-sh/setup-uv@v6",
        "actions/setup-python@v5",
        None,
    ]
    assert steps[2]["with"]["python-version"] == "{{ cookiecutter.python }}"
    assert steps[3]["run"] == "echo ${{ github.sha }} {{ cookiecutter.slug }}"
    assert loader.item_line(steps, 3) == 14  # lines stay where they are
    assert loader.key_column(doc, "name") == 1


def test_github_expressions_alone_are_not_templates() -> None:
    assert loader._TEMPLATE_MARK.search("run: echo ${{ x }} ${#arr[@]}\n") is None


def test_load_raises_only_yaml_error_on_junk() -> None:
    for text in ("\x00", "a: \ud800\n", "[" * 10_000, "&a [*a]", "? [a]\n: 1\n"):
        with contextlib.suppress(loader.YamlError):
            loader.load(text)

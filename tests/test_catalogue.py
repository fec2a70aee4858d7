"""The catalogue is the single source of rule docs: every rule complete, README in sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cacheaudit.docs import rule_markdown, update_readme
from cacheaudit.rules import RULES, Rule, get_rule, match_rules, parse_rule_page

README = Path(__file__).parents[1] / "README.md"
PAGES = Path(__file__).parents[1] / "src" / "cacheaudit" / "ruledocs"


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    pages = {p.stem for p in PAGES.glob("*.md")}
    assert pages == set(RULES)
    for rule_id in pages:
        text = (PAGES / f"{rule_id}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# {rule_id} {RULES[rule_id].name}\n"), rule_id


def test_a_page_without_a_section_is_refused() -> None:
    text = (PAGES / "CA101.md").read_text(encoding="utf-8")
    broken = text.replace("## Why is this bad?", "## Why")
    with pytest.raises(ValueError, match="lacks section"):
        parse_rule_page("CA101", broken)


@pytest.mark.parametrize("rule", RULES.values(), ids=list(RULES))
def test_rule_has_every_section(rule: Rule) -> None:
    for section in ("summary", "what_it_does", "why_bad", "example", "use_instead", "fix"):
        text = getattr(rule, section)
        assert text.strip() and "TODO" not in text, f"{rule.id} lacks {section}"
    assert rule.references and all(u.startswith("https://") for u in rule.references)
    assert rule.example != rule.use_instead
    markdown = rule_markdown(rule)
    assert markdown.startswith(f"# {rule.id} {rule.name}\n")


def test_ids_and_names_are_unique_and_well_formed() -> None:
    names = [r.name for r in RULES.values()]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"CA[0-5]\d\d", rule_id) for rule_id in RULES)
    assert get_rule("gha-install-without-cache") is RULES["CA101"]
    assert match_rules(["CA10"]) == {f"CA10{i}" for i in range(1, 10)}


def test_readme_rule_table_is_generated_from_the_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    assert update_readme(text) == text, "run `python -m cacheaudit.docs` to refresh README.md"
    for rule in RULES.values():
        assert f"| {rule.id} | `{rule.name}` |" in text

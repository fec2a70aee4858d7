"""Rule documentation rendered from the catalogue: ``explain``, the README table, SARIF help."""

from __future__ import annotations

from cacheaudit.rules import RULES, Rule

FENCE = "```"


def rule_markdown(rule: Rule) -> str:
    """ruff-style sections: what it does, why it is bad, example, use instead, fix, references."""
    refs = "\n".join(f"- <{url}>" for url in rule.references)
    lang = rule.example_language
    tags = " · security" if rule.security else ""
    return f"""# {rule.id} {rule.name}

*{rule.category.value} · {rule.severity.value}{tags}* — {rule.summary}

## What it does
{rule.what_it_does}

## Why is this bad?
{rule.why_bad}

## Example
{FENCE}{lang}
{rule.example}
{FENCE}

## Use instead
{FENCE}{lang}
{rule.use_instead}
{FENCE}

## Fix
{rule.fix}

## References
{refs}
"""


def rules_table_markdown() -> str:
    """The README's rule table."""
    rows = ["| id | name | area | severity | what it flags |", "|---|---|---|---|---|"]
    for rule in RULES.values():
        rows.append(
            f"| {rule.id} | `{rule.name}` | {rule.category.value} | {rule.severity.value} "
            f"| {rule.summary} |"
        )
    return "\n".join(rows) + "\n"


def update_readme(text: str) -> str:
    """README text with the rules table between its markers replaced by the catalogue's."""
    start, end = "<!-- rules-table:start -->\n", "<!-- rules-table:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}{rules_table_markdown()}{end}{tail}"


if __name__ == "__main__":  # python -m cacheaudit.docs: refresh README.md's rule table
    from pathlib import Path

    readme = Path("README.md")
    readme.write_text(update_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")

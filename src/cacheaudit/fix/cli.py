"""The ``cacheaudit fix`` command (registered by ``cacheaudit.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def fix_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Directory to fix (default: .), or files to fix.", show_default=False),
    ] = None,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Print a unified diff and write nothing (exit 1 if any)."),
    ] = False,
    unsafe_fixes: Annotated[
        bool,
        typer.Option(
            "--unsafe-fixes",
            help="Also apply edits that need judgement (CA303 reorders, CA110).",
        ),
    ] = False,
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="Only fix these rules: ids, names or prefixes. Repeat or comma-separate."
        ),
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Do not fix these rules.")] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Glob of paths not to audit (repeatable).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file (default: .cacheaudit.toml, else pyproject.toml)."),
    ] = None,
) -> None:
    """Apply the fixes that are edits; re-audit and print the new score."""
    from cacheaudit.audit import resolve_targets
    from cacheaudit.config import build_config
    from cacheaudit.fix.engine import run, unified_diff, write

    root, targets = resolve_targets(paths or [], Path.cwd())
    settings = build_config(
        root,
        targets=targets,
        config_file=config,
        select=_split(select) or None,
        ignore=_split(ignore),
        exclude=_split(exclude),
    )
    outcome = run(settings, unsafe=unsafe_fixes)
    if diff:
        typer.echo(unified_diff(outcome.changes), nl=False)
        typer.echo(summary(outcome, written=False), err=True)
        raise typer.Exit(1 if outcome.changes else 0)
    write(root, outcome.changes)
    typer.echo(summary(outcome, written=True))
    raise typer.Exit(0)


def summary(outcome: object, *, written: bool) -> str:
    from cacheaudit.fix.engine import Outcome

    assert isinstance(outcome, Outcome)
    lines: list[str] = []
    files = len(outcome.changes)
    verb = "Fixed" if written else "Would fix"
    lines.append(
        f"{verb} {len(outcome.applied)} finding{'s' * (len(outcome.applied) != 1)} "
        f"in {files} file{'s' * (files != 1)}."
    )
    for item in outcome.applied:
        f = item.finding
        lines.append(f"  {f.rule_id} {f.location.path}:{f.location.line}  {f.message[:100]}")
    for refused in outcome.refused:
        lines.append(f"  not applied: {refused.finding.rule_id} {refused.reason}")
    if outcome.unsafe_left:
        lines.append(f"{outcome.unsafe_left} more fixable with --unsafe-fixes.")
    advice = sum(1 for f in outcome.after.findings if f.fix is None or not f.fix.edits)
    if advice:
        lines.append(f"{advice} finding{'s' * (advice != 1)} left need a person (advice only).")
    old, new = outcome.before.score.overall, outcome.after.score.overall
    if new is not None:
        was = "" if old is None or old == new else f"{old} → "
        lines.append(f"Score: {was}{new}/100 ({outcome.after.score.grade}), from a re-audit.")
    return "\n".join(lines)

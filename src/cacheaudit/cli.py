"""Command line: options → Config → ``audit`` → render → exit code. Nothing else lives here.

``cacheaudit [PATHS]`` is the ``audit`` command; ``rules`` and ``explain`` are subcommands. To
audit a directory that happens to be called ``rules`` or ``explain``, write ``./rules`` or
``cacheaudit audit rules``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cacheaudit import __version__
from cacheaudit.errors import UsageError

EXIT_USAGE = 2
EXIT_BUG = 3


class _DefaultToAudit(TyperGroup):
    """Treat anything that is not a subcommand as arguments of ``audit``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["audit", *args]
        result: list[str] = super().parse_args(ctx, args)
        return result


app = typer.Typer(
    cls=_DefaultToAudit,
    add_completion=False,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Score how well a repository caches its dependency installs, and say how to fix it.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cacheaudit {__version__}")
        raise typer.Exit(0)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _use_color(no_color: bool, output: Path | None) -> bool:
    if no_color or output is not None or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


@app.command("audit")
def audit_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Directory to audit (default: .), or files to report on.", show_default=False
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="Output format: console, json, sarif, github, gitlab, markdown, badge.",
        ),
    ] = "console",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")
    ] = None,
    output_format: Annotated[
        list[str] | None,
        typer.Option(
            "--output-format",
            help="Also write FORMAT to FILE (FORMAT=FILE; FILE '-' is standard output), "
            "from the same run. Repeatable: -f console --output-format sarif=cacheaudit.sarif.",
            metavar="FORMAT=FILE",
        ),
    ] = None,
    badge: Annotated[
        Path | None,
        typer.Option(help="Also write an SVG score badge to FILE.", metavar="FILE"),
    ] = None,
    fail_under: Annotated[
        float | None,
        typer.Option(help="Exit 1 when the overall score is below SCORE (0-100).", min=0, max=100),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a finding of this severity or worse remains."),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these rules: ids, names or prefixes (CA3). Repeat or comma-separate."
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Suppress these rules (counted, not scored).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Glob of paths not to audit (repeatable).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file (default: .cacheaudit.toml, else pyproject.toml)."),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="JSON report of accepted findings: those are suppressed."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(help="Exit 1 when a file could not be audited (a CA001 notice)."),
    ] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain output.")] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Do not read or write the result cache ($CACHEAUDIT_CACHE_DIR, else "
            "$XDG_CACHE_HOME/cacheaudit, else ~/.cache/cacheaudit).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the score line.")
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Audit PATHS (default: the current directory)."""
    from cacheaudit.audit import exit_code, resolve_targets
    from cacheaudit.config import build_config
    from cacheaudit.report import FORMATS, renderer

    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r}; choose from {', '.join(FORMATS)}")
    extra = _extra_outputs(output_format or [], FORMATS)
    if badge is not None:
        extra.append(("badge", badge))
    root, targets = resolve_targets(paths or [], Path.cwd())
    settings = build_config(
        root,
        targets=targets,
        config_file=config,
        select=_split(select) or None,
        ignore=_split(ignore),
        exclude=_split(exclude),
        fail_under=fail_under,
        fail_on=fail_on,
        baseline=baseline,
        strict=strict,
    )
    report = _audit_cached(settings, no_cache)
    code = exit_code(report, settings)
    import dataclasses

    report = dataclasses.replace(report, exit_code=code)
    if quiet and output is None and format == "console":
        overall = report.score.overall
        score = "nothing to audit" if overall is None else f"{overall}/100 ({report.score.grade})"
        typer.echo(f"cacheaudit: {score}, {len(report.findings)} findings")
    else:
        _emit(renderer(format).render(report, color=_use_color(no_color, output)), output)
    # Every other format from the same report: a CI job audits once and publishes several ways.
    for name, target in extra:
        _emit(renderer(name).render(report, color=False), target)
    raise typer.Exit(code)


def _audit_cached(settings: Any, no_cache: bool) -> Any:
    """The report from the result cache when every input is unchanged, else a fresh audit
    (stored for next time). A hit imports no analyzer and no parser."""
    if no_cache:
        from cacheaudit.audit import audit

        return _with_progress(lambda: audit(settings))
    from cacheaudit import cache

    found = cache.lookup(settings)
    if found.report is not None:
        return found.report
    from cacheaudit.audit import audit

    reads: dict[str, str] = {}
    report = _with_progress(lambda: audit(settings, found=found.found, reads=reads))
    cache.store(settings, found.key, report, reads)
    return report


def _extra_outputs(specs: list[str], formats: dict[str, str]) -> list[tuple[str, Path | None]]:
    """``FORMAT=FILE`` pairs; ``-`` as FILE (None here) means standard output."""
    outputs: list[tuple[str, Path | None]] = []
    for spec in specs:
        name, sep, target = spec.partition("=")
        name = name.strip()
        if not sep or not target.strip():
            raise UsageError(f"--output-format wants FORMAT=FILE, not {spec!r}")
        if name not in formats:
            raise UsageError(
                f"unknown format {name!r} in --output-format; choose from {', '.join(formats)}"
            )
        outputs.append((name, None if target.strip() == "-" else Path(target)))
    return outputs


_SURROGATE = re.compile("[\ud800-\udfff]")


def _emit(text: str, target: Path | None) -> None:
    # A file name that is not UTF-8 reaches the report as lone surrogates (os.fsdecode); the
    # output must stay valid UTF-8, so they are shown as U+FFFD rather than crash the write.
    text = _SURROGATE.sub("\ufffd", text)
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None


def _with_progress(run: Any) -> Any:
    """A spinner on stderr while auditing, only when a person is watching."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return run()
    from rich.console import Console

    with Console(stderr=True).status("auditing…", spinner="dots"):
        return run()


@app.command("rules")
def rules_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable list.")] = False,
) -> None:
    """List every rule."""
    from cacheaudit.rules import RULES

    if as_json:
        import json

        typer.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "name": r.name,
                        "category": r.category.value,
                        "severity": r.severity.value,
                        "summary": r.summary,
                        "url": r.help_uri,
                    }
                    for r in RULES.values()
                ],
                indent=2,
            )
        )
        return
    for rule in RULES.values():
        typer.echo(
            f"{rule.id}  {rule.name:<40} {rule.category.value:<13} {rule.severity.value:<8} "
            f"{rule.summary}"
        )


@app.command("explain")
def explain_command(
    rule: Annotated[str, typer.Argument(help="Rule id (CA101) or name.")],
) -> None:
    """Explain one rule: what it flags, why, an example, the fix, references."""
    from cacheaudit.docs import rule_markdown
    from cacheaudit.rules import get_rule

    typer.echo(rule_markdown(get_rule(rule)).rstrip("\n"))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: maps errors to exit codes in one place."""
    try:
        app(args=argv, prog_name="cacheaudit", standalone_mode=True)
    except UsageError as exc:
        typer.echo(f"cacheaudit: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:  # a crash is a bug: say so, and never exit 1 ("below threshold")
        import traceback

        traceback.print_exc()
        typer.echo("cacheaudit: internal error (this is a bug; please report it)", err=True)
        sys.exit(EXIT_BUG)


if __name__ == "__main__":
    main()

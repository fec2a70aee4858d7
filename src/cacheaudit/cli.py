"""Command line: options → Config → ``audit`` → render → exit code. Nothing else lives here.

``cacheaudit [PATHS]`` is the ``audit`` command (``cacheaudit --help`` shows its options);
``rules`` and ``explain`` are subcommands. To audit a directory that happens to be called
``rules`` or ``explain``, write ``./rules`` or ``cacheaudit audit rules``.

Every usage error, ours or the option parser's, is one line on stderr, ``cacheaudit: error: …``,
and exit code 2. An exit code 1 always ends with its reason as the last line on stderr.
"""

from __future__ import annotations

import enum
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cacheaudit import __version__
from cacheaudit.command import AuditOptions, exit_with, run
from cacheaudit.output import write
from cacheaudit.report import FORMATS


class ColorChoice(str, enum.Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


class SeverityChoice(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class _DefaultToAudit(TyperGroup):
    """Treat anything that is not a subcommand as arguments of ``audit``; ``cacheaudit --help``
    is the audit command's help (its options are what people look for)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["audit", *args]
        result: list[str] = super().parse_args(ctx, args)
        return result


app = typer.Typer(
    cls=_DefaultToAudit,
    add_completion=False,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="Score how well a repository caches its dependency installs, and say how to fix it.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

EPILOG = (
    "Other commands: 'cacheaudit rules' lists every rule, 'cacheaudit explain RULE' explains "
    "one. Exit codes: 0 ran and met the threshold, 1 below --fail-under or hit --fail-on or "
    "--strict (the reason is the last line on stderr), 2 usage or configuration error, "
    "3 internal error."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cacheaudit {__version__}")
        raise typer.Exit(0)


@app.command("audit", epilog=EPILOG)
def audit_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Directory to audit (default: .), or files to report on.",
            show_default=False,
            metavar="[PATH]...",
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help=f"Output format: {', '.join(FORMATS)}.",
            metavar="FORMAT",
        ),
    ] = "console",
    output_format: Annotated[
        list[str] | None,
        typer.Option(
            "--output-format",
            help="FORMAT alone: the output format (as --format; ruff's name, e.g. concise). "
            "FORMAT=FILE: also write FORMAT to FILE from the same run ('-' is standard output); "
            "repeatable: --output-format sarif=cacheaudit.sarif.",
            metavar="FORMAT[=FILE]",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to FILE.", metavar="FILE"),
    ] = None,
    badge: Annotated[
        Path | None,
        typer.Option(help="Also write an SVG score badge to FILE.", metavar="FILE"),
    ] = None,
    statistics: Annotated[
        bool,
        typer.Option(help="Count findings per rule instead of listing them (console, concise)."),
    ] = False,
    fail_under: Annotated[
        float | None,
        typer.Option(
            help="Exit 1 when the overall score is below SCORE (0-100).",
            min=0,
            max=100,
            metavar="SCORE",
        ),
    ] = None,
    fail_under_coverage: Annotated[
        float | None,
        typer.Option(
            help="Exit 1 when less than PCT percent of the package downloads per pipeline run "
            "are served from cache.",
            min=0,
            max=100,
            metavar="PCT",
        ),
    ] = None,
    fail_on: Annotated[
        SeverityChoice | None,
        typer.Option(
            help="Exit 1 when a finding of this severity or worse remains.",
            case_sensitive=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(help="Exit 1 when a file could not be audited (a CA001 notice)."),
    ] = False,
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these rules: ids, names or prefixes (CA3). Repeat or comma-separate.",
            metavar="RULES",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(help="Suppress these rules (counted, not scored).", metavar="RULES"),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            help="Glob of paths not to audit, relative to the audited directory (repeatable). "
            "Excluded files still exist for the rules.",
            metavar="GLOB",
        ),
    ] = None,
    respect_gitignore: Annotated[
        bool,
        typer.Option(
            "--respect-gitignore/--no-respect-gitignore",
            help="Skip files that .gitignore ignores.",
        ),
    ] = True,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Config file (default: the closest .cacheaudit.toml or pyproject.toml with "
            "[tool.cacheaudit], up to the repository root).",
            metavar="FILE",
        ),
    ] = None,
    show_settings: Annotated[
        bool,
        typer.Option(help="Show the settings that apply (and the config file) and exit."),
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="A cacheaudit JSON report of accepted findings: those are suppressed.",
            metavar="FILE",
        ),
    ] = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option(
            help="Write the current findings to FILE as a baseline for --baseline, and exit 0.",
            metavar="FILE",
        ),
    ] = None,
    color: Annotated[
        ColorChoice,
        typer.Option(
            help="Colour: auto (a terminal, or FORCE_COLOR; never with NO_COLOR), always, never.",
            case_sensitive=False,
        ),
    ] = ColorChoice.AUTO,
    no_color: Annotated[bool, typer.Option("--no-color", hidden=True)] = False,
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
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = None,
) -> None:
    """Audit PATHs (default: the current directory) and score their dependency caching."""
    options = AuditOptions(
        paths=tuple(paths or ()),
        format=format,
        output_format=tuple(output_format or ()),
        output=output,
        badge=badge,
        statistics=statistics,
        fail_under=fail_under,
        fail_under_coverage=fail_under_coverage,
        fail_on=fail_on.value if fail_on else None,
        strict=strict,
        select=tuple(select or ()),
        ignore=tuple(ignore or ()),
        exclude=tuple(exclude or ()),
        respect_gitignore=respect_gitignore,
        config=config,
        show_settings=show_settings,
        baseline=baseline,
        write_baseline=write_baseline,
        color=color.value,
        no_color=no_color,
        no_cache=no_cache,
        quiet=quiet,
    )
    raise typer.Exit(run(options))


from cacheaudit.fix.cli import fix_command  # noqa: E402

app.command("fix")(fix_command)


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
        write(
            sys.stdout,
            f"{rule.id}  {rule.name:<40} {rule.category.value:<13} {rule.severity.value:<8} "
            f"{rule.summary}\n",
        )


@app.command("explain")
def explain_command(
    rule: Annotated[str, typer.Argument(help="Rule id (CA101) or name.", metavar="RULE")],
) -> None:
    """Explain one rule: what it flags, why, an example, the fix, references."""
    from cacheaudit.docs import rule_markdown
    from cacheaudit.rules import get_rule

    write(sys.stdout, rule_markdown(get_rule(rule)).rstrip("\n") + "\n")


def _usage_message(exc: Any) -> str:
    message = " ".join(exc.format_message().split())
    message = message.replace("Invalid value for ", "invalid value for ")
    message = re.sub(r"'(--[a-z-]+)' / '-\w'", r"\1", message)
    message = re.sub(r"'(--[a-z-]+)'", r"\1", message)
    return message[:1].lower() + message[1:].rstrip(".")


def main(argv: list[str] | None = None) -> None:
    """Entry of the typer CLI: maps errors to exit codes in one place."""
    exit_with(lambda: app(args=argv, prog_name="cacheaudit", standalone_mode=False), _usage_message)


if __name__ == "__main__":
    main()

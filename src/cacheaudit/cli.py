"""Command line: options → Config → ``audit`` → render → exit code. Nothing else lives here.

``cacheaudit [PATHS]`` is the ``audit`` command (``cacheaudit --help`` shows its options);
``rules`` and ``explain`` are subcommands. To audit a directory that happens to be called
``rules`` or ``explain``, write ``./rules`` or ``cacheaudit audit rules``.

Every usage error, ours or the option parser's, is one line on stderr, ``cacheaudit: error: …``,
and exit code 2. An exit code 1 always ends with its reason as the last line on stderr.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from typer.core import TyperGroup

from cacheaudit import __version__
from cacheaudit.errors import UsageError
from cacheaudit.report import FORMATS

EXIT_USAGE = 2
EXIT_BUG = 3


class ColorChoice(str, enum.Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


class SeverityChoice(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


HUMAN_FORMATS = ("console", "concise")
"""Formats written for a person: coloured, wrapped to the terminal, paths relative to the
current directory."""
FALLBACK_WIDTH = 100
_UNICODE_PROBE = "█░╭─│·…"


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


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def use_color(when: str, stream: TextIO, to_file: bool) -> bool:
    """``--color always|never`` decides; ``auto``: never into a file or with ``NO_COLOR``,
    always with ``FORCE_COLOR`` (CI logs such as GitHub's render ANSI), else on a terminal."""
    if when != "auto":
        return when == "always"
    if to_file or os.environ.get("NO_COLOR"):
        return False
    if _truthy("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal_width(stream: TextIO) -> int:
    """``COLUMNS`` when set, else the terminal's width, else 100 (piped, redirected)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or FALLBACK_WIDTH
    except (AttributeError, OSError, ValueError):
        return FALLBACK_WIDTH


def _encoding(stream: TextIO) -> str:
    return getattr(stream, "encoding", None) or "utf-8"


def unicode_ok(stream: TextIO) -> bool:
    """Whether the stream's encoding has the box and bar characters of the console report."""
    try:
        _UNICODE_PROBE.encode(_encoding(stream))
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _say(message: str) -> None:
    """One line on stderr that cannot fail on the terminal's encoding."""
    _write(sys.stderr, message + "\n")


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
    from cacheaudit.audit import exit_reasons, resolve_targets
    from cacheaudit.config import build_config

    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r}; choose from {', '.join(FORMATS)}")
    primary, extra = _outputs(format, output_format or [])
    if badge is not None:
        extra.append(("badge", badge))
    if statistics and primary not in HUMAN_FORMATS:
        raise UsageError(f"--statistics works with the console and concise formats, not {primary}")
    cwd = Path.cwd()
    root, targets = resolve_targets(paths or [], cwd)
    settings = build_config(
        root,
        targets=targets,
        config_file=config,
        select=_split(select) or None,
        ignore=_split(ignore),
        exclude=_split(exclude),
        fail_under=fail_under,
        fail_under_coverage=fail_under_coverage,
        fail_on=fail_on.value if fail_on else None,
        baseline=baseline,
        strict=strict,
        respect_gitignore=respect_gitignore,
        cwd=cwd,
    )
    colored = use_color("never" if no_color else color.value, sys.stdout, output is not None)
    if show_settings:
        _emit(_settings_text(settings, primary, colored), None)
        raise typer.Exit(0)
    report = _audit_cached(settings, no_cache)
    if write_baseline is not None:
        _write_baseline(report, write_baseline)
        raise typer.Exit(0)
    reasons = exit_reasons(report, settings)
    report = dataclasses.replace(report, exit_code=1 if reasons else 0)
    if quiet and output is None and primary in HUMAN_FORMATS:
        from cacheaudit.report.concise import summary

        _emit(summary(report) + "\n", None)
    else:
        _emit(_render(primary, report, colored, statistics, cwd), output)
    # Every other format from the same report: a CI job audits once and publishes several ways.
    for name, target in extra:
        _emit(_render(name, report, False, False, cwd), target)
    if reasons:
        _say("cacheaudit: " + "; ".join(reasons))
    raise typer.Exit(1 if reasons else 0)


def _audit_cached(settings: Any, no_cache: bool) -> Any:
    """The report from the result cache when every input is unchanged, else a fresh audit
    (stored for next time). A hit imports no analyzer and no parser. Named files (pre-commit)
    bypass it: their run reads only what they need, where a lookup would read every file."""
    if no_cache or settings.targets:
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


def _render(name: str, report: Any, color: bool, statistics: bool, cwd: Path) -> str:
    from cacheaudit.report import renderer

    if name not in HUMAN_FORMATS:
        return renderer(name).render(report, color=False)
    from cacheaudit.report import concise, console

    if statistics:
        return concise.statistics(report)
    stream = sys.stdout
    render = console.render if name == "console" else concise.render
    text: str = render(
        report,
        color=color,
        width=terminal_width(stream),
        ascii_only=not unicode_ok(stream),
        base=str(cwd),
    )
    return text


def _outputs(fmt: str, specs: list[str]) -> tuple[str, list[tuple[str, Path | None]]]:
    """The main format and the extra ``FORMAT=FILE`` outputs (``-`` as FILE, None here, means
    standard output). ``--output-format FORMAT`` alone names the main format, as in ruff."""
    primary = fmt
    named: list[str] = []
    outputs: list[tuple[str, Path | None]] = []
    for spec in specs:
        name, sep, target = spec.partition("=")
        name = name.strip()
        if name not in FORMATS:
            raise UsageError(
                f"unknown format {name!r} in --output-format; choose from {', '.join(FORMATS)}"
            )
        if not sep:
            named.append(name)
            continue
        if not target.strip():
            raise UsageError(f"--output-format wants FORMAT or FORMAT=FILE, not {spec!r}")
        outputs.append((name, None if target.strip() == "-" else Path(target)))
    if len(set(named)) > 1 or (named and fmt != "console" and named[0] != fmt):
        raise UsageError("give one output format (--format or --output-format FORMAT)")
    if named:
        primary = named[0]
    return primary, outputs


_SURROGATE = re.compile("[\ud800-\udfff]")


def _write(stream: TextIO, text: str) -> None:
    """Write to a terminal or pipe whatever its encoding: characters it cannot show are
    replaced, never an exception (``PYTHONIOENCODING=cp1252`` must not crash a report)."""
    encoding = _encoding(stream)
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = text.encode(encoding, errors="replace").decode(encoding)
    except LookupError:
        pass
    stream.write(text)
    stream.flush()


def _emit(text: str, target: Path | None) -> None:
    # A file name that is not UTF-8 reaches the report as lone surrogates (os.fsdecode); the
    # output must stay valid UTF-8, so they are shown as U+FFFD rather than crash the write.
    text = _SURROGATE.sub("\ufffd", text)
    if target is None:
        _write(sys.stdout, text)
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None


def _write_baseline(report: Any, target: Path) -> None:
    """A JSON report whose findings are every finding of this run, including those an earlier
    baseline suppressed (they are still accepted): ``--baseline FILE`` suppresses them all."""
    from cacheaudit.report import json as json_format

    kept = [s.finding for s in report.suppressed if s.reason == "baseline"]
    accepted = tuple(sorted((*report.findings, *kept), key=lambda f: f.sort_key))
    others = tuple(s for s in report.suppressed if s.reason != "baseline")
    baseline = dataclasses.replace(report, findings=accepted, suppressed=others, exit_code=0)
    _emit(json_format.render(baseline, color=False), target)
    noun = "finding" if len(accepted) == 1 else "findings"
    _say(f"cacheaudit: wrote a baseline of {len(accepted)} {noun} to {target}")


def _settings_text(settings: Any, fmt: str, colored: bool) -> str:
    from cacheaudit.report.console import config_label

    def listing(values: Any) -> str:
        return ", ".join(sorted(values)) if values else "(none)"

    source = (
        config_label(str(settings.config_file), str(Path.cwd()))
        if settings.config_file
        else "(none found: defaults apply)"
    )
    rows = [
        ("config file", source),
        ("root", str(settings.root)),
        ("targets", listing(settings.targets) if settings.targets else "(the whole tree)"),
        ("select", listing(settings.select) if settings.select is not None else "(every rule)"),
        ("ignore", listing(settings.ignore)),
        ("exclude", ", ".join(settings.exclude) or "(none)"),
        ("respect-gitignore", str(settings.respect_gitignore).lower()),
        (
            "per-path-ignores",
            "; ".join(f"{p} = {listing(ids)}" for p, ids in settings.per_path_ignores) or "(none)",
        ),
        (
            "severity",
            ", ".join(f"{r} = {s.value}" for r, s in sorted(settings.severity.items())) or "(none)",
        ),
        ("fail-under", "(none)" if settings.fail_under is None else f"{settings.fail_under:g}"),
        (
            "fail-under-coverage",
            "(none)"
            if settings.fail_under_coverage is None
            else f"{settings.fail_under_coverage:g}",
        ),
        ("fail-on", settings.fail_on.value if settings.fail_on else "(none)"),
        ("strict", str(settings.strict).lower()),
        ("baseline", str(settings.baseline) if settings.baseline else "(none)"),
        ("max-file-size", str(settings.max_file_bytes)),
        ("format", fmt),
        ("color", "yes" if colored else "no"),
        ("width", str(terminal_width(sys.stdout))),
    ]
    width = max(len(k) for k, _ in rows)
    return "".join(f"{key:<{width}}  {value}\n" for key, value in rows)


def _with_progress(run: Any) -> Any:
    """A spinner on stderr while auditing, only when a person is watching."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return run()
    from rich.console import Console

    with Console(stderr=True).status("auditing…", spinner="dots"):
        return run()


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
        _write(
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

    _write(sys.stdout, rule_markdown(get_rule(rule)).rstrip("\n") + "\n")


def _is_a(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is the option parser's ``name`` exception (click's, or the copy of click
    that newer typer versions carry: matched by class name so either works)."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def _usage_message(exc: Any) -> str:
    message = " ".join(exc.format_message().split())
    message = message.replace("Invalid value for ", "invalid value for ")
    message = re.sub(r"'(--[a-z-]+)' / '-\w'", r"\1", message)
    message = re.sub(r"'(--[a-z-]+)'", r"\1", message)
    return message[:1].lower() + message[1:].rstrip(".")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: maps errors to exit codes in one place."""
    try:
        code = app(args=argv, prog_name="cacheaudit", standalone_mode=False)
    except UsageError as exc:
        _say(f"cacheaudit: error: {exc}")
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if _is_a(exc, "ClickException"):  # the option parser's errors, in the same one style
            _say(f"cacheaudit: error: {_usage_message(exc)} (see 'cacheaudit --help')")
            sys.exit(EXIT_USAGE)
        if _is_a(exc, "Abort"):
            sys.exit(130)
        # A crash is a bug: say so, and never exit 1 ("below threshold").
        import traceback

        traceback.print_exc()
        _say("cacheaudit: internal error (this is a bug; please report it)")
        sys.exit(EXIT_BUG)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

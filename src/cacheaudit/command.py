"""The audit command once its options are parsed: config → result cache → audit → render → exit.

Two entries call :func:`run`: the typer CLI (:mod:`cacheaudit.cli`), and the console script
(:mod:`cacheaudit.entry`) when it recognises a plain audit invocation without importing typer
(:func:`run_as_typer` then does what typer's main does around a command). Either way the bytes
written, the files and the exit code are the same. On a result-cache hit whose outputs are all
stored, nothing is audited or rendered: the stored bytes are written.
"""

from __future__ import annotations

import dataclasses
import errno
import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cacheaudit.errors import UsageError
from cacheaudit.output import (
    HUMAN_FORMATS,
    clean,
    emit,
    outputs,
    say,
    split,
    terminal_width,
    unicode_ok,
    use_color,
)
from cacheaudit.report import FORMATS

if TYPE_CHECKING:
    from cacheaudit.cache import Lookup
    from cacheaudit.config import Config
    from cacheaudit.model import Report

EXIT_USAGE = 2
EXIT_BUG = 3

Part = tuple[Any, ...]
"""What one output is: its kind and every option that changes its text (the name of its stored
copy in the result cache)."""


@dataclass(frozen=True)
class AuditOptions:
    """The audit command's options, as the command line gave them (see ``cacheaudit --help``)."""

    paths: tuple[Path, ...] = ()
    format: str = "console"
    output_format: tuple[str, ...] = ()
    output: Path | None = None
    badge: Path | None = None
    statistics: bool = False
    fail_under: float | None = None
    fail_under_coverage: float | None = None
    fail_on: str | None = None
    """``error``, ``warning`` or ``info``."""
    strict: bool = False
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    config: Path | None = None
    show_settings: bool = False
    baseline: Path | None = None
    write_baseline: Path | None = None
    color: str = "auto"
    """``auto``, ``always`` or ``never``."""
    no_color: bool = False
    no_cache: bool = False
    quiet: bool = False


@dataclass(frozen=True)
class _Setup:
    settings: Config
    primary: str
    colored: bool
    cwd: Path
    plan: list[tuple[Part, Path | None]]
    """Every output in the order it is written: (what, where; None is standard output)."""


def _setup(opts: AuditOptions) -> _Setup:
    """Validate the options and build the configuration (UsageError when they are wrong)."""
    from cacheaudit.config import build_config

    if opts.format not in FORMATS:
        raise UsageError(f"unknown format {opts.format!r}; choose from {', '.join(FORMATS)}")
    primary, extra = outputs(opts.format, list(opts.output_format))
    if opts.badge is not None:
        extra.append(("badge", opts.badge))
    if opts.statistics and primary not in HUMAN_FORMATS:
        raise UsageError(f"--statistics works with the console and concise formats, not {primary}")
    cwd = Path.cwd()
    root, targets = _resolve_targets(list(opts.paths), cwd)
    settings = build_config(
        root,
        targets=targets,
        config_file=opts.config,
        select=split(list(opts.select)) or None,
        ignore=split(list(opts.ignore)),
        exclude=split(list(opts.exclude)),
        fail_under=opts.fail_under,
        fail_under_coverage=opts.fail_under_coverage,
        fail_on=opts.fail_on,
        baseline=opts.baseline,
        strict=opts.strict,
        respect_gitignore=opts.respect_gitignore,
        cwd=cwd,
    )
    when = "never" if opts.no_color else opts.color
    colored = use_color(when, sys.stdout, opts.output is not None)
    plan: list[tuple[Part, Path | None]] = [
        (("summary",), None)
        if opts.quiet and opts.output is None and primary in HUMAN_FORMATS
        else (_part(primary, colored, opts.statistics, cwd), opts.output)
    ]
    # Every other format from the same report: a CI job audits once and publishes several ways.
    plan += [(_part(name, False, False, cwd), target) for name, target in extra]
    return _Setup(settings, primary, colored, cwd, plan)


def _resolve_targets(paths: list[Path], cwd: Path) -> tuple[Path, tuple[str, ...]]:
    """:func:`cacheaudit.audit.resolve_targets`, without importing the audit for the common case
    of one directory (or none: the current one)."""
    if len(paths) <= 1 and (paths[0] if paths else cwd).is_dir():
        return (paths[0] if paths else cwd).resolve(), ()
    from cacheaudit.audit import resolve_targets

    return resolve_targets(paths, cwd)


def _part(name: str, color: bool, statistics: bool, cwd: Path) -> Part:
    if name not in HUMAN_FORMATS:
        return ("format", name)
    if statistics:
        return ("statistics",)
    return ("human", name, color, terminal_width(sys.stdout), not unicode_ok(sys.stdout), str(cwd))


def _render(part: Part, report: Report) -> str:
    kind = part[0]
    if kind == "format":
        from cacheaudit.report import renderer

        return renderer(part[1]).render(report, color=False)
    from cacheaudit.report import concise

    if kind == "summary":
        return concise.summary(report) + "\n"
    if kind == "statistics":
        return concise.statistics(report)
    _, name, color, width, ascii_only, base = part
    if name == "console":
        from cacheaudit.report import console

        text: str = console.render(
            report, color=color, width=width, ascii_only=ascii_only, base=base
        )
        return text
    return concise.render(report, color=color, width=width, ascii_only=ascii_only, base=base)


def _output_name(key: str, part: Part) -> str:
    from cacheaudit.cache import output_key

    return output_key(key, *part)


def run(opts: AuditOptions) -> int:
    """Run the audit command; returns the exit code (raises UsageError for usage errors)."""
    setup = _setup(opts)
    settings = setup.settings
    if opts.show_settings:
        emit(settings_text(settings, setup.primary, setup.colored), None)
        return 0
    found: Lookup | None = None
    # Named files (pre-commit) bypass the result cache: their run reads only what they need,
    # where a lookup would read every file of the tree.
    if not opts.no_cache and not settings.targets:
        from cacheaudit import cache

        found = cache.lookup(settings)
    texts: list[str | None] = [None] * len(setup.plan)
    report: Report | None = None
    reasons: list[str] | None = None
    if found is not None and found.hit:
        texts = [_stored(found.key, part) for part, _ in setup.plan]
        reasons = found.reasons
        if opts.write_baseline is not None or None in texts:
            report = found.report()
            if report is None:  # the stored report cannot be read back: audit afresh
                reasons = None
    if reasons is None:
        report, reasons = _audit(settings, found)
        texts = [None] * len(setup.plan)
    if opts.write_baseline is not None:
        assert report is not None
        _write_baseline(report, opts.write_baseline)
        return 0
    if report is not None:
        report = dataclasses.replace(report, exit_code=1 if reasons else 0)
    for index, (part, target) in enumerate(setup.plan):
        text = texts[index]
        if text is None:
            assert report is not None
            text = clean(_render(part, report))
            if found is not None:
                from cacheaudit.cache import store_output

                store_output(found.key, _output_name(found.key, part), text)
        emit(text, target, cleaned=True)
    if reasons:
        say("cacheaudit: " + "; ".join(reasons))
    return 1 if reasons else 0


def _stored(key: str, part: Part) -> str | None:
    from cacheaudit.cache import load_output

    return load_output(key, _output_name(key, part))


def _audit(settings: Config, found: Lookup | None) -> tuple[Report, list[str]]:
    """A fresh audit (stored in the result cache unless ``--no-cache``) and its exit reasons."""
    from cacheaudit.audit import audit, exit_reasons

    if found is None:
        report: Report = _with_progress(lambda: audit(settings))
        return report, exit_reasons(report, settings)
    from cacheaudit import cache
    from cacheaudit.discovery import Discovery

    reads: dict[str, str] = {}
    lookup = found
    report = _with_progress(lambda: audit(settings, found=lookup.found, reads=reads))
    # Rendering needs the report only: let the files' texts go before it (13 MB on the monorepo).
    found.found = Discovery()
    reasons = exit_reasons(report, settings)
    cache.store(settings, found.key, report, reads, reasons)
    return report, reasons


def _write_baseline(report: Report, target: Path) -> None:
    """A JSON report whose findings are every finding of this run, including those an earlier
    baseline suppressed (they are still accepted): ``--baseline FILE`` suppresses them all."""
    from cacheaudit.report import json as json_format

    kept = [s.finding for s in report.suppressed if s.reason == "baseline"]
    accepted = tuple(sorted((*report.findings, *kept), key=lambda f: f.sort_key))
    others = tuple(s for s in report.suppressed if s.reason != "baseline")
    baseline = dataclasses.replace(report, findings=accepted, suppressed=others, exit_code=0)
    emit(json_format.render(baseline, color=False), target)
    noun = "finding" if len(accepted) == 1 else "findings"
    say(f"cacheaudit: wrote a baseline of {len(accepted)} {noun} to {target}")


def settings_text(settings: Config, fmt: str, colored: bool) -> str:
    from cacheaudit.report import config_label

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


def _with_progress(run: Callable[[], Any]) -> Any:
    """A spinner on stderr while auditing, only when a person is watching."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return run()
    from rich.console import Console

    with Console(stderr=True).status("auditing…", spinner="dots"):
        return run()


def run_as_typer(opts: AuditOptions) -> int:
    """:func:`run`, with what typer's ``main`` does around a command (``cacheaudit.cli``): a
    closed pipe (``cacheaudit | head``) exits 1 quietly, Ctrl-C exits 130, end of input 130 after
    a newline on stderr."""
    try:
        return run(opts)
    except KeyboardInterrupt:
        return 130
    except EOFError:
        sys.stderr.write("\n")
        sys.stderr.flush()
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = _Pacified(sys.stdout)
        sys.stderr = _Pacified(sys.stderr)
        return 1


class _Pacified:
    """A stream whose ``flush`` ignores a closed pipe (click's ``PacifyFlushWrapper``): the
    interpreter's final flush must not print a second error."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _is_a(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is the option parser's ``name`` exception (click's, or the copy of click
    that newer typer versions carry: matched by class name so either works)."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def exit_with(call: Callable[[], Any], usage_message: Callable[[Any], str]) -> NoReturn:
    """Run ``call`` and exit with its code, mapping every error to its exit code in one place:
    2 usage, 130 interrupted, 3 a bug (with the traceback), never 1 ("below threshold")."""
    # One short run whose parsed documents live until the report is written: collecting young
    # objects every 700 allocations (the default) only scans them again and again. Measured on
    # the benchmark monorepo: 6 % less CPU, the same peak memory.
    gc.set_threshold(50_000, 20, 100)
    try:
        code = call()
    except UsageError as exc:
        say(f"cacheaudit: error: {exc}")
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if _is_a(exc, "ClickException"):  # the option parser's errors, in the same one style
            say(f"cacheaudit: error: {usage_message(exc)} (see 'cacheaudit --help')")
            sys.exit(EXIT_USAGE)
        if _is_a(exc, "Abort"):
            sys.exit(130)
        import traceback

        traceback.print_exc()
        say("cacheaudit: internal error (this is a bug; please report it)")
        sys.exit(EXIT_BUG)
    sys.exit(code if isinstance(code, int) else 0)

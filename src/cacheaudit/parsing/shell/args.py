"""Option tables and the argv walker shared by the install and image-build readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class _Args:
    options: list[str] = field(default_factory=list)
    values: list[tuple[str, str]] = field(default_factory=list)
    operands: list[str] = field(default_factory=list)

    def get(self, *names: str) -> list[str]:
        return [v for o, v in self.values if o in names]


@dataclass(frozen=True)
class _Spec:
    short_values: str
    """Short options that take a value."""
    long_values: frozenset[str]
    """Long options that take a value."""
    longs: frozenset[str] = frozenset()
    """All long options, when unambiguous prefixes are accepted (pip's optparse)."""


def _spec(short: str, long: str, *, flags: str = "") -> _Spec:
    values = frozenset(long.split())
    return _Spec(short, values, values | frozenset(flags.split()) if flags else frozenset())


def _expand(prefix: str, longs: frozenset[str]) -> str:
    """optparse's abbreviations: the one option ``prefix`` starts. When it starts several and the
    shortest starts all others (``--requirem``: ``--requirement``, ``--requirements-from-script``),
    take the shortest: a pip without the newer option resolved it so, one with both refused to
    run. Otherwise keep the prefix as written (``--req``, ``--no-c``)."""
    matches = sorted((o for o in longs if o.startswith(prefix)), key=len)
    if matches and all(o.startswith(matches[0]) for o in matches):
        return matches[0]
    return prefix


def _walk(args: Sequence[str], spec: _Spec) -> _Args:
    """Read options (values taken out) and operands, getopt style, options anywhere."""
    res, i = _Args(), 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            res.operands += args[i:]
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if spec.longs and name not in spec.longs:
                name = _expand(name, spec.longs)
            res.options.append(name)
            if eq:
                res.values.append((name, value))
            elif name in spec.long_values and i < len(args):
                res.values.append((name, args[i]))
                i += 1
        elif arg.startswith("-") and len(arg) > 1:
            for k, ch in enumerate(arg[1:], 2):  # a cluster: -Ur req.txt, -rreq.txt
                res.options.append("-" + ch)
                if ch in spec.short_values:
                    if k < len(arg) or i < len(args):
                        res.values.append(("-" + ch, arg[k:] if k < len(arg) else args[i]))
                        i += k >= len(arg)
                    break
        else:
            res.operands.append(arg)
    return res


# Value-taking options matter most: their values must not become packages or subcommands.

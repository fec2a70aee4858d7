"""pip's requirements file format: one file parsed with its line numbers, and ``-r``/``-c``
includes followed across files.

The line handling follows pip's own parser (``pip/_internal/req/req_file.py``): ``\\``
continuations are joined first (a comment line ends a continuation), then comments (``#`` at the
start or after whitespace) are stripped, then ``${VAR}`` references are recognised. A line splits
into requirement words and options at the first word starting with ``-``; options are split like
a shell (``shlex``) and read with optparse's rules (``--opt=value``, ``-rvalue``, unambiguous
prefixes of long options). Requirement text is read with ``packaging``.

Pure functions of the text, apart from :func:`load` and :func:`resolve`, which read files through
the run's :class:`~cacheaudit.repo.RepoContext` and parse each file once per run.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Pep508
from packaging.utils import canonicalize_name

from cacheaudit.paths import normalize

if TYPE_CHECKING:
    from cacheaudit.repo import RepoContext

_COMMENT = re.compile(r"(^|\s+)#.*$")
# pip expands only ${NAME} with upper-case letters, digits and underscores.
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.I)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:", re.I)
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tar|zip)$", re.I)
_FULL_COMMIT = re.compile(r"^[0-9a-fA-F]{40}$")
"""pip trusts a git revision as immutable only when it is a full 40-digit commit
(``looks_like_hash`` in ``pip/_internal/vcs/git.py``); other VCS are never cached."""
_SHORT_HASH = re.compile(r"^[0-9a-fA-F]{7,39}$")
_EGG = re.compile(r"[#&]egg=([^&]+)")
_MAX_INCLUDE_DEPTH = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?=\s*(?:[=<>!~\[;]|$))")

# Options pip accepts in requirements files (SUPPORTED_OPTIONS + SUPPORTED_OPTIONS_REQ), by
# long name, with their short forms and whether they take a value.
_LONG_OPTIONS: dict[str, bool] = {
    "--requirement": True,
    "--constraint": True,
    "--editable": True,
    "--index-url": True,
    "--extra-index-url": True,
    "--no-index": False,
    "--find-links": True,
    "--no-binary": True,
    "--only-binary": True,
    "--no-deps-for": True,
    "--prefer-binary": False,
    "--require-hashes": False,
    "--pre": False,
    "--trusted-host": True,
    "--use-feature": True,
    "--global-option": True,
    "--hash": True,
    "--config-settings": True,
}
_SHORT_OPTIONS: dict[str, str] = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
    "-C": "--config-settings",
}


@dataclass(frozen=True)
class VcsRef:
    """A VCS requirement's repository and the revision it names."""

    vcs: str
    """``git``, ``hg``, ``svn`` or ``bzr``."""
    url: str
    """The URL as written, revision included."""
    ref: str | None
    """The part after the last ``@`` of the path (branch, tag or commit), None when absent."""

    @property
    def immutable(self) -> bool:
        """True when pip can cache the built wheel: a git URL pinned to a full commit."""
        return self.vcs == "git" and self.ref is not None and bool(_FULL_COMMIT.match(self.ref))

    @property
    def short_hash(self) -> bool:
        """The ref looks like an abbreviated commit, which pip does not treat as immutable."""
        return self.ref is not None and bool(_SHORT_HASH.match(self.ref))


@dataclass(frozen=True)
class Requirement:
    """One requirement line (or a dependency string from pyproject.toml)."""

    line: int
    """First physical line of the logical line."""
    column: int
    text: str
    """The requirement as written, without per-requirement options."""
    name: str | None = None
    """Canonical project name, when known (``name @ url``, ``#egg=name`` or a plain name)."""
    specifier: str = ""
    marker: str | None = None
    extras: tuple[str, ...] = ()
    url: str | None = None
    vcs: VcsRef | None = None
    local: bool = False
    """A local path or archive (``.``, ``./pkg``, ``wheels/x.whl``, ``file:``)."""
    editable: bool = False
    hashes: tuple[str, ...] = ()
    variables: bool = False
    """Uses ``${VAR}``: what it resolves to cannot be known statically."""

    @property
    def registry(self) -> bool:
        """Resolved from an index by name (not a URL, VCS or local path)."""
        return self.name is not None and self.url is None and not self.local

    @property
    def pinned(self) -> bool:
        """Exactly one version: ``==X`` without a wildcard, or ``===X``."""
        for spec in filter(None, (s.strip() for s in self.specifier.split(","))):
            if spec.startswith("===") or (spec.startswith("==") and not spec.endswith(".*")):
                return True
        return False


@dataclass(frozen=True)
class Include:
    """A ``-r``/``-c`` line naming another file."""

    constraint: bool
    target: str
    """As written."""
    path: str | None
    """Resolved relative to the including file's directory; None for URLs, ``${VAR}`` and paths
    leaving the repository."""
    line: int
    column: int


@dataclass(frozen=True)
class OptionLine:
    """A global option line such as ``--index-url URL`` or ``--require-hashes``."""

    name: str
    """Long option name (``--index-url``)."""
    value: str | None
    line: int


@dataclass(frozen=True)
class LineError:
    """A line pip would reject."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class RequirementsFile:
    """One parsed requirements file."""

    path: str
    requirements: tuple[Requirement, ...] = ()
    includes: tuple[Include, ...] = ()
    options: tuple[OptionLine, ...] = ()
    errors: tuple[LineError, ...] = ()
    generator: str | None = None
    """The tool named by a generated-file header: ``pip-compile``, ``uv pip compile``,
    ``uv export``, ``pdm export``; None for hand-written files."""
    generator_command: str | None = None
    """The command line the header records (``pip-compile --output-file=... requirements.in``)."""
    generator_line: int = 0
    """Line of that command in the header (0 when there is none)."""
    annotated: bool = False
    """Has pip-compile style ``# via`` annotations: compiled even when the header was dropped."""

    @property
    def compiled(self) -> bool:
        """Produced by a resolver from a lock or input file, so every dependency is listed."""
        return self.generator is not None or self.annotated

    @property
    def registry_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.registry and not r.variables)

    @property
    def fully_pinned(self) -> bool:
        reqs = self.registry_requirements
        return bool(reqs) and all(r.pinned for r in reqs)

    @property
    def hashed(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.hashes)

    @property
    def require_hashes(self) -> bool:
        return any(o.name == "--require-hashes" for o in self.options)


@dataclass(frozen=True)
class Resolution:
    """What a set of requirements files pulls in through ``-r``/``-c``, followed recursively."""

    files: tuple[RequirementsFile, ...] = ()
    """Every existing file reached, each once, in visiting order."""
    constraint_paths: frozenset[str] = frozenset()
    """Files reached only as constraints (``-c``): their requirements limit versions but are not
    installed."""
    missing: tuple[tuple[str, Include], ...] = ()
    """``(including file, include)`` for includes naming a file that does not exist."""
    cycles: tuple[tuple[str, Include], ...] = field(default_factory=tuple)
    """``(including file, include)`` for includes that lead back to a file being read."""

    @property
    def installed(self) -> tuple[RequirementsFile, ...]:
        return tuple(f for f in self.files if f.path not in self.constraint_paths)

    @property
    def constraints(self) -> tuple[RequirementsFile, ...]:
        return tuple(f for f in self.files if f.path in self.constraint_paths)


def parse(text: str, path: str) -> RequirementsFile:
    """Parse requirements ``text`` read from repository path ``path``."""
    requirements: list[Requirement] = []
    includes: list[Include] = []
    options: list[OptionLine] = []
    errors: list[LineError] = []
    base = posixpath.dirname(path)
    for number, column, line in _logical_lines(text):
        variables = bool(_ENV_VAR.search(line))
        args, option_text = _break_args_options(line)
        try:
            words = shlex.split(option_text)
        except ValueError:
            errors.append(LineError(number, column, f"cannot split options: {option_text}"))
            continue
        parsed = _read_options(words)
        if isinstance(parsed, str):
            errors.append(LineError(number, column, parsed))
            continue
        hashes = tuple(v for n, v in parsed if n == "--hash" and v)
        editables = [v for n, v in parsed if n == "--editable" and v]
        if args or editables:
            text_ = args or (editables[0] if editables else "")
            result = parse_requirement(
                text_, number, column, editable=not args, hashes=hashes, variables=variables
            )
            if isinstance(result, LineError):
                errors.append(result)
            else:
                requirements.append(result)
            continue
        for name, value in parsed:
            if name in ("--requirement", "--constraint"):
                target = value or ""
                resolved = None
                if not _URL.match(target) and not _ENV_VAR.search(target):
                    resolved = normalize(target, base)
                includes.append(
                    Include(name == "--constraint", target, resolved or None, number, column)
                )
            else:
                options.append(OptionLine(name, value, number))
    generator, command, command_line = _header(text)
    annotated = any(raw.strip().startswith("# via") for raw in text.split("\n"))
    return RequirementsFile(
        path=path,
        requirements=tuple(requirements),
        includes=tuple(includes),
        options=tuple(options),
        errors=tuple(errors),
        generator=generator,
        generator_command=command,
        generator_line=command_line,
        annotated=annotated,
    )


_SIMPLE_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)=="
    r"([0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?)"
)
"""A requirement line that is just ``name==version`` (lowercase PEP 440 release, pre, post or
dev segments): what a compiled requirements file is made of. Anything else takes the full
PEP 508 parse."""


def parse_requirement(
    text: str,
    line: int,
    column: int,
    *,
    editable: bool = False,
    hashes: tuple[str, ...] = (),
    variables: bool = False,
) -> Requirement | LineError:
    """One requirement: a PEP 508 string, a URL or VCS URL, or a local path/archive."""
    text = text.strip()
    probe = _ENV_VAR.sub(lambda m: m.group(1).lower(), text) if variables else text
    base = Requirement(line, column, text, editable=editable, hashes=hashes, variables=variables)
    if is_url(probe):
        # pip separates a URL's environment marker with "; " (a bare ";" may belong to the URL).
        url, _, marker = text.partition("; ")
        url = url.strip()
        egg = _EGG.search(url)
        return replace(
            base,
            name=canonicalize_name(egg.group(1).split("[")[0]) if egg else None,
            marker=marker.strip() or None,
            url=url,
            vcs=_vcs(url),
            local=url.lower().startswith("file:"),
        )
    pinned = None if editable else _SIMPLE_PIN.fullmatch(probe)
    if pinned is not None:  # `name==1.2.3`, most lines of a compiled file: no PEP 508 parse
        return replace(base, name=canonicalize_name(pinned.group(1)), specifier="==" + pinned[2])
    target = re.split(r"\s*;", probe, maxsplit=1)[0].strip()
    core = re.sub(r"\[[^\]]*\]$", "", target)
    if editable or _looks_like_path(core):
        return replace(base, local=True)
    try:
        req = Pep508(probe)
    except InvalidRequirement as exc:
        if variables:  # ${VERSION} and the like: unknowable, not an error
            name = _NAME.match(text)
            return replace(base, name=canonicalize_name(name.group()) if name else None)
        return LineError(line, column, f"invalid requirement {text!r}: {_first_line(exc)}")
    pep_url = req.url
    if pep_url and variables:  # report the URL as written, ${VAR} included
        written = text.split("@", 1)[1] if "@" in text else pep_url
        pep_url = re.split(r"\s;|;\s", written, maxsplit=1)[0].strip()
    return replace(
        base,
        name=canonicalize_name(req.name),
        specifier=str(req.specifier),
        marker=str(req.marker) if req.marker else None,
        extras=tuple(sorted(canonicalize_name(e) for e in req.extras)),
        url=pep_url,
        vcs=_vcs(pep_url) if pep_url else None,
        local=bool(pep_url) and (_is_file_url(pep_url) or not _URL.match(pep_url or "")),
    )


def load(ctx: RepoContext, path: str) -> RequirementsFile | None:
    """The parsed file at ``path``, parsed once per run; None when it cannot be read."""

    def compute() -> RequirementsFile | None:
        text = ctx.read_text(path)
        return None if text is None else parse(text, path)

    return ctx.memo("requirements", path, compute)


def resolve(ctx: RepoContext, paths: Iterable[str], constraints: Iterable[str] = ()) -> Resolution:
    """Follow ``-r``/``-c`` from ``paths`` (installed) and ``constraints``, depth first, each file
    once. A file reached both ways counts as installed."""
    files: dict[str, RequirementsFile] = {}
    installed: set[str] = set()
    missing: list[tuple[str, Include]] = []
    cycles: list[tuple[str, Include]] = []

    def visit(path: str, constraint: bool, stack: tuple[str, ...]) -> None:
        if path in files and (constraint or path in installed):
            return  # already read at least as strongly
        if len(stack) > _MAX_INCLUDE_DEPTH:
            return
        parsed = files.get(path) or load(ctx, path)
        if parsed is None:
            return
        if not constraint:
            installed.add(path)
        files[path] = parsed
        for inc in parsed.includes:
            if inc.path is None:
                continue
            if inc.path == path or inc.path in stack:
                cycles.append((path, inc))
            elif inc.path not in ctx.paths:
                missing.append((path, inc))
            else:
                visit(inc.path, constraint or inc.constraint, (*stack, path))

    for path in paths:
        if path in ctx.paths:
            visit(path, False, ())
    for path in constraints:
        if path in ctx.paths:
            visit(path, True, ())
    return Resolution(
        files=tuple(files.values()),
        constraint_paths=frozenset(files) - installed,
        missing=tuple(dict.fromkeys(missing)),
        cycles=tuple(dict.fromkeys(cycles)),
    )


def cycle_closing_includes(ctx: RepoContext, path: str) -> list[Include]:
    """Includes of ``path`` that lead back to it, reported once per cycle: only in the file whose
    path sorts first among the cycle's members."""
    parsed = load(ctx, path)
    if parsed is None:
        return []
    found: list[Include] = []
    for inc in parsed.includes:
        if inc.path is None or inc.path not in ctx.paths:
            continue
        members = _path_back(ctx, inc.path, path)
        if members is not None and path == min((path, *members)):
            found.append(inc)
    return found


def _path_back(ctx: RepoContext, start: str, goal: str) -> tuple[str, ...] | None:
    """The files on an include chain from ``start`` back to ``goal`` (``start`` first), or None."""
    seen: set[str] = set()
    stack: list[tuple[str, tuple[str, ...]]] = [(start, ())]
    while stack:
        current, trail = stack.pop()
        if current == goal:
            return trail
        if current in seen:
            continue
        seen.add(current)
        parsed = load(ctx, current)
        if parsed is None:
            continue
        for inc in parsed.includes:
            if inc.path is not None and inc.path in ctx.paths:
                stack.append((inc.path, (*trail, current)))
    return None


def _logical_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(first line, column, text) of each non-empty logical line, comments removed."""
    pending: list[str] = []
    first = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        is_comment = bool(_COMMENT.match(raw))
        if raw.endswith("\\") and not is_comment:
            if not pending:
                first = number
            pending.append(raw[:-1])
            continue
        if pending:
            pending.append(raw if not is_comment else " " + raw)
            joined, start = "".join(pending), first
            pending = []
        else:
            joined, start = raw, number
        yield from _clean(joined, start)
    if pending:
        yield from _clean("".join(pending), first)


def _clean(line: str, number: int) -> Iterator[tuple[int, int, str]]:
    stripped = _COMMENT.sub("", line).replace("\t", " ").strip()
    if stripped:
        column = len(line) - len(line.lstrip()) + 1
        yield number, column, stripped


def _break_args_options(line: str) -> tuple[str, str]:
    """Requirement words up to the first word starting with ``-``, and the rest (pip's
    ``break_args_options``: markers are not shell-split)."""
    tokens = line.split(" ")
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:index]).strip(), " ".join(tokens[index:])
    return line.strip(), ""


def _read_options(words: list[str]) -> list[tuple[str, str | None]] | str:
    """optparse's reading of ``words``: (long name, value) pairs, or an error message."""
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            long = _long_option(name)
            if long is None:
                return f"no such option: {name}"
            if isinstance(long, list):
                return f"ambiguous option: {name} ({', '.join(long)}?)"
            if _LONG_OPTIONS[long]:
                if not eq:
                    if i >= len(words):
                        return f"{name} option requires 1 argument"
                    value = words[i]
                    i += 1
                out.append((long, value))
            elif eq:
                return f"{name} option does not take a value"
            else:
                out.append((long, None))
        elif word.startswith("-") and len(word) > 1:
            long_name = _SHORT_OPTIONS.get(word[:2])
            if long_name is None:
                return f"no such option: {word[:2]}"
            value = word[2:]
            if not value:
                if i >= len(words):
                    return f"{word[:2]} option requires 1 argument"
                value = words[i]
                i += 1
            out.append((long_name, value))
        else:
            return f"unexpected argument {word!r} after an option"
    return out


def _long_option(name: str) -> str | list[str] | None:
    if name in _LONG_OPTIONS:
        return name
    candidates = [o for o in _LONG_OPTIONS if o.startswith(name)]
    if len(candidates) == 1:
        return candidates[0]
    return candidates or None


def _looks_like_path(target: str) -> bool:
    # pip treats a requirement containing a path separator, or starting with ".", as a path;
    # archives are files too, even when their name parses as a project name.
    # `name @ https://.../v1.2.zip` is a PEP 508 URL requirement, not a local archive (pip's
    # _get_url_from_path: an "@" whose left part does not look like a path).
    if not target:
        return False
    head, at, _ = target.partition("@")
    if target.startswith((".", "/", "~")) or "/" in head or "\\" in target:
        return True
    return not at and bool(_ARCHIVE.search(target))


def is_url(text: str) -> bool:
    """A URL or VCS URL requirement (``https://...``, ``git+https://...``, ``file:...``)."""
    return bool(_VCS.match(text) or _URL.match(text))


def _is_file_url(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith("file:")


def _vcs(url: str) -> VcsRef | None:
    match = _VCS.match(url)
    if match is None:
        return None
    rest = url[match.end() :].split("#", 1)[0]
    _, sep, remainder = rest.partition("://")
    if not sep:  # scp-like git+git@host:org/repo.git@ref
        remainder = rest
    path_start = remainder.find("/")
    path = remainder[path_start:] if path_start >= 0 else ""
    ref = path.rsplit("@", 1)[1] if "@" in path else None
    return VcsRef(match.group(1).lower(), url, ref or None)


def _header(text: str) -> tuple[str | None, str | None, int]:
    """The generator named in a leading comment block and the command it records."""
    lines = text.split("\n")[:12]
    generator: str | None = None
    for index, raw in enumerate(lines):
        stripped = raw.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            continue
        lower = stripped.lower()
        if "autogenerated by pip-compile" in lower:
            generator = "pip-compile"
        elif "autogenerated by uv" in lower:
            generator = "uv pip compile"
        elif "@generated by pdm" in lower:
            return "pdm export", None, 0
        elif generator is not None:
            command = stripped.lstrip("#").strip()
            if not command or command.endswith(":") or command.lower().startswith("to update"):
                continue
            if generator.startswith("uv") and re.match(r"uv\s+export\b", command):
                generator = "uv export"
            return generator, command, index + 1
    return generator, None, 0


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.split("\n", 1)[0] if text else type(exc).__name__


@dataclass(frozen=True)
class RequirementsCount:
    """How many packages installing some requirements files downloads."""

    packages: int
    exact: bool
    """True when every requirement installed is pinned with ``==`` (a compiled or frozen file
    lists the whole tree); otherwise ``packages`` is a lower bound: the distinct direct
    requirements, whose own dependencies are not listed."""
    source: str
    """``requirements.txt (+2 included)``."""


def count_requirements(
    ctx: RepoContext, paths: Iterable[str], constraints: Iterable[str] = ()
) -> RequirementsCount | None:
    """Count what ``pip install -r`` of ``paths`` (with ``-c`` ``constraints``) downloads,
    following ``-r`` includes; local paths (``-e .``) are not counted and make the count a
    lower bound. None when none of the files exists."""
    wanted = list(paths)
    resolution = resolve(ctx, wanted, constraints)
    installed = resolution.installed
    if not installed:
        return None
    names: set[str] = set()
    exact = True
    for parsed in installed:
        for req in parsed.requirements:
            if req.local or req.variables:
                exact = False
                continue
            if req.url is not None:
                names.add(req.name or req.url)
                continue
            if req.name is None:
                exact = False
                continue
            names.add(req.name)
            exact = exact and req.pinned
    first = installed[0].path
    more = len(installed) - 1
    source = first + (f" (+{more} included)" if more else "")
    return RequirementsCount(len(names), exact, source)

"""What a GitLab CI file means: values with their origin, effective jobs (scripts, caches,
variables), and the facts the rules read about each job (its steps, caches, installs)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from cacheaudit.model import Finding, Location
from cacheaudit.parsing.shell import Command, InstallCommand
from cacheaudit.paths import glob_match

MAX_REFERENCE_DEPTH = 10

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Origin:
    """Where a value is written."""

    path: str
    """File, relative to the root."""
    line: int
    """Line of the key (or of the sequence item) that holds the value."""
    column: int | None = None
    value_line: int = 0
    """First line of the value's own text: for a block scalar (``|``), the line after the
    indicator, so shell line numbers match the file. 0 means ``line``."""
    owner: str = ""
    """Top-level key (job, template, ``default``, ``variables``) in whose block it is written."""

    @property
    def location(self) -> Location:
        return Location(self.path, self.line, self.column)

    @property
    def text_line(self) -> int:
        return self.value_line or self.line


@dataclass(frozen=True)
class Problem:
    """Something GitLab would reject or that cannot be resolved here."""

    message: str
    origin: Origin
    unknown_name: bool = False
    """A name that is not defined here (it may come from an include that cannot be read)."""


@dataclass(frozen=True)
class Ref:
    """An unresolved ``!reference [job, key, ...]``."""

    target: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Value:
    """A YAML value with its origin. Mappings are ``dict[str, Value]``, sequences
    ``list[Value]``; never mutated after construction."""

    data: dict[str, Value] | list[Value] | Scalar | Ref
    origin: Origin

    @property
    def map(self) -> dict[str, Value] | None:
        return self.data if isinstance(self.data, dict) else None

    @property
    def seq(self) -> list[Value] | None:
        return self.data if isinstance(self.data, list) else None

    @property
    def text(self) -> str | None:
        """The scalar as GitLab reads it (``true``, ``3``), or None for collections/null."""
        data = self.data
        if isinstance(data, bool):
            return "true" if data else "false"
        if isinstance(data, (str, int, float)):
            return str(data)
        return None

    def get(self, key: str) -> Value | None:
        mapping = self.map
        return mapping.get(key) if mapping is not None else None

    def items(self) -> list[Value]:
        """A sequence's items, or the value itself as a one-item list (``script: "cmd"``)."""
        if isinstance(self.data, list):
            return self.data
        if self.data is None:
            return []
        return [self]


@dataclass(frozen=True)
class CacheSpec:
    """One entry of a job's effective ``cache:``."""

    origin: Origin
    """Where this cache is written (the ``cache:`` key, or the list item)."""
    key: Value | None
    paths: tuple[Value, ...]
    untracked: bool
    policy: Value | None
    unprotect: Value | None
    when: str
    fallback_keys: tuple[str, ...]
    from_default: bool
    """Inherited from ``default:`` (or the deprecated top-level ``cache:``)."""
    in_list: bool = False
    """Written as an item of a ``cache:`` list."""


@dataclass(frozen=True)
class ScriptItem:
    """One entry of ``before_script``/``script``/``after_script``."""

    section: str
    text: str
    origin: Origin


@dataclass(frozen=True)
class Variable:
    name: str
    value: str | None
    """None when not a scalar (or ``null``)."""
    expand: bool
    """False for ``expand: false``: ``$`` is literal."""
    origin: Origin


@dataclass(frozen=True)
class Job:
    """A job's effective configuration (after includes, extends, references and defaults)."""

    name: str
    origin: Origin
    stage: str
    caches: tuple[CacheSpec, ...]
    cache_state: str
    """``own`` (defined by the job or its templates), ``default`` (inherited), ``disabled``
    (``cache: []``), or ``none`` (no cache anywhere)."""
    cache_keyword: Origin | None
    """Where the effective ``cache:`` keyword is written."""
    variables: dict[str, Variable]
    scripts: tuple[ScriptItem, ...]
    parallel: int
    """How many instances run (``parallel: N`` or the size of the matrix)."""
    artifacts: tuple[str, ...]
    """``artifacts:paths`` (later jobs may receive these files)."""
    trigger_includes: tuple[str, ...]
    """Local child-pipeline files of a trigger job."""
    is_trigger: bool
    problems: tuple[str, ...]
    """What could not be resolved: unknown ``extends`` parents, dangling references."""
    inherit_default: tuple[str, ...] | None = None
    """``inherit:default``: None for every default keyword, else the keywords allowed."""
    inherit_variables: tuple[str, ...] | None = None
    """``inherit:variables``: None for all top-level variables, else the names allowed."""
    image: str | None = None
    """The job's image name (``image:`` or ``image: name:``), as written."""
    runs_note: str = ""
    """How ``parallel`` was counted (``parallel: 3``, ``matrix 2×3 + 1``)."""
    release_only: str = ""
    """Why the job runs only for releases (``release:``, ``only: [tags]``, tag-only ``rules:``),
    or ``""``."""

    def inherits_default(self, keyword: str) -> bool:
        return self.inherit_default is None or keyword in self.inherit_default

    def inherits_variable(self, name: str) -> bool:
        return self.inherit_variables is None or name in self.inherit_variables


@dataclass(frozen=True)
class Pipeline:
    root: str
    files: tuple[str, ...]
    """The root file and every local file it includes, in processing order."""
    jobs: tuple[Job, ...]
    notices: tuple[Finding, ...]
    """CA001/CA002 notices and CA504 findings for missing local includes."""
    unfetched: tuple[str, ...]
    """Includes that could not be read offline (jobs and templates may come from them)."""
    open_globals: tuple[str, ...] = ()
    """The unfetched includes that may also set ``default:`` (a default cache) or top-level
    ``variables:`` (``PIP_CACHE_DIR``...): remote and project includes, and templates other than
    GitLab's job-only ones (``Security/``, ``Jobs/``...). Components are meant to define jobs
    only (GitLab: "avoid using global keywords in a component")."""
    default_cache: Origin | None = None
    """Where ``default: cache`` (or the top-level ``cache:``) is written, if anywhere."""
    top: dict[str, Value] = field(default_factory=dict)


def flatten(value: Value | None, depth: int = 0) -> Iterator[Value]:
    """Scalars of a possibly nested sequence (anchored or referenced script lists nest)."""
    if value is None or depth > MAX_REFERENCE_DEPTH + 1:
        return
    if isinstance(value.data, list):
        for item in value.data:
            yield from flatten(item, depth + 1)
    elif value.data is not None and not isinstance(value.data, dict):
        yield value


def truthy(value: Value | None) -> bool:
    """A boolean keyword's value (``true`` or ``"true"``)."""
    if value is None:
        return False
    if isinstance(value.data, bool):
        return value.data
    return (value.text or "").strip().lower() == "true"


@dataclass(frozen=True)
class EnvVar:
    """A variable the job's shell sees, and where it was set."""

    value: str | None
    expand: bool
    location: Location | None
    source: str
    """``variables`` (the YAML), ``export``, ``inline`` (``A=b cmd``) or ``config``."""
    owner: str = ""
    """Template, job or script file where it is set (for stable finding subjects)."""


@dataclass(frozen=True)
class Step:
    """One command of a job, with the shell state it runs in."""

    command: Command
    path: str
    """File where the command is written (the CI file or a repository script)."""
    owner: str
    """Template, job or script file that holds it (for stable finding subjects)."""
    section: str
    env: dict[str, EnvVar]
    workdir: str | None
    """Directory relative to the project root, None once unknowable (``cd $SOMEWHERE``)."""
    via: Location | None = None
    """For a command of a repository script the job runs (``./ci/test.sh``, ``make test``):
    the line of the CI file that runs it (the outermost call)."""

    @property
    def at(self) -> Location:
        """Where findings about this command point: its CI-file line, or for a command of a
        script, the CI line that calls the script (the job is configured there)."""
        return self.via or Location(self.path, self.command.line)


@dataclass(frozen=True)
class Place:
    """Where a directory is, relative to the project."""

    kind: str
    """``project``, ``outside``, ``unknown`` or ``disabled`` (the tool's cache is off)."""
    rel: str = ""
    """For ``project``: the path relative to the project root (``""`` is the root)."""
    shown: str = ""
    """How to show it (``~/.cache/pip``, ``$CI_PROJECT_DIR/.cache/pip``)."""
    how: str = ""
    """Why the tool writes there."""


@dataclass(frozen=True)
class CachePath:
    value: Value
    raw: str
    place: Place


@dataclass(frozen=True)
class JobCache:
    """One of a job's caches with its paths placed."""

    spec: CacheSpec
    paths: tuple[CachePath, ...]

    def covers(self, place: Place) -> bool:
        if place.kind != "project":
            return False
        if self.spec.untracked:
            return True
        return any(
            path_covers(p.place.rel, place.rel) for p in self.paths if p.place.kind == "project"
        )


def path_covers(cached: str, target: str) -> bool:
    if cached in ("", "."):
        return True
    cached = cached.rstrip("/")
    if target == cached or target.startswith(cached + "/"):
        return True
    if any(c in cached for c in "*?["):
        return glob_match("/" + cached, target) or glob_match("/" + cached + "/**", target)
    return False


def components(rel: str) -> list[str]:
    return [c for c in rel.replace("\\", "/").split("/") if c and c != "."]


@dataclass(frozen=True)
class Facts:
    job: Job
    steps: list[Step]
    caches: list[JobCache]
    installs: list[tuple[Step, InstallCommand, int]]
    """Registry installs with their ordinal within (owner, section, tool), for subjects."""
    known: bool
    """Whether the job's cache configuration is fully known (nothing unresolved)."""
    unknown_why: str = ""
    """When not ``known``: why (one line, for the install map)."""

"""GitLab CI: the effective configuration of every job, computed the way GitLab computes it.

GitLab builds a pipeline in four passes (``Gitlab::Ci::Config#build_config``), and so does this
module:

1. **Load** each file as YAML. Anchors, aliases and ``<<`` merge keys are expanded by the YAML
   parser, file by file (anchors never cross files). ``!reference [...]`` stays an opaque value.
2. **Include**: every ``include:`` is processed first, in order, each included file (with its own
   nested includes) deep-merged into the result; then the including file's own content is
   deep-merged on top, so it wins. Only ``local`` includes (with ``*``/``**`` globs) can be read
   offline; ``remote``, ``project``, ``template`` and ``component`` includes become CA002 notices.
3. **extends**: for each job or hidden template, its parents (a name or a list, resolved
   recursively, at most 11 levels) are deep-merged in order, then the job itself on top
   ("closest scope wins"): hashes merge, arrays and scalars are replaced.
4. **!reference** tags are replaced by the value they point at in the extended configuration
   (recursively, at most 10 levels). In scripts, nested arrays are flattened.

Then each job gets the keywords of ``default:`` (and the deprecated top-level ``image``,
``services``, ``cache``, ``before_script``, ``after_script``) that it does not define itself, as
allowed by ``inherit:default``; a job's own ``cache:`` replaces the default one entirely. Its
variables are the top-level ``variables:`` (as allowed by ``inherit:variables``) overridden by
its own.

Every value keeps the file and line where it is written (:class:`Origin`), through merges,
extends and references, so findings point at the template or included file that holds the
offending keyword. Configuration GitLab rejects (circular or too deep ``extends`` and
references, names defined nowhere) becomes a CA001 notice; a missing local include is CA504.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cacheaudit.model import Finding, Fix, Location
from cacheaudit.notices import parse_error
from cacheaudit.parsing import yaml as cy
from cacheaudit.paths import glob_regex, normalize
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

MAX_INCLUDES = 150
"""GitLab's default limit on includes per pipeline, nested ones counted."""
MAX_EXTENDS_DEPTH = 11
MAX_REFERENCE_DEPTH = 10

RESERVED = frozenset(
    {
        "default", "include", "before_script", "image", "services", "after_script",
        "variables", "stages", "cache", "workflow", "types", "spec",
    }
)  # fmt: skip
"""Top-level keys that are never job names."""

DEFAULT_KEYWORDS = (
    "after_script", "artifacts", "before_script", "cache", "hooks", "id_tokens", "image",
    "interruptible", "retry", "services", "tags", "timeout",
)  # fmt: skip
"""Keywords ``default:`` may set."""

GLOBAL_DEFAULTS = ("image", "services", "cache", "before_script", "after_script")
"""Deprecated top-level keywords that GitLab folds into ``default:``."""

SCRIPT_KEYS = ("before_script", "script", "after_script")

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


# --- loading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedFile:
    path: str
    top: dict[str, Value] | None
    """None when the file is missing, unreadable or invalid."""
    error: Finding | None = None


_SPEC_END = re.compile(r"^---\s*(#.*)?$")


def _strip_header(text: str) -> str:
    """Blank out a ``spec:`` header document (``spec: ... ---``) so the rest loads as one
    document with its line numbers intact."""
    lines = text.split("\n")
    first = next(
        (i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None
    )
    if first is None or not lines[first].startswith("spec:"):
        return text
    for i in range(first + 1, len(lines)):
        if _SPEC_END.match(lines[i]):
            return "\n" * (i + 1) + "\n".join(lines[i + 1 :])
    return text


def load_file(ctx: RepoContext, path: str) -> LoadedFile:
    """Parse one CI file (once per run)."""
    return ctx.memo("gitlab-ci:file", path, lambda: _load(ctx, path))


def _load(ctx: RepoContext, path: str) -> LoadedFile:
    text = ctx.read_text(path)
    if text is None:
        return LoadedFile(path, None)
    try:
        doc = cy.load(_strip_header(text))
    except cy.YamlError as exc:
        return LoadedFile(path, None, parse_error(path, exc.message, exc.line, exc.column))
    if doc is None:
        return LoadedFile(path, {})
    if not isinstance(doc, dict):
        return LoadedFile(
            path, None, parse_error(path, "the top level of a GitLab CI file must be a mapping", 1)
        )
    owners = sorted((cy.key_line(doc, k), str(k)) for k in _own_keys(doc))
    converter = _Converter(path, [line for line, _ in owners], [name for _, name in owners])
    top = converter.mapping(doc)
    return LoadedFile(path, top)


def _own_keys(node: Any) -> list[Any]:
    own = getattr(node, "_ok", None)
    return [k for k in node if own is None or k in own]


def _holder(node: Any, key: Any, depth: int = 0) -> Any:
    """The mapping where ``key`` is literally written: ``node`` itself, or for a key brought in
    by a ``<<`` merge key, the merged mapping (recursively)."""
    own = getattr(node, "_ok", None)
    if own is None or key in own or depth > 20:
        return node
    for source in getattr(node, "merge", None) or ():
        if isinstance(source, dict) and key in source:
            return _holder(source, key, depth + 1)
    return node


def _is_block(node: Any) -> bool:
    return cy.is_block_scalar(node)


def _item_column(seq: Any, index: int) -> int | None:
    try:
        return int(seq.lc.item(index)[1]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


@dataclass(frozen=True)
class _Converter:
    """ruamel nodes → :class:`Value` trees with origins."""

    path: str
    owner_lines: list[int]
    owner_names: list[str]

    def owner(self, line: int) -> str:
        index = bisect.bisect_right(self.owner_lines, line) - 1
        return self.owner_names[index] if index >= 0 else ""

    def origin(self, line: int, column: int | None, value_line: int = 0) -> Origin:
        return Origin(self.path, line, column, value_line, self.owner(line))

    def mapping(self, node: Any) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for key in node:
            if isinstance(key, (dict, list)) or key is None:
                continue
            name = _key_text(key)
            holder = _holder(node, key)
            line = cy.key_line(holder, key)
            origin = self.origin(line, cy.key_column(holder, key), cy.value_line(holder, key))
            out[name] = self.convert(node[key], origin)
        return out

    def convert(self, node: Any, origin: Origin) -> Value:
        if isinstance(node, list):
            if cy.tag_of(node) == "!reference":
                return Value(
                    Ref(tuple(_key_text(x) for x in node if not isinstance(x, (dict, list)))),
                    origin,
                )
            items = []
            for index, item in enumerate(node):
                line = cy.item_line(node, index)
                item_origin = self.origin(
                    line, _item_column(node, index), line + 1 if _is_block(item) else line
                )
                items.append(self.convert(item, item_origin))
            return Value(items, origin)
        if isinstance(node, dict):
            return Value(self.mapping(node), origin)
        return Value(_scalar(node), origin)


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _scalar(node: Any) -> Scalar:
    """A plain Python scalar from a ruamel scalar; unknown tags keep their text."""
    if node is None or isinstance(node, bool):
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    value = getattr(node, "value", None)  # TaggedScalar of an unknown tag
    if isinstance(value, str):
        return value
    return str(node)


# --- merging --------------------------------------------------------------------------------


def deep_merge(base: Value, over: Value) -> Value:
    """Ruby's ``Hash#deep_merge``: mappings merge key by key, ``over`` wins everywhere else."""
    base_map, over_map = base.map, over.map
    if base_map is None or over_map is None:
        return over
    return Value(merge_maps(base_map, over_map), over.origin)


def merge_maps(base: dict[str, Value], over: dict[str, Value]) -> dict[str, Value]:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = deep_merge(merged[key], value) if key in merged else value
    return merged


# --- includes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Include:
    kind: str
    """``local``, ``remote``, ``project``, ``template``, ``component``, or ``unknown``."""
    target: str
    origin: Origin
    conditional: bool = False
    """Has ``rules:``: it may not be included at all."""


def include_entries(value: Value) -> Iterator[Include]:
    """The entries of an ``include:`` value, in order."""
    for item in value.items():
        text = item.text
        if text is not None:
            kind = "remote" if re.match(r"https?://", text) else "local"
            yield Include(kind, text, item.origin)
            continue
        mapping = item.map
        if mapping is None:
            continue
        conditional = "rules" in mapping
        for kind in ("local", "remote", "template", "component", "project"):
            entry = mapping.get(kind)
            if entry is None:
                continue
            target = entry.text or ""
            if kind == "project":
                files = mapping.get("file")
                names = [f.text for f in files.items()] if files is not None else []
                target = f"{target}:{','.join(n for n in names if n)}"
            yield Include(kind, target, item.origin, conditional)
            break
        else:
            yield Include("unknown", "", item.origin, conditional)


# --- the effective configuration ------------------------------------------------------------


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
    """Includes that could not be read offline: a job's cache may come from them."""
    default_cache: Origin | None = None
    """Where ``default: cache`` (or the top-level ``cache:``) is written, if anywhere."""
    top: dict[str, Value] = field(default_factory=dict)


def resolve(ctx: RepoContext, root: str) -> Pipeline:
    """The pipeline defined by ``root`` (once per run)."""
    return ctx.memo("gitlab-ci:pipeline", root, lambda: _Resolver(ctx, root).run())


@dataclass
class _Resolver:
    ctx: RepoContext
    root: str
    notices: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unfetched: list[str] = field(default_factory=list)
    count: int = 0

    def run(self) -> Pipeline:
        top = self.file_config(self.root, (self.root,))
        extended, missing = _extend_all(top)
        default = self.defaults(extended)
        global_vars = extended.get("variables")
        jobs = []
        for name, value in extended.items():
            if name in RESERVED or name.startswith(".") or value.map is None:
                continue
            problems = list(missing.get(name, ()))
            resolved = _resolve_refs(value, extended, 0, (), problems)
            jobs.append(_job(name, resolved, default, global_vars, extended, problems))
            self.report(problems)
        return Pipeline(
            root=self.root,
            files=tuple(dict.fromkeys(self.files)),
            jobs=tuple(jobs),
            notices=tuple(self.notices),
            unfetched=tuple(self.unfetched),
            default_cache=default["cache"].origin if "cache" in default else None,
            top=extended,
        )

    def file_config(self, path: str, stack: tuple[str, ...]) -> dict[str, Value]:
        loaded = load_file(self.ctx, path)
        self.files.append(path)
        if loaded.error is not None:
            self.notices.append(loaded.error)
        top = loaded.top or {}
        content: dict[str, Value] = {}
        include = top.get("include")
        if include is not None:
            for entry in include_entries(include):
                for target in self.local_targets(entry):
                    if target in stack:
                        continue  # a cycle: GitLab rejects it, we just stop
                    self.count += 1
                    if self.count > MAX_INCLUDES:
                        break
                    content = merge_maps(content, self.file_config(target, (*stack, target)))
        own = {k: v for k, v in top.items() if k != "include"}
        return merge_maps(content, own)

    def local_targets(self, entry: Include) -> list[str]:
        if entry.kind != "local":
            self.unfetchable(entry)
            return []
        raw = entry.target.strip()
        if "$" in raw:
            self.unfetchable(entry, "it names a CI/CD variable")
            return []
        rel = normalize(raw.lstrip("/"))
        if not rel:
            return []
        if any(c in rel for c in "*?["):
            regex = glob_regex("/" + rel)
            return sorted(
                p for p in self.ctx.paths if regex.match(p) and p.endswith((".yml", ".yaml"))
            )
        if rel in self.ctx.paths:
            return [rel]
        if not entry.conditional:
            self.notices.append(
                RULES["CA504"].finding(
                    entry.origin.location,
                    f"`include: {entry.target}` in {entry.origin.path} names a file that does not "
                    "exist: GitLab rejects the pipeline, and nothing it would define is audited.",
                    subject=f"include {rel}",
                    fix=missing_file_fix(
                        self.ctx, rel, "include", entry.origin.location, entry.target
                    ),
                )
            )
        return []

    def unfetchable(self, entry: Include, why: str = "") -> None:
        label = f"{entry.kind} include" if entry.kind != "unknown" else "include"
        target = f" `{entry.target}`" if entry.target else ""
        reason = why or "it cannot be fetched offline"
        self.unfetched.append(f"{entry.kind}:{entry.target}")
        self.notices.append(
            RULES["CA002"].finding(
                entry.origin.location,
                f"skipped the {label}{target} in {entry.origin.path}: {reason}; jobs, templates "
                "and defaults it defines are not audited, and findings that depend on them are "
                "left out.",
                subject=f"include {entry.kind} {entry.target}",
            )
        )

    def defaults(self, top: dict[str, Value]) -> dict[str, Value]:
        """``default:`` merged with the deprecated top-level keywords (``default:`` wins)."""
        out: dict[str, Value] = {}
        for key in GLOBAL_DEFAULTS:
            if key in top and top[key].data is not None:
                out[key] = top[key]
        default = top.get("default")
        mapping = default.map if default is not None else None
        if mapping is not None:
            for key, value in mapping.items():
                if key in DEFAULT_KEYWORDS and value.data is not None:
                    out[key] = value
        problems: list[Problem] = []
        resolved = {k: _resolve_refs(v, top, 0, (), problems) for k, v in out.items()}
        self.report(problems)
        return resolved

    def report(self, problems: list[Problem]) -> None:
        """CA001 for configuration GitLab rejects (circular or too deep ``extends`` and
        references; undefined names unless an unreadable include may define them)."""
        for problem in problems:
            if problem.unknown_name and self.unfetched:
                continue
            notice = parse_error(
                problem.origin.path,
                f"GitLab rejects this configuration: {problem.message}",
                problem.origin.line,
                problem.origin.column or 0,
            )
            if all(
                n.location != notice.location or n.message != notice.message for n in self.notices
            ):
                self.notices.append(notice)


def missing_file_fix(
    ctx: RepoContext, rel: str, what: str, location: Location, written: str
) -> Fix:
    """Name the closest existing file, as a corrected copy of the line that names it."""
    close = closest_paths(ctx, rel)
    if not close:
        return Fix(f"Commit `{rel}`, or correct the {what} to name an existing file.", "")
    snippet = close[0]
    text = ctx.read_text(location.path)
    lines = text.split("\n") if text is not None else []
    if 0 < location.line <= len(lines) and written and written in lines[location.line - 1]:
        snippet = lines[location.line - 1].replace(written, close[0], 1).rstrip()
    return Fix(f"Name the file that exists: `{close[0]}`.", snippet)


def closest_paths(ctx: RepoContext, rel: str) -> list[str]:
    """Existing files whose path looks like ``rel``, best first. Only files beside it (same
    extension) or of the same name elsewhere are compared: fuzzy matching against every path of
    a large monorepo costs tens of milliseconds per missing file."""
    import difflib
    import posixpath

    folder, name = posixpath.split(rel)
    ext = posixpath.splitext(name)[1]
    prefix = f"{folder}/" if folder else ""
    beside = (
        p
        for p in ctx.paths
        if p.startswith(prefix) and "/" not in p[len(prefix) :] and (not ext or p.endswith(ext))
    )
    # The nearest in the tree first (longest shared prefix), at most 50: in a monorepo a name
    # like requirements.txt stands in a thousand places.
    candidates = sorted(
        {*ctx.named(name), *beside},
        key=lambda p: (-len(posixpath.commonprefix([p, rel])), p),
    )
    return difflib.get_close_matches(rel, candidates[:50], n=3, cutoff=0.6)


def _names(value: Value) -> list[str]:
    return [t for item in value.items() if (t := item.text)]


def _extend_all(top: dict[str, Value]) -> tuple[dict[str, Value], dict[str, list[Problem]]]:
    """Apply ``extends`` to every job and template; report parents that cannot be used."""
    done: dict[str, Value] = {}
    missing: dict[str, list[Problem]] = {}

    def extend(name: str, chain: tuple[str, ...]) -> Value:
        if name in done:
            return done[name]
        value = top[name]
        mapping = value.map
        if mapping is None or "extends" not in mapping:
            done[name] = value
            return value
        problems = missing.setdefault(name, [])
        where = mapping["extends"].origin
        if len(chain) > MAX_EXTENDS_DEPTH:
            problems.append(Problem(f"`extends` nests more than {MAX_EXTENDS_DEPTH} levels", where))
            done[name] = value
            return value
        merged: Value | None = None
        for parent in _names(mapping["extends"]):
            if parent not in top or parent in RESERVED:
                problems.append(
                    Problem(f"`extends: {parent}` names no job or template", where, True)
                )
                continue
            if parent in chain:
                problems.append(Problem(f"`extends: {parent}` is circular", where))
                continue
            base = extend(parent, (*chain, parent))
            problems.extend(missing.get(parent, ()))
            if base.map is not None:
                merged = base if merged is None else deep_merge(merged, base)
        result = value if merged is None else deep_merge(merged, value)
        done[name] = result
        return result

    extended = {
        name: (value if name in RESERVED else extend(name, (name,))) for name, value in top.items()
    }
    return extended, {k: v for k, v in missing.items() if v}


def _lookup(top: dict[str, Value], target: tuple[str, ...]) -> Value | None:
    if not target:
        return None
    current = top.get(target[0])
    for key in target[1:]:
        if current is None:
            return None
        current = current.get(key)
    return current


def _resolve_refs(
    value: Value,
    top: dict[str, Value],
    depth: int,
    chain: tuple[tuple[str, ...], ...],
    problems: list[Problem],
) -> Value:
    data = value.data
    if isinstance(data, Ref):
        shown = f"!reference [{', '.join(data.target)}]"
        if depth >= MAX_REFERENCE_DEPTH or data.target in chain:
            problems.append(Problem(f"{shown} nests too deeply or is circular", value.origin))
            return Value(None, value.origin)
        found = _lookup(top, data.target)
        if found is None:
            problems.append(Problem(f"{shown} points at nothing", value.origin, True))
            return Value(None, value.origin)
        return _resolve_refs(found, top, depth + 1, (*chain, data.target), problems)
    if isinstance(data, dict):
        return Value(
            {k: _resolve_refs(v, top, depth, chain, problems) for k, v in data.items()},
            value.origin,
        )
    if isinstance(data, list):
        return Value([_resolve_refs(v, top, depth, chain, problems) for v in data], value.origin)
    return value


def flatten(value: Value | None, depth: int = 0) -> Iterator[Value]:
    """Scalars of a possibly nested sequence (anchored or referenced script lists nest)."""
    if value is None or depth > MAX_REFERENCE_DEPTH + 1:
        return
    if isinstance(value.data, list):
        for item in value.data:
            yield from flatten(item, depth + 1)
    elif value.data is not None and not isinstance(value.data, dict):
        yield value


def _inherits(job: dict[str, Value], what: str, key: str) -> bool:
    """Whether ``inherit:<what>`` lets the job take ``key``."""
    inherit = job.get("inherit")
    rule = inherit.get(what) if inherit is not None else None
    if rule is None:
        return True
    if isinstance(rule.data, bool):
        return rule.data
    if isinstance(rule.data, list):
        return key in _names(rule)
    return True


def _job(
    name: str,
    value: Value,
    default: dict[str, Value],
    global_vars: Value | None,
    top: dict[str, Value],
    problems: list[Problem],
) -> Job:
    mapping = value.map or {}
    effective: dict[str, Value] = {k: v for k, v in mapping.items() if v.data is not None}
    inherited: set[str] = set()
    for key, default_value in default.items():
        if key not in effective and _inherits(mapping, "default", key):
            effective[key] = default_value
            inherited.add(key)

    caches, state, keyword = _caches(effective.get("cache"), "cache" in inherited)
    variables: dict[str, Variable] = {}
    if global_vars is not None:
        for var in _variables(global_vars):
            if _inherits(mapping, "variables", var.name):
                variables[var.name] = var
    job_vars = mapping.get("variables")
    if job_vars is not None:
        for var in _variables(job_vars):
            variables[var.name] = var

    scripts = []
    for section in SCRIPT_KEYS:
        for item in flatten(effective.get(section)):
            text = item.text
            if text is not None:
                scripts.append(ScriptItem(section, text, item.origin))

    stage = effective.get("stage")
    trigger = effective.get("trigger")
    artifacts = effective.get("artifacts")
    artifact_paths = artifacts.get("paths") if artifacts is not None else None
    return Job(
        name=name,
        origin=value.origin,
        stage=(stage.text if stage is not None else None) or "test",
        caches=caches,
        cache_state=state,
        cache_keyword=keyword,
        variables=variables,
        scripts=tuple(scripts),
        parallel=_parallel(effective.get("parallel")),
        artifacts=tuple(t for v in flatten(artifact_paths) if (t := v.text)),
        trigger_includes=_trigger_includes(trigger),
        is_trigger=trigger is not None,
        problems=tuple(dict.fromkeys(p.message for p in problems)),
        inherit_default=_inherit_rule(mapping, "default"),
        inherit_variables=_inherit_rule(mapping, "variables"),
    )


def _inherit_rule(job: dict[str, Value], what: str) -> tuple[str, ...] | None:
    inherit = job.get("inherit")
    rule = inherit.get(what) if inherit is not None else None
    if rule is None or rule.data is True:
        return None
    if rule.data is False:
        return ()
    if isinstance(rule.data, list):
        return tuple(_names(rule))
    return None


def _caches(
    value: Value | None, from_default: bool
) -> tuple[tuple[CacheSpec, ...], str, Origin | None]:
    if value is None or value.data is None:
        return (), "none", None
    entries: Iterable[Value] = value.seq if value.seq is not None else [value]
    specs = []
    for entry in entries:
        mapping = entry.map
        if mapping is None:
            continue
        paths = tuple(flatten(mapping.get("paths")))
        fallback = tuple(t for v in flatten(mapping.get("fallback_keys")) if (t := v.text))
        when = mapping.get("when")
        specs.append(
            CacheSpec(
                origin=entry.origin,
                key=mapping.get("key"),
                paths=paths,
                untracked=_truthy(mapping.get("untracked")),
                policy=mapping.get("policy"),
                unprotect=mapping.get("unprotect"),
                when=(when.text if when is not None else None) or "on_success",
                fallback_keys=fallback,
                from_default=from_default,
                in_list=value.seq is not None,
            )
        )
    if not specs and value.seq is not None:
        return (), "disabled", value.origin
    return tuple(specs), "default" if from_default else "own", value.origin


def _truthy(value: Value | None) -> bool:
    if value is None:
        return False
    if isinstance(value.data, bool):
        return value.data
    return (value.text or "").strip().lower() == "true"


def truthy(value: Value | None) -> bool:
    """A boolean keyword's value (``true`` or ``"true"``)."""
    return _truthy(value)


def _variables(value: Value) -> Iterator[Variable]:
    mapping = value.map
    if mapping is None:
        return
    for name, var in mapping.items():
        inner = var.map
        if inner is not None:
            raw = inner.get("value")
            expand = inner.get("expand")
            yield Variable(
                name,
                raw.text if raw is not None else None,
                not (expand is not None and expand.data is False),
                var.origin,
            )
        else:
            yield Variable(name, var.text, True, var.origin)


def _parallel(value: Value | None) -> int:
    if value is None:
        return 1
    if isinstance(value.data, int) and not isinstance(value.data, bool):
        return max(1, min(value.data, 200))
    matrix = value.get("matrix")
    if matrix is None:
        return 1
    total = 0
    for entry in matrix.items():
        product = 1
        for axis in (entry.map or {}).values():
            product *= max(1, len(axis.items()))
        total += product
    return max(1, min(total, 200))


def _trigger_includes(trigger: Value | None) -> tuple[str, ...]:
    if trigger is None:
        return ()
    include = trigger.get("include")
    if include is None:
        return ()
    out = []
    for entry in include_entries(include):
        if entry.kind == "local" and "$" not in entry.target:
            rel = normalize(entry.target.strip().lstrip("/"))
            if rel:
                out.append(rel)
    return tuple(out)

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

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cacheaudit.analyzers.gitlab_ci.load import (
    Include,
    deep_merge,
    include_entries,
    load_file,
    merge_maps,
)
from cacheaudit.analyzers.gitlab_ci.model import (
    MAX_REFERENCE_DEPTH,
    CacheSpec,
    Job,
    Origin,
    Pipeline,
    Problem,
    Ref,
    ScriptItem,
    Value,
    Variable,
    flatten,
    truthy,
)
from cacheaudit.model import Finding, Fix, Location
from cacheaudit.notices import parse_error
from cacheaudit.paths import glob_regex, normalize
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

MAX_INCLUDES = 150
"""GitLab's default limit on includes per pipeline, nested ones counted."""
MAX_EXTENDS_DEPTH = 11

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
    open_globals: list[str] = field(default_factory=list)
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
            open_globals=tuple(self.open_globals),
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
        if _may_set_globals(entry):
            self.open_globals.append(f"{entry.kind}:{entry.target}")
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


JOB_ONLY_TEMPLATES = re.compile(
    r"^(Security|Jobs|Workflows|Verify)/"
    r"|(SAST|DAST|Scanning|Fuzzing|Secret-Detection|Code-Quality|Auto-DevOps)[\w.-]*\.gitlab-ci\.yml$"
)
"""GitLab's own templates that define jobs, hidden jobs, ``workflow:`` and their own variables,
never ``default:`` or a cache: the security scanners, Auto DevOps and its ``Jobs/``, ``Workflows/``
and ``Verify/`` parts. (Language templates such as ``Python.gitlab-ci.yml`` set a top-level
cache.)"""


def _may_set_globals(entry: Include) -> bool:
    """Whether an include that cannot be read may set ``default:`` or top-level variables."""
    if entry.kind == "component":
        return False
    if entry.kind == "template":
        return not JOB_ONLY_TEMPLATES.search(entry.target.strip())
    return True


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
    a large monorepo costs tens of milliseconds per missing file. Memoised per ``rel``: the
    same missing file is named by many jobs."""
    return list(ctx.memo("gitlab-ci:closest", rel, lambda: _closest_paths(ctx, rel)))


def _closest_paths(ctx: RepoContext, rel: str) -> list[str]:
    import difflib
    import heapq
    import posixpath

    from cacheaudit.pathindex import children

    folder, name = posixpath.split(rel)
    ext = posixpath.splitext(name)[1]
    prefix = f"{folder}/" if folder else ""
    beside = (
        p
        for p in children(ctx, folder)  # a superset of the paths directly in `folder`
        if p.startswith(prefix) and "/" not in p[len(prefix) :] and (not ext or p.endswith(ext))
    )
    # The nearest in the tree first (longest shared prefix), at most 50: in a monorepo a name
    # like requirements.txt stands in a thousand places.
    candidates = heapq.nsmallest(
        50,
        {*ctx.named(name), *beside},
        key=lambda p: (-len(posixpath.commonprefix([p, rel])), p),
    )
    return difflib.get_close_matches(rel, candidates, n=3, cutoff=0.6)


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
    parallel, runs_note = _parallel(effective.get("parallel"))
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
        parallel=parallel,
        runs_note=runs_note,
        image=_image(effective.get("image")),
        artifacts=tuple(t for v in flatten(artifact_paths) if (t := v.text)),
        trigger_includes=_trigger_includes(trigger),
        is_trigger=trigger is not None,
        problems=tuple(dict.fromkeys(p.message for p in problems)),
        inherit_default=_inherit_rule(mapping, "default"),
        inherit_variables=_inherit_rule(mapping, "variables"),
        release_only=_release_only(effective),
    )


_TAG_TEST = re.compile(r"(?<![!\w])\$\{?CI_COMMIT_TAG\}?(?!\s*==)(?!\w)")
"""``$CI_COMMIT_TAG`` tested as set (alone, ``=~ /v.*/``, ``!= null``), not as unset (``==
null``, ``!$CI_COMMIT_TAG``)."""


def _release_only(job: dict[str, Value]) -> str:
    """Why the job runs only for releases (``release:``, ``only: [tags]``, rules that all need
    ``$CI_COMMIT_TAG``), or ``""``."""
    if job.get("release") is not None:
        return "it makes a release (`release:`)"
    only = job.get("only")
    if only is not None:
        refs = only.get("refs") if only.map is not None else only
        names = [t.strip() for v in flatten(refs) if (t := v.text)]
        if names and all(n == "tags" for n in names):
            return "it runs only for tags (`only: tags`)"
    rules = job.get("rules")
    items = rules.seq if rules is not None else None
    if not items:
        return ""
    runnable = []
    for rule in items:
        when = rule.get("when")
        if when is not None and (when.text or "").strip() == "never":
            continue
        runnable.append(rule)
    if not runnable:
        return ""
    for rule in runnable:
        condition = rule.get("if")
        text = condition.text if condition is not None else None
        if not text or not all(_TAG_TEST.search(part) for part in text.split("||")):
            return ""
    return "its `rules:` run it only for tags"


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
                untracked=truthy(mapping.get("untracked")),
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


def _parallel(value: Value | None) -> tuple[int, str]:
    """How many instances of the job run (``parallel: N``, or the sum over ``matrix`` entries of
    the product of each entry's list lengths, as GitLab counts them), and how it was counted.
    At most 200, GitLab's limit."""
    if value is None:
        return 1, ""
    if isinstance(value.data, int) and not isinstance(value.data, bool):
        count = max(1, min(value.data, 200))
        return count, f"parallel: {count}"
    matrix = value.get("matrix")
    if matrix is None:
        return 1, "parallel: not a number (counted once)"
    total = 0
    terms = []
    unknown = False
    for entry in matrix.items():
        product = 1
        factors = []
        for axis in (entry.map or {}).values():
            items = axis.items()
            product *= max(1, len(items))
            factors.append(str(max(1, len(items))))
            if len(items) == 1 and "$[[" in (items[0].text or ""):
                unknown = True  # an input that expands to a list: its length is unknown
        total += product
        terms.append("×".join(factors) or "1")
    note = f"matrix {' + '.join(terms)}"
    if unknown:
        note += " (a list from `$[[ inputs ]]` counted once)"
    return max(1, min(total, 200)), note


def _image(value: Value | None) -> str | None:
    if value is None:
        return None
    if value.text is not None:
        return value.text
    name = value.get("name")
    return name.text if name is not None else None


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

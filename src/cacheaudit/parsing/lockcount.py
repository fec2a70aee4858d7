"""How many packages (and bytes, where recorded) one install of a lock file downloads, for the
score's install map. Pure functions of the lock file's text and the install's selection of groups,
extras and dev dependencies, evaluated for one target job (:data:`TARGET_ENV`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from cacheaudit.parsing.lockfiles import _json, load_toml

if TYPE_CHECKING:
    from cacheaudit.parsing.shell import InstallCommand


TARGET_ENV: dict[str, str] = {
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "platform_release": "",
    "platform_version": "",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "python_full_version": "3.12.8",
    "implementation_version": "3.12.8",
    "extra": "",
}
"""The job a package count is for: a Linux x86_64 CI runner or image with CPython 3.12 (the
environment PEP 508 markers are evaluated in, and the wheel whose size is counted)."""


@dataclass(frozen=True)
class Selection:
    """What one install takes from a lock file (see :func:`selection_for`)."""

    main: bool = True
    """The project's main dependencies (False for ``--only-group``, poetry ``--only``)."""
    dev: bool = True
    """The dependencies installed by default besides the main ones: uv's ``dev`` group, poetry's
    groups, pdm's dev groups, npm/yarn/pnpm ``devDependencies``; Pipfile ``develop`` (pipenv
    installs it only with ``--dev``)."""
    groups: frozenset[str] = frozenset()
    """Dependency groups asked for by name (``--group``, ``--with``, ``-G``)."""
    extras: frozenset[str] = frozenset()
    """Extras asked for by name (``--extra``, ``-E``, ``.[extra]``)."""
    all_groups: bool = False
    all_extras: bool = False
    exclude_groups: frozenset[str] = frozenset()
    """Groups left out (``--without``, ``--no-group``; poetry's optional groups)."""

    def wants_group(self, group: str, *, default: bool) -> bool:
        """Whether ``group`` is installed; ``default`` says whether the tool installs it
        unasked (uv: ``dev``; poetry, pdm: every group)."""
        if group in self.exclude_groups:
            return False
        return self.all_groups or group in self.groups or (default and self.dev)

    def wants_extra(self, extra: str) -> bool:
        return self.all_extras or extra in self.extras


@dataclass(frozen=True)
class PackageCount:
    """What one install of a lock file downloads."""

    packages: int
    exact: bool
    """True when the lock says exactly which packages are installed; False for an upper or
    lower bound (a yarn.lock cannot tell dev dependencies apart)."""
    bytes: int | None
    """Download size where the lock records it (uv.lock), None otherwise: never invented."""
    source: str
    """How it was counted (``uv.lock (groups: dev)``)."""


def count_lock_packages(
    name: str,
    text: str,
    selection: Selection | None = None,
    *,
    document: dict[str, Any] | str | None = None,
) -> PackageCount | None:
    """Packages (and bytes, where recorded) that an install reading lock file ``name`` (a base
    name: ``uv.lock``, ``poetry.lock``, ``pdm.lock``, ``Pipfile.lock``, ``package-lock.json``,
    ``npm-shrinkwrap.json``, ``yarn.lock``, ``pnpm-lock.yaml``) with ``text`` downloads for the
    target job (:data:`TARGET_ENV`). Local and workspace packages are not counted; platform
    markers and ``os``/``cpu`` conditions for other systems are left out. None when the file
    cannot be parsed. ``document``: the TOML locks' :func:`load_toml` of ``text`` when the
    caller already has it (:func:`~cacheaudit.parsing.lockfiles.toml_document`)."""
    chosen = selection or Selection()
    toml_counters = {"uv.lock": _count_uv, "poetry.lock": _count_poetry, "pdm.lock": _count_pdm}
    counters = {
        "Pipfile.lock": _count_pipfile,
        "package-lock.json": _count_npm,
        "npm-shrinkwrap.json": _count_npm,
        "yarn.lock": _count_yarn,
        "pnpm-lock.yaml": _count_pnpm,
    }
    from cacheaudit.parsing.yaml import YamlError

    try:
        toml_counter = toml_counters.get(name)
        if toml_counter is not None:
            return toml_counter(load_toml(text) if document is None else document, chosen)
        counter = counters.get(name)
        return None if counter is None else counter(text, chosen)
    except (YamlError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def selection_for(install: InstallCommand) -> Selection:
    """The :class:`Selection` an install command makes, from its options and defaults."""
    tool = install.tool
    options = set(install.options)
    values = install.option_values

    def named(*flags: str) -> frozenset[str]:
        return frozenset(
            part.strip()
            for option, value in values
            if option in flags
            for part in value.replace(",", " ").split()
        )

    extras = named("--extra", "-E", "--extras")
    for target in install.local_targets:
        if target.endswith("]") and "[" in target:
            extras |= {e.strip() for e in target[target.index("[") + 1 : -1].split(",")}
    groups = named("--group", "--with", "-G", "--only-group", "--only")
    env = dict(install.command.env)
    if tool in ("npm", "yarn", "pnpm", "bun"):
        omit = named("--omit")
        production = bool({"--production", "--prod", "-P"} & options) or "dev" in omit
        production |= env.get("NODE_ENV") == "production" and tool != "bun"
        production |= ("--only", "prod") in values or ("--only", "production") in values
        return Selection(dev=not production)
    if tool == "pipenv":
        return Selection(dev=bool({"--dev", "-d"} & options))
    if tool == "uv":
        only_uv = bool({"--only-group", "--only-dev"} & options)
        no_dev = bool({"--no-dev", "--no-default-groups"} & options)
        return Selection(
            main=not only_uv,
            dev=(not no_dev and not only_uv) or "--only-dev" in options,
            groups=groups | ({"dev"} if "--only-dev" in options else frozenset()),
            extras=extras,
            all_groups="--all-groups" in options,
            all_extras="--all-extras" in options,
            exclude_groups=named("--no-group"),
        )
    if tool == "poetry":
        only = named("--only")
        return Selection(
            main=not only or "main" in only,
            dev=not only and "--no-dev" not in options and "--only-root" not in options,
            groups=groups,
            extras=extras,
            all_extras="--all-extras" in options,
            exclude_groups=named("--without"),
        )
    if tool == "pdm":
        return Selection(
            main="--no-default" not in options,
            dev=not ({"--prod", "--production"} & options),
            groups=groups,
            all_groups=":all" in groups,
        )
    return Selection(dev=False, groups=groups, extras=extras, all_extras="--all-extras" in options)


def _marker_ok(marker: object, extras: frozenset[str] = frozenset()) -> bool:
    """Whether a PEP 508 marker holds in the target job (unparsable markers count as true:
    a package is never dropped on a guess)."""
    if not isinstance(marker, str) or not marker.strip():
        return True
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison

    try:
        parsed = Marker(marker)
        if "extra" not in marker:
            return bool(parsed.evaluate(TARGET_ENV))
        return any(parsed.evaluate({**TARGET_ENV, "extra": e}) for e in (extras or frozenset({""})))
    except (InvalidMarker, UndefinedComparison, ValueError, TypeError):
        return True


# uv.lock ------------------------------------------------------------------------------------


def _count_uv(data: dict[str, Any] | str, selection: Selection) -> PackageCount | None:
    if isinstance(data, str):
        return None
    packages = [p for p in data.get("package", []) if isinstance(p, dict) and p.get("name")]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for package in packages:
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)
    roots = [p for p in packages if _uv_local(p)]
    members = (
        data.get("manifest", {}).get("members") if isinstance(data.get("manifest"), dict) else None
    )
    if isinstance(members, list) and members:
        wanted = {canonicalize_name(str(m)) for m in members}
        roots = [p for p in roots if canonicalize_name(p["name"]) in wanted] or roots
    seen: set[int] = set()
    stack: list[tuple[dict[str, Any], frozenset[str]]] = []

    def push(dep: Any) -> None:
        if not isinstance(dep, dict) or not _marker_ok(dep.get("marker"), selection.extras):
            return
        for target in by_name.get(canonicalize_name(str(dep.get("name", ""))), []):
            if "version" in dep and target.get("version") != dep["version"]:
                continue
            stack.append((target, frozenset(dep.get("extra", ()))))

    for root in roots:
        seen.add(id(root))
        if selection.main:
            for dep in root.get("dependencies", []):
                push(dep)
        for extra, deps in (root.get("optional-dependencies") or {}).items():
            if selection.wants_extra(extra):
                for dep in deps:
                    push(dep)
        for group, deps in (root.get("dev-dependencies") or {}).items():
            if selection.wants_group(group, default=group == "dev"):
                for dep in deps:
                    push(dep)
    counted: list[dict[str, Any]] = []
    expanded: set[tuple[int, frozenset[str]]] = set()
    while stack:
        package, extras = stack.pop()
        if (id(package), extras) in expanded:
            continue
        expanded.add((id(package), extras))
        if id(package) not in seen:
            seen.add(id(package))
            if not _uv_local(package):
                counted.append(package)
        for dep in package.get("dependencies", []):
            push(dep)
        for extra in extras:
            for dep in (package.get("optional-dependencies") or {}).get(extra, []):
                push(dep)
    sizes = [_uv_size(p) for p in counted]
    total = sum(s for s in sizes if s is not None) if all(s is not None for s in sizes) else None
    return PackageCount(len(counted), True, total, f"uv.lock{_described(selection)}")


def _uv_local(package: dict[str, Any]) -> bool:
    source = package.get("source")
    return isinstance(source, dict) and bool(
        {"editable", "virtual", "directory", "path"} & set(source)
    )


def _uv_size(package: dict[str, Any]) -> int | None:
    """Bytes of the file a Linux x86_64 CPython 3.12 job downloads: the best matching wheel,
    else the sdist."""
    best: tuple[int, int] | None = None
    for wheel in package.get("wheels", []):
        if not isinstance(wheel, dict):
            continue
        filename = str(wheel.get("url") or wheel.get("path") or wheel.get("filename") or "")
        rank = _wheel_rank(filename.rsplit("/", 1)[-1])
        size = wheel.get("size")
        if rank is not None and isinstance(size, int) and (best is None or rank > best[0]):
            best = (rank, size)
    if best is not None:
        return best[1]
    sdist = package.get("sdist")
    size = sdist.get("size") if isinstance(sdist, dict) else None
    return size if isinstance(size, int) else None


def _wheel_rank(filename: str) -> int | None:
    """How well a wheel fits the target job (higher is better), None when it cannot install."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    if len(parts) < 5:
        return None
    pythons, abis, platforms = (set(p.split(".")) for p in parts[-3:])
    python_ok = bool({"cp312", "py3", "py312", "py2.py3"} & pythons) or any(
        p.startswith("cp3") and p[3:].isdigit() and int(p[3:]) <= 12 and "abi3" in abis
        for p in pythons
    )
    abi_ok = bool({"none", "abi3", "cp312"} & abis)
    platform = 0
    for tag in platforms:
        if tag == "any":
            platform = max(platform, 1)
        elif tag.startswith("manylinux") and tag.endswith("x86_64"):
            platform = max(platform, 3)
        elif (tag.startswith("musllinux") and tag.endswith("x86_64")) or tag == "linux_x86_64":
            platform = max(platform, 2)
    if not (python_ok and abi_ok and platform):
        return None
    return platform * 10 + (2 if "cp312" in abis else 1 if "abi3" in abis else 0)


def _described(selection: Selection) -> str:
    parts = []
    if not selection.main:
        parts.append("no main")
    if selection.all_groups:
        parts.append("all groups")
    elif selection.groups:
        parts.append("groups: " + ", ".join(sorted(selection.groups)))
    if not selection.dev:
        parts.append("no dev")
    if selection.all_extras:
        parts.append("all extras")
    elif selection.extras:
        parts.append("extras: " + ", ".join(sorted(selection.extras)))
    return f" ({'; '.join(parts)})" if parts else ""


# poetry.lock, pdm.lock, Pipfile.lock --------------------------------------------------------


def _count_poetry(data: dict[str, Any] | str, selection: Selection) -> PackageCount | None:
    if isinstance(data, str):
        return None
    raw_extras = data.get("extras")
    extras_table: dict[str, Any] = raw_extras if isinstance(raw_extras, dict) else {}
    in_extras = {
        canonicalize_name(str(n).split("[")[0].split(" ")[0])
        for extra, names in extras_table.items()
        if selection.wants_extra(extra)
        for n in names
    }
    count = 0
    for package in data.get("package", []):
        if not isinstance(package, dict):
            continue
        groups = package.get("groups") or [package.get("category", "main")]
        groups = ["main" if g in ("main", "default") else str(g) for g in groups]
        wanted = any(
            (selection.main if g == "main" else selection.wants_group(g, default=True))
            for g in groups
        )
        if package.get("optional") and "main" in groups and len(groups) == 1:
            wanted = canonicalize_name(str(package.get("name", ""))) in in_extras
        markers = package.get("markers")
        if isinstance(markers, dict):  # lock 2.1: per-group markers
            ok = any(_marker_ok(markers.get(g), selection.extras) for g in groups if g in markers)
            ok = ok or any(g not in markers for g in groups)
        else:
            ok = _marker_ok(markers, selection.extras or frozenset(extras_table))
        source = package.get("source")
        local = isinstance(source, dict) and source.get("type") in ("directory", "file")
        count += bool(wanted and ok and not local)
    return PackageCount(count, True, None, f"poetry.lock{_described(selection)}")


def _count_pdm(data: dict[str, Any] | str, selection: Selection) -> PackageCount | None:
    if isinstance(data, str):
        return None
    counted: set[tuple[str, str]] = set()
    for package in data.get("package", []):
        if not isinstance(package, dict):
            continue
        groups = [str(g) for g in package.get("groups", ["default"])]
        wanted = any(
            (selection.main if g == "default" else selection.wants_group(g, default=True))
            for g in groups
        )
        local = "path" in package or "editable" in package
        if wanted and not local and _marker_ok(package.get("marker")):
            # `coverage` and `coverage[toml]` are two entries, one download
            counted.add((canonicalize_name(str(package.get("name"))), str(package.get("version"))))
    return PackageCount(len(counted), True, None, f"pdm.lock{_described(selection)}")


def _count_pipfile(text: str, selection: Selection) -> PackageCount | None:
    data = _json(text)
    if not isinstance(data, dict):
        return None
    names: set[str] = set()
    sections = (["default"] if selection.main else []) + (["develop"] if selection.dev else [])
    for section in sections:
        for name, entry in (data.get(section) or {}).items():
            if isinstance(entry, dict) and ("path" in entry or entry.get("editable")):
                continue
            if _marker_ok(entry.get("markers") if isinstance(entry, dict) else None):
                names.add(canonicalize_name(name))
    return PackageCount(len(names), True, None, f"Pipfile.lock{_described(selection)}")


# package-lock.json, yarn.lock, pnpm-lock.yaml -----------------------------------------------

_NODE_OS, _NODE_CPU = "linux", "x64"


def _node_platform_ok(os_list: Any, cpu_list: Any) -> bool:
    """npm's os/cpu fields (``["darwin"]``, ``["!win32"]``) against a Linux x64 job."""

    def fits(values: Any, current: str) -> bool:
        if not isinstance(values, list) or not values:
            return True
        allowed = [v for v in values if isinstance(v, str) and not v.startswith("!")]
        denied = [v[1:] for v in values if isinstance(v, str) and v.startswith("!")]
        return current not in denied and (not allowed or current in allowed)

    return fits(os_list, _NODE_OS) and fits(cpu_list, _NODE_CPU)


def _count_npm(text: str, selection: Selection) -> PackageCount | None:
    data = _json(text)
    if not isinstance(data, dict):
        return None
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfile v2/v3
        count = 0
        for path, entry in packages.items():
            if not path or "node_modules/" not in path or not isinstance(entry, dict):
                continue
            if entry.get("link") or entry.get("inBundle") or entry.get("extraneous"):
                continue
            if not selection.dev and entry.get("dev"):
                continue
            if entry.get("optional") and not _node_platform_ok(entry.get("os"), entry.get("cpu")):
                continue
            count += 1
        return PackageCount(count, True, None, f"package-lock.json{_described(selection)}")
    dependencies = data.get("dependencies")  # lockfile v1: a nested tree
    if not isinstance(dependencies, dict):
        return None
    count, stack = 0, [dependencies]
    while stack:
        for entry in stack.pop().values():
            if not isinstance(entry, dict) or (not selection.dev and entry.get("dev")):
                continue
            count += not entry.get("bundled") and not str(entry.get("version", "")).startswith(
                "file:"
            )
            if isinstance(entry.get("dependencies"), dict):
                stack.append(entry["dependencies"])
    return PackageCount(count, True, None, f"package-lock.json v1{_described(selection)}")


def _count_yarn(text: str, selection: Selection) -> PackageCount | None:
    """yarn.lock does not mark dev dependencies: with ``dev`` off the count is an upper bound."""
    exact = selection.dev
    if "__metadata:" in text:  # berry: YAML
        return _count_berry(text, selection)
    count = 0
    for block in text.split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln.strip() and not ln.startswith("#")]
        if not lines or lines[0].startswith(" ") or not lines[0].rstrip().endswith(":"):
            continue
        if _foreign_platform(lines[0].strip().strip('"').split(",")[0].rsplit("@", 1)[0]):
            continue  # classic locks keep no os/cpu: judged by the package's name
        resolved = next((ln for ln in lines if ln.strip().startswith("resolved ")), "")
        if not resolved and any(ln.strip().startswith('version "0.0.0-use.local"') for ln in lines):
            continue
        if resolved and "file:" in resolved:
            continue
        count += 1
    return PackageCount(count, exact, None, f"yarn.lock{_described(selection)}")


def _count_berry(text: str, selection: Selection) -> PackageCount | None:
    """Yarn 2+: the packages reachable from the workspaces, skipping those whose
    ``conditions`` exclude a Linux x64 job (and what only they need) and ``patch:`` copies."""
    from cacheaudit.parsing.yaml import load

    data = load(text)
    if not isinstance(data, dict):
        return None
    by_descriptor: dict[str, dict[str, Any]] = {}
    for key, entry in data.items():
        if key != "__metadata" and isinstance(entry, dict):
            for descriptor in str(key).split(","):
                by_descriptor[descriptor.strip().strip('"')] = entry
    roots = [e for e in by_descriptor.values() if "@workspace:" in str(e.get("resolution", ""))]
    seen: set[int] = {id(e) for e in roots}
    stack = list(roots)
    counted = 0
    while stack:
        entry = stack.pop()
        for name, spec in (entry.get("dependencies") or {}).items():
            target = by_descriptor.get(f"{name}@{spec}")
            if target is None or id(target) in seen:
                continue
            seen.add(id(target))
            if not _yarn_conditions_ok(target.get("conditions")):
                continue
            resolution = str(target.get("resolution", ""))
            local = target.get("linkType") == "soft" or "@workspace:" in resolution
            patch = "@patch:" in resolution or resolution.startswith("patch:")
            counted += not (local or patch)
            stack.append(target)
    return PackageCount(counted, selection.dev, None, f"yarn.lock (berry){_described(selection)}")


_FOREIGN = frozenset({
    "darwin", "win32", "windows", "android", "freebsd", "openbsd", "netbsd", "sunos", "aix",
    "wasm32", "wasi", "openharmony", "musl", "musleabihf",
})  # fmt: skip


def _foreign_platform(name: str) -> bool:
    """A platform-specific optional package for another system (``fsevents``,
    ``@esbuild/darwin-arm64``, ``@rollup/rollup-linux-arm64-gnu``), told by its name."""
    if name == "fsevents":
        return True
    tokens = set(name.lower().replace("@", "-").replace("/", "-").split("-"))
    if tokens & _FOREIGN:
        return True
    arches = {"arm", "arm64", "ia32", "x32", "ppc64", "s390x", "riscv64", "loong64", "mips64el"}
    return "linux" in tokens and "x64" not in tokens and bool(tokens & arches)


def _yarn_conditions_ok(conditions: Any) -> bool:
    """Berry's ``conditions: os=darwin & cpu=arm64`` against a Linux x64 job."""
    if not isinstance(conditions, str):
        return True
    for part in conditions.split("&"):
        key, _, value = part.strip().partition("=")
        current = {"os": _NODE_OS, "cpu": _NODE_CPU, "libc": "glibc"}.get(key.strip())
        if current is not None and value.strip() != current:
            return False
    return True


def _count_pnpm(text: str, selection: Selection) -> PackageCount | None:
    from cacheaudit.parsing.yaml import load

    data = load(text)
    if not isinstance(data, dict):
        return None
    raw_packages, raw_snapshots = data.get("packages"), data.get("snapshots")
    packages: dict[str, Any] = raw_packages if isinstance(raw_packages, dict) else {}
    snapshots: dict[str, Any] | None = raw_snapshots if isinstance(raw_snapshots, dict) else None

    def platform_ok(key: str) -> bool:
        entry = packages.get(key) or packages.get(key.split("(", 1)[0]) or {}
        return not isinstance(entry, dict) or _node_platform_ok(entry.get("os"), entry.get("cpu"))

    if snapshots is None:  # lockfile v5/v6: a dev flag per package
        kept = [
            key
            for key, entry in packages.items()
            if isinstance(entry, dict)
            and (selection.dev or entry.get("dev") is not True)
            and platform_ok(key)
            and "link:" not in str(key)
        ]
        count = len(kept)
        return PackageCount(count, True, None, f"pnpm-lock.yaml{_described(selection)}")
    sections = ["dependencies", "optionalDependencies"] + (
        ["devDependencies"] if selection.dev else []
    )
    stack: list[str] = []
    for importer in (data.get("importers") or {}).values():
        if not isinstance(importer, dict):
            continue
        for section in sections:
            for name, spec in (importer.get(section) or {}).items():
                version = spec.get("version") if isinstance(spec, dict) else spec
                if isinstance(version, str) and not version.startswith("link:"):
                    stack.append(version if version.startswith(f"{name}@") else f"{name}@{version}")
    seen: set[str] = set()
    while stack:
        key = stack.pop()
        if key in seen or not platform_ok(key):
            continue
        seen.add(key)
        snapshot = snapshots.get(key) or {}
        for section in ("dependencies", "optionalDependencies"):
            for name, version in (snapshot.get(section) or {}).items():
                if isinstance(version, str) and not version.startswith("link:"):
                    stack.append(version if version.startswith(f"{name}@") else f"{name}@{version}")
    downloaded = {key.split("(", 1)[0] for key in seen}  # peer variants share one tarball
    return PackageCount(len(downloaded), True, None, f"pnpm-lock.yaml{_described(selection)}")

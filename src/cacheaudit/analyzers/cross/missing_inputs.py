"""CA504 referenced-file-missing for install inputs: an install names a requirements file
that does not exist and that nothing in the same file produces."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from cacheaudit.analyzers.cross.sites import (
    INPUTS_CHECKED_BY_OWNER,
    Site,
    indented,
    same_file,
    site_location,
    workflow,
)
from cacheaudit.analyzers.dependencies import (
    closest_existing,
)
from cacheaudit.model import Finding, Fix
from cacheaudit.parsing.shell import find_installs, parse_script
from cacheaudit.repo import RepoContext
from cacheaudit.rules import RULES

# --- CA504 referenced-file-missing (install inputs) ------------------------------------------


def missing_inputs(ctx: RepoContext, sites: list[Site]) -> list[Finding]:
    by_path: dict[str, list[Site]] = {}
    for site in sites:
        if site.site.platform in INPUTS_CHECKED_BY_OWNER:
            continue
        for path in site.site.inputs:
            if path in ctx.paths or ctx.is_dir(path):
                continue
            if path in {k.strip().removeprefix("./") for k in site.site.cache_key_inputs}:
                continue  # the cache configuration names it too: its analyzer reports it
            if _produced_in(ctx, site.path, path):
                continue
            by_path.setdefault(path, []).append(site)
    findings = []
    for path in sorted(by_path):
        users = by_path[path]
        site = users[0]
        others = f" ({len(users) - 1} other install(s) name it too)" if len(users) > 1 else ""
        message = (
            f"{site.site.context} runs `{site.command}`, which installs from {path}, but "
            f"{path} does not exist in the repository{others}: the install fails"
        )
        candidate = closest_existing(ctx, path)
        if candidate is not None:
            fix = Fix(
                f"Use the existing {candidate}.",
                indented(ctx, site, site.command.replace(_written(site, path), candidate)),
            )
        else:
            fix = Fix(f"Commit {path} or correct the path in the install command.", "")
        findings.append(
            RULES["CA504"].finding(
                site_location(site),
                message,
                subject=f"{site.site.context} / input {path}",
                fix=fix,
            )
        )
    return findings


def _written(site: Site, path: str) -> str:
    """How the command spells ``path`` (``-r reqs/dev.txt`` may be relative to a directory)."""
    if site.install is not None:
        for name in (*site.install.requirement_files, *site.install.constraint_files):
            if same_file(path, name):
                return name
    return path


def _produced_in(ctx: RepoContext, holder: str, path: str) -> bool:
    """Whether a command elsewhere in ``holder`` (the workflow or pipeline file) writes ``path``
    before it is installed: ``pip-compile -o``, ``uv export > ...``, ``cp``, ``curl -o``."""
    text = ctx.read_text(holder)
    name = posixpath.basename(path)
    if text is None or name not in text:
        return False
    for script in _scripts(ctx, holder):
        if name not in script:
            continue
        commands = parse_script(script)
        installs = {id(i.command) for i in find_installs(commands)}
        if any(id(c) not in installs and name in _outputs(c.argv, c.text) for c in commands):
            return True
    return False


_OUTPUT_OPTIONS = frozenset({"-o", "-O", "--output", "--output-file", "--out"})
_COPIERS = frozenset({"cp", "mv", "ln", "install", "tee", "touch", "sed", "envsubst"})


def _outputs(argv: tuple[str, ...], text: str) -> set[str]:
    """Base names of the files one command writes, as far as its words show."""
    out = {posixpath.basename(m.group(1).strip("'\"")) for m in _REDIRECT.finditer(text)}
    for i, word in enumerate(argv):
        option, eq, value = word.partition("=")
        if eq and option in _OUTPUT_OPTIONS:
            out.add(posixpath.basename(value))
        elif word in _OUTPUT_OPTIONS and i + 1 < len(argv):
            out.add(posixpath.basename(argv[i + 1]))
    program = posixpath.basename(argv[0]) if argv else ""
    if program in _COPIERS and len(argv) > 1:
        out.add(posixpath.basename(argv[-1]))
    if program == "pip-compile":  # writes X.txt next to its X.in (or requirements.txt)
        sources = [a for a in argv[1:] if a.endswith(".in")]
        out.update(posixpath.basename(a[:-3]) + ".txt" for a in sources)
        out.add("requirements.txt")
    return out


_REDIRECT = re.compile(r">>?\s*(\S+)")


def _scripts(ctx: RepoContext, path: str) -> list[str]:
    """Every multi-word string in a YAML file: where ``run:`` and ``script:`` text lives."""
    doc = workflow(ctx, path)
    out: list[str] = []
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and " " in node:
            out.append(node)
    return out

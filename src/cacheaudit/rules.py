"""The rule catalogue: every rule's id, name, area, severity and one-line summary.

Each rule's documentation is a Markdown page beside this module, ``ruledocs/<ID>.md``, in ruff's
sections (What it does / Why is this bad? / Example / Use instead / Fix / References), read
lazily by ``explain``, SARIF ``rules[]`` and the README table. A rule's check and its fix live in
its analyzer's rule module; adding a rule means: a line here, its page, its check, its fixtures.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from cacheaudit.errors import UsageError
from cacheaudit.model import Category, Finding, Fix, Location, Severity

_ID = re.compile(r"^CA\d{3}$")
MAX_SNIPPET = 8_000
"""Fix snippets longer than this (a rewritten megabyte-long RUN) are shortened in the middle."""


def _shorten(snippet: str) -> str:
    half = MAX_SNIPPET // 2
    cut = len(snippet) - 2 * half
    return f"{snippet[:half]}\n… ({cut:,} characters left out) …\n{snippet[-half:]}"


_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix", "References")
"""The sections every rule page has, in this order (a test checks them)."""


@dataclass(frozen=True)
class RuleDocs:
    """A rule's documentation page, parsed."""

    what_it_does: str
    why_bad: str
    example: str
    """A bad example (YAML, Dockerfile, requirements...)."""
    use_instead: str
    """The same example, fixed."""
    fix: str
    """How to fix it, in one or two sentences."""
    references: tuple[str, ...]
    """Official documentation URLs, most relevant first."""
    example_language: str
    """Syntax of ``example``/``use_instead`` (the fence's info string)."""


def parse_rule_page(rule_id: str, text: str) -> RuleDocs:
    """The sections of one ``ruledocs/<ID>.md`` page; ValueError when one is missing."""
    parts = re.split(r"(?m)^## ", text)
    sections = {}
    for part in parts[1:]:
        title, _, body = part.partition("\n")
        sections[title.strip()] = body.strip("\n")
    missing = [name for name in SECTIONS if name not in sections]
    if missing:
        raise ValueError(f"ruledocs/{rule_id}.md lacks section(s): {', '.join(missing)}")

    def code(body: str) -> tuple[str, str]:
        match = re.fullmatch(r"```(\w*)\n(.*)\n```", body.strip(), re.DOTALL)
        if match is None:
            raise ValueError(f"ruledocs/{rule_id}.md: an example is not one fenced block")
        return match.group(1), match.group(2)

    language, example = code(sections["Example"])
    _, use_instead = code(sections["Use instead"])
    references = tuple(
        line.strip()[2:].strip().strip("<>")
        for line in sections["References"].splitlines()
        if line.strip().startswith("- ")
    )
    return RuleDocs(
        what_it_does=sections["What it does"].strip(),
        why_bad=sections["Why is this bad?"].strip(),
        example=example,
        use_instead=use_instead,
        fix=sections["Fix"].strip(),
        references=references,
        example_language=language or "text",
    )


@functools.cache
def rule_docs(rule_id: str) -> RuleDocs:
    """The parsed page of a rule, read from the package once per process, only when asked."""
    page = resources.files("cacheaudit") / "ruledocs" / f"{rule_id}.md"
    return parse_rule_page(rule_id, page.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Rule:
    """One rule's metadata; its documentation is read from ``ruledocs/<ID>.md`` on demand."""

    id: str
    """``CA`` + three digits."""
    name: str
    """Kebab-case name; accepted anywhere an id is."""
    category: Category
    severity: Severity
    """Default severity; config may override it per rule."""
    summary: str
    """One line, shown in ``cacheaudit rules`` and as SARIF shortDescription."""
    security: bool = False
    """Cache poisoning and trust rather than waste."""
    default_enabled: bool = True
    """False for opt-in rules, which run only when ``select`` names them."""

    def __post_init__(self) -> None:
        if not _ID.match(self.id) or not _NAME.match(self.name):
            raise ValueError(f"bad rule id or name: {self.id} {self.name}")

    @property
    def docs(self) -> RuleDocs:
        return rule_docs(self.id)

    @property
    def what_it_does(self) -> str:
        return self.docs.what_it_does

    @property
    def why_bad(self) -> str:
        return self.docs.why_bad

    @property
    def example(self) -> str:
        return self.docs.example

    @property
    def use_instead(self) -> str:
        return self.docs.use_instead

    @property
    def fix(self) -> str:
        return self.docs.fix

    @property
    def references(self) -> tuple[str, ...]:
        return self.docs.references

    @property
    def example_language(self) -> str:
        return self.docs.example_language

    @property
    def help_uri(self) -> str:
        return self.references[0] if self.references else ""

    def finding(
        self,
        location: Location,
        message: str,
        *,
        subject: str,
        fix: Fix | None = None,
        weight: float = 1.0,
    ) -> Finding:
        """The only way to make a Finding: stamps metadata and the stable fingerprint."""
        if not location.path:
            raise ValueError(f"{self.id}: a finding needs a location")
        # surrogatepass: a file name that is not UTF-8 reaches us as lone surrogates.
        identity = f"{self.id}\0{location.path}\0{subject}".encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(identity).hexdigest()
        if fix is not None and len(fix.snippet) > MAX_SNIPPET:
            fix = dataclasses.replace(fix, snippet=_shorten(fix.snippet))
        return Finding(
            rule_id=self.id,
            rule_name=self.name,
            severity=self.severity,
            category=self.category,
            location=location,
            message=message,
            subject=subject,
            fingerprint=digest[:32],
            fix=fix,
            weight=weight,
            security=self.security,
        )


# The catalogue: metadata only. Each rule's documentation is src/cacheaudit/ruledocs/<ID>.md.
# Keep ids and names: they are the user-facing contract.
CATALOGUE: tuple[Rule, ...] = (
    Rule(
        "CA001",
        "parse-error",
        Category.NOTICE,
        Severity.WARNING,
        "A file of a known kind could not be parsed.",
    ),
    Rule(
        "CA002",
        "file-skipped",
        Category.NOTICE,
        Severity.INFO,
        "File skipped: too large, binary, unreadable, not UTF-8, or a symlink leaving the root.",
    ),
    Rule(
        "CA004",
        "dockerfile-trailing-suppression",
        Category.NOTICE,
        Severity.INFO,
        "A suppression comment at the end of a Dockerfile instruction: Docker reads it as "
        "arguments, so it is not honoured.",
    ),
    Rule(
        "CA101",
        "gha-install-without-cache",
        Category.CI,
        Severity.WARNING,
        "A job installs from a registry and nothing in the job caches that tool's downloads.",
    ),
    Rule(
        "CA102",
        "setup-python-cache-no-dependency-file",
        Category.CI,
        Severity.ERROR,
        "setup-python caching finds no dependency file, so the step fails.",
    ),
    Rule(
        "CA103",
        "setup-node-cache-no-lockfile",
        Category.CI,
        Severity.ERROR,
        "setup-node caching finds no lock file, so the step fails.",
    ),
    Rule(
        "CA104",
        "cache-defeated-by-flag",
        Category.CI,
        Severity.WARNING,
        "A pip cache is configured but installs disable pip's cache or bypass it.",
    ),
    Rule(
        "CA105",
        "cache-key-not-content-addressed",
        Category.CI,
        Severity.WARNING,
        "actions/cache key does not hash a lock or requirements file.",
    ),
    Rule(
        "CA106",
        "cache-key-hashes-nothing",
        Category.CI,
        Severity.ERROR,
        "hashFiles() patterns in a cache key match no file, so the key is constant.",
    ),
    Rule(
        "CA107",
        "cache-key-missing-runtime",
        Category.CI,
        Severity.WARNING,
        "An installed environment is cached under a key without the OS or runtime version.",
    ),
    Rule(
        "CA108",
        "caching-node-modules",
        Category.CI,
        Severity.INFO,
        "actions/cache caches node_modules instead of npm's download cache.",
    ),
    Rule(
        "CA109",
        "broken-cache-action-version",
        Category.CI,
        Severity.ERROR,
        "A cache-using action is pinned to a version that no longer works with the cache service.",
    ),
    Rule(
        "CA110",
        "cache-poisoning-risk",
        Category.CI,
        Severity.WARNING,
        "A release or privileged workflow restores a cache that less-trusted runs can write.",
        security=True,
    ),
    Rule(
        "CA111",
        "docker-build-without-layer-cache",
        Category.CI,
        Severity.WARNING,
        "A Docker build in a workflow has no layer cache source and export.",
    ),
    Rule(
        "CA112",
        "pr-only-cache",
        Category.CI,
        Severity.INFO,
        "Caching in a workflow that runs only on pull_request: no PR can reuse another's cache.",
    ),
    Rule(
        "CA113",
        "restore-keys-missing",
        Category.CI,
        Severity.INFO,
        "A content-addressed cache key has no restore-keys, so every lock change starts cold.",
    ),
    Rule(
        "CA114",
        "apt-install-every-run",
        Category.CI,
        Severity.INFO,
        "apt-get install in a job on every run.",
        default_enabled=False,
    ),
    Rule(
        "CA201",
        "gitlab-install-without-cache",
        Category.CI,
        Severity.WARNING,
        "A GitLab job installs from a registry and has no cache.",
    ),
    Rule(
        "CA202",
        "gitlab-cache-outside-project",
        Category.CI,
        Severity.ERROR,
        "A GitLab cache path is outside $CI_PROJECT_DIR or the tool never writes there.",
    ),
    Rule(
        "CA203",
        "gitlab-cache-key-static",
        Category.CI,
        Severity.WARNING,
        "A GitLab dependency cache has no key or a constant key.",
    ),
    Rule(
        "CA204",
        "gitlab-cache-policy-push-everywhere",
        Category.CI,
        Severity.INFO,
        "Several jobs share a dependency cache and all push it.",
    ),
    Rule(
        "CA205",
        "gitlab-cache-unprotect",
        Category.CI,
        Severity.WARNING,
        "unprotect: true lets unprotected branches write caches protected branches read.",
        security=True,
    ),
    Rule(
        "CA206",
        "gitlab-cache-defeated-by-flag",
        Category.CI,
        Severity.WARNING,
        "A GitLab job caches pip but its installs disable pip's cache.",
    ),
    Rule(
        "CA207",
        "gitlab-docker-build-without-cache",
        Category.CI,
        Severity.WARNING,
        "docker build in a GitLab job without a cache source.",
    ),
    Rule(
        "CA301",
        "docker-install-without-cache-mount",
        Category.DOCKER,
        Severity.WARNING,
        "A package install in RUN without a BuildKit cache mount.",
    ),
    Rule(
        "CA302",
        "docker-cache-mount-defeated",
        Category.DOCKER,
        Severity.ERROR,
        "A cache mount is present but the install disables the tool's cache.",
    ),
    Rule(
        "CA303",
        "docker-copy-before-install",
        Category.DOCKER,
        Severity.WARNING,
        "The whole source tree is copied before dependencies are installed.",
    ),
    Rule(
        "CA304",
        "docker-cache-mount-wrong-target",
        Category.DOCKER,
        Severity.WARNING,
        "The cache mount target is not where the tool writes its cache.",
    ),
    Rule(
        "CA305",
        "docker-apt-lists-left",
        Category.DOCKER,
        Severity.INFO,
        "apt package lists left in a shipped image.",
    ),
    Rule(
        "CA306",
        "docker-apt-update-alone",
        Category.DOCKER,
        Severity.WARNING,
        "apt-get update in a RUN of its own leaves a stale index in the layer cache.",
    ),
    Rule(
        "CA307",
        "docker-npm-install-not-ci",
        Category.DOCKER,
        Severity.INFO,
        "npm install where npm ci fits.",
    ),
    Rule(
        "CA308",
        "docker-apt-downloads-not-cached",
        Category.DOCKER,
        Severity.INFO,
        "apt-get install without apt cache mounts: every rebuild downloads the .debs again.",
    ),
    Rule(
        "CA401",
        "unpinned-install-inputs",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "CI or Docker installs from unpinned requirements with no lock or constraints.",
    ),
    Rule(
        "CA402",
        "vcs-requirement-unpinned",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "A VCS requirement on a branch or tag, not a commit, is rebuilt on every install.",
    ),
    Rule(
        "CA403",
        "no-lockfile",
        Category.DEPENDENCIES,
        Severity.INFO,
        "An application installed in CI or Docker has no lock file.",
    ),
    Rule(
        "CA404",
        "requirements-without-hashes",
        Category.DEPENDENCIES,
        Severity.INFO,
        "A fully pinned requirements file without --hash lines.",
        default_enabled=False,
    ),
    Rule(
        "CA501",
        "lockfile-not-used",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "A lock file exists but installs ignore it.",
    ),
    Rule(
        "CA502",
        "locked-install-not-enforced",
        Category.DEPENDENCIES,
        Severity.INFO,
        "A lock-aware install does not enforce the lock file.",
    ),
    Rule(
        "CA503",
        "cache-key-ignores-install-input",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "The cache key hashes files other than those the job installs from.",
    ),
    Rule(
        "CA504",
        "referenced-file-missing",
        Category.DEPENDENCIES,
        Severity.ERROR,
        "A cache or install configuration names a file that does not exist.",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in CATALOGUE}
_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in CATALOGUE}
DEFAULT_RULE_IDS: frozenset[str] = frozenset(r.id for r in CATALOGUE if r.default_enabled)
"""The rules that run when ``select`` is not given."""


def get_rule(key: str) -> Rule:
    """A rule by id (any case) or name; UsageError when unknown."""
    rule = RULES.get(key.strip().upper()) or _BY_NAME.get(key.strip().lower())
    if rule is None:
        raise UsageError(f"unknown rule {key!r} (see `cacheaudit rules`)")
    return rule


def match_rules(selectors: Iterable[str]) -> frozenset[str]:
    """Rule ids matched by ids, names or id prefixes such as ``CA3`` or ``CA10``.

    Opt-in rules (``default_enabled=False``) are matched only when named by id or name, never by
    a prefix or ``ALL``: selecting ``CA4`` must not switch on a rule that is off by design."""
    matched: set[str] = set()
    for raw in selectors:
        key = raw.strip()
        if not key:
            continue
        upper = key.upper()
        if upper == "ALL":
            matched.update(DEFAULT_RULE_IDS)
            continue
        if re.fullmatch(r"CA\d{0,3}", upper):
            ids = {rule_id for rule_id in RULES if rule_id.startswith(upper)}
            if not ids:
                raise UsageError(f"unknown rule or prefix {key!r} (see `cacheaudit rules`)")
            if upper in RULES:
                matched.add(upper)
            else:
                matched.update(ids & DEFAULT_RULE_IDS)
            continue
        matched.add(get_rule(key).id)
    return frozenset(matched)

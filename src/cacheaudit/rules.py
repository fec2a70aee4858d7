"""The rule catalogue: the single source of every rule's id, name, severity and documentation.

``cacheaudit rules``, ``cacheaudit explain``, SARIF ``rules[]`` and the README table are all
rendered from here. Documentation sections follow ruff's layout: what it does, why it is bad, an
example, what to use instead, and references.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cacheaudit.errors import UsageError
from cacheaudit.model import Category, Finding, Fix, Location, Severity

_ID = re.compile(r"^CA\d{3}$")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """One rule: metadata plus ruff-style documentation."""

    id: str
    """``CA`` + three digits."""
    name: str
    """Kebab-case name; accepted anywhere an id is."""
    category: Category
    severity: Severity
    """Default severity; config may override it per rule."""
    summary: str
    """One line, shown in ``cacheaudit rules`` and as SARIF shortDescription."""
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
    security: bool = False
    """Cache poisoning and trust rather than waste."""
    example_language: str = "yaml"
    """Syntax of ``example``/``use_instead`` for highlighting: yaml, dockerfile, text, toml."""

    def __post_init__(self) -> None:
        if not _ID.match(self.id) or not _NAME.match(self.name):
            raise ValueError(f"bad rule id or name: {self.id} {self.name}")

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
        digest = hashlib.sha256(f"{self.id}\0{location.path}\0{subject}".encode()).hexdigest()
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


def _rule(
    id: str,
    name: str,
    category: Category,
    severity: Severity,
    summary: str,
    *,
    what_it_does: str,
    why_bad: str,
    example: str,
    use_instead: str,
    fix: str,
    references: Iterable[str],
    security: bool = False,
    example_language: str = "yaml",
) -> Rule:
    return Rule(
        id=id,
        name=name,
        category=category,
        severity=severity,
        summary=summary,
        what_it_does=what_it_does.strip(),
        why_bad=why_bad.strip(),
        example=example.strip("\n"),
        use_instead=use_instead.strip("\n"),
        fix=fix.strip(),
        references=tuple(references),
        security=security,
        example_language=example_language,
    )


# The catalogue. Keep ids and names: they are the user-facing contract.
CATALOGUE: tuple[Rule, ...] = (
    _rule(
        "CA001",
        "parse-error",
        Category.NOTICE,
        Severity.WARNING,
        "A file of a known kind could not be parsed.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA002",
        "file-skipped",
        Category.NOTICE,
        Severity.INFO,
        "A file was skipped: too large, binary, unreadable, not UTF-8, or a symlink leaving the root.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA101",
        "gha-install-without-cache",
        Category.CI,
        Severity.WARNING,
        "A job installs from a registry and nothing in the job caches that tool's downloads.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA102",
        "setup-python-cache-no-dependency-file",
        Category.CI,
        Severity.ERROR,
        "setup-python caching finds no dependency file, so the step fails.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA103",
        "setup-node-cache-no-lockfile",
        Category.CI,
        Severity.ERROR,
        "setup-node caching finds no lock file, so the step fails.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA104",
        "cache-defeated-by-flag",
        Category.CI,
        Severity.WARNING,
        "A pip cache is configured but installs disable pip's cache or bypass it.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA105",
        "cache-key-not-content-addressed",
        Category.CI,
        Severity.WARNING,
        "actions/cache key does not hash a lock or requirements file.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA106",
        "cache-key-hashes-nothing",
        Category.CI,
        Severity.ERROR,
        "hashFiles() patterns in a cache key match no file, so the key is constant.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA107",
        "cache-key-missing-runtime",
        Category.CI,
        Severity.WARNING,
        "An installed environment is cached under a key without the OS or runtime version.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA108",
        "caching-node-modules",
        Category.CI,
        Severity.INFO,
        "actions/cache caches node_modules instead of npm's download cache.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA109",
        "broken-cache-action-version",
        Category.CI,
        Severity.ERROR,
        "A cache-using action is pinned to a version that no longer works with the cache service.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA110",
        "cache-poisoning-risk",
        Category.CI,
        Severity.WARNING,
        "A release or privileged workflow restores a cache that less-trusted runs can write.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=True,
        example_language="yaml",
    ),
    _rule(
        "CA111",
        "docker-build-without-layer-cache",
        Category.CI,
        Severity.WARNING,
        "A Docker build in a workflow has no layer cache source and export.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA112",
        "pr-only-cache",
        Category.CI,
        Severity.INFO,
        "Caching in a workflow that runs only on pull_request: no PR can reuse another's cache.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA113",
        "restore-keys-missing",
        Category.CI,
        Severity.INFO,
        "A content-addressed cache key has no restore-keys, so every lock change starts cold.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA114",
        "apt-install-every-run",
        Category.CI,
        Severity.INFO,
        "apt-get install in a job on every run.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA201",
        "gitlab-install-without-cache",
        Category.CI,
        Severity.WARNING,
        "A GitLab job installs from a registry and has no cache.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA202",
        "gitlab-cache-outside-project",
        Category.CI,
        Severity.ERROR,
        "A GitLab cache path is outside $CI_PROJECT_DIR or the tool never writes there.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA203",
        "gitlab-cache-key-static",
        Category.CI,
        Severity.WARNING,
        "A GitLab dependency cache has no key or a constant key.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA204",
        "gitlab-cache-policy-push-everywhere",
        Category.CI,
        Severity.INFO,
        "Several jobs share a dependency cache and all push it.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA205",
        "gitlab-cache-unprotect",
        Category.CI,
        Severity.WARNING,
        "unprotect: true lets unprotected branches write caches protected branches read.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=True,
        example_language="yaml",
    ),
    _rule(
        "CA206",
        "gitlab-cache-defeated-by-flag",
        Category.CI,
        Severity.WARNING,
        "A GitLab job caches pip but its installs disable pip's cache.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA207",
        "gitlab-docker-build-without-cache",
        Category.CI,
        Severity.WARNING,
        "docker build in a GitLab job without a cache source.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA301",
        "docker-install-without-cache-mount",
        Category.DOCKER,
        Severity.WARNING,
        "A package install in RUN without a BuildKit cache mount.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA302",
        "docker-cache-mount-defeated",
        Category.DOCKER,
        Severity.ERROR,
        "A cache mount is present but the install disables the tool's cache.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA303",
        "docker-copy-before-install",
        Category.DOCKER,
        Severity.WARNING,
        "The whole source tree is copied before dependencies are installed.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA304",
        "docker-cache-mount-wrong-target",
        Category.DOCKER,
        Severity.WARNING,
        "The cache mount target is not where the tool writes its cache.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA305",
        "docker-apt-without-cache",
        Category.DOCKER,
        Severity.INFO,
        "apt-get install without apt cache mounts.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA306",
        "docker-apt-update-alone",
        Category.DOCKER,
        Severity.WARNING,
        "apt-get update in a RUN of its own leaves a stale index in the layer cache.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA307",
        "docker-npm-install-not-ci",
        Category.DOCKER,
        Severity.INFO,
        "npm install where npm ci fits.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA401",
        "unpinned-install-inputs",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "CI or Docker installs from unpinned requirements with no lock or constraints.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="text",
    ),
    _rule(
        "CA402",
        "vcs-requirement-unpinned",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "A VCS requirement on a branch or tag, not a commit, is rebuilt on every install.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="text",
    ),
    _rule(
        "CA403",
        "no-lockfile",
        Category.DEPENDENCIES,
        Severity.INFO,
        "An application installed in CI or Docker has no lock file.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="text",
    ),
    _rule(
        "CA404",
        "requirements-without-hashes",
        Category.DEPENDENCIES,
        Severity.INFO,
        "A fully pinned requirements file without --hash lines.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="text",
    ),
    _rule(
        "CA501",
        "lockfile-not-used",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "A lock file exists but installs ignore it.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA502",
        "locked-install-not-enforced",
        Category.DEPENDENCIES,
        Severity.INFO,
        "A lock-aware install does not enforce the lock file.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA503",
        "cache-key-ignores-install-input",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "The cache key hashes files other than those the job installs from.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA504",
        "referenced-file-missing",
        Category.DEPENDENCIES,
        Severity.ERROR,
        "A cache or install configuration names a file that does not exist.",
        what_it_does="TODO",
        why_bad="TODO",
        example="TODO",
        use_instead="TODO",
        fix="TODO",
        references=["https://example.invalid/TODO"],
        security=False,
        example_language="yaml",
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in CATALOGUE}
_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in CATALOGUE}


def get_rule(key: str) -> Rule:
    """A rule by id (any case) or name; UsageError when unknown."""
    rule = RULES.get(key.strip().upper()) or _BY_NAME.get(key.strip().lower())
    if rule is None:
        raise UsageError(f"unknown rule {key!r} (see `cacheaudit rules`)")
    return rule


def match_rules(selectors: Iterable[str]) -> frozenset[str]:
    """Rule ids matched by ids, names or id prefixes such as ``CA3`` or ``CA10``."""
    matched: set[str] = set()
    for raw in selectors:
        key = raw.strip()
        if not key:
            continue
        upper = key.upper()
        if upper == "ALL":
            matched.update(RULES)
            continue
        if re.fullmatch(r"CA\d{0,3}", upper):
            ids = {rule_id for rule_id in RULES if rule_id.startswith(upper)}
            if not ids:
                raise UsageError(f"unknown rule or prefix {key!r} (see `cacheaudit rules`)")
            matched.update(ids)
            continue
        matched.add(get_rule(key).id)
    return frozenset(matched)

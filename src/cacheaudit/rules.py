"""The rule catalogue: the single source of every rule's id, name, severity and documentation.

``cacheaudit rules``, ``cacheaudit explain``, SARIF ``rules[]`` and the README table are all
rendered from here. Documentation sections follow ruff's layout: what it does, why it is bad, an
example, what to use instead, and references.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

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
    default_enabled: bool = True
    """False for opt-in rules, which run only when ``select`` names them."""

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
    default_enabled: bool = True,
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
        default_enabled=default_enabled,
    )


# The catalogue. Keep ids and names: they are the user-facing contract.
CATALOGUE: tuple[Rule, ...] = (
    _rule(
        "CA001",
        "parse-error",
        Category.NOTICE,
        Severity.WARNING,
        "A file of a known kind could not be parsed.",
        what_it_does="""
Reports a workflow, `.gitlab-ci.yml`, Dockerfile or dependency file that cacheaudit recognises
but cannot parse, with the parser's message and line. The file is skipped and the audit goes on.
This is a notice: it is not scored.
""",
        why_bad="""
Nothing in an unparsable file is checked, so its caching problems go unreported and the score
looks better than it is. A CI or build file that cacheaudit cannot parse usually fails in CI as
well.
""",
        example="""
# .github/workflows/ci.yml: `steps` is indented one space too far
on: push
jobs:
  test:
    runs-on: ubuntu-latest
     steps:
      - run: make test
""",
        use_instead="""
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
""",
        fix="""
Fix the syntax error at the reported line. If the file is intentionally invalid (a test fixture,
a template), exclude it with `--exclude` or `exclude = [...]` in the configuration.
""",
        references=[
            "https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax",
            "https://docs.gitlab.com/ci/yaml/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA002",
        "file-skipped",
        Category.NOTICE,
        Severity.INFO,
        "File skipped: too large, binary, unreadable, not UTF-8, or a symlink leaving the root.",
        what_it_does="""
Reports a candidate file that cacheaudit did not read: larger than `max-file-size` (5 MiB by
default), binary, unreadable, not valid UTF-8, or a symlink that points outside the repository
root. This is a notice: it is not scored.
""",
        why_bad="""
A skipped file is not audited, so any install or cache configuration in it is invisible to the
report. Symlinks out of the root are never followed, so an audit cannot read files outside the
repository it was pointed at.
""",
        example="""
# requirements/vendor.txt is 12 MiB (over the 5 MiB default) and
# requirements/shared.txt is a symlink to /srv/ci/shared.txt, outside the repository.
[tool.cacheaudit]
exclude = ["tests/fixtures/**"]
""",
        use_instead="""
[tool.cacheaudit]
exclude = ["tests/fixtures/**", "requirements/shared.txt"]
max-file-size = 16_777_216  # bytes
""",
        fix="""
Re-encode the file as UTF-8 or replace the symlink with the real file if it should be audited;
otherwise exclude it with `--exclude` or `exclude = [...]`, or raise `max-file-size`.
""",
        references=[
            "https://docs.python.org/3/howto/unicode.html",
        ],
        security=False,
        example_language="toml",
    ),
    _rule(
        "CA004",
        "dockerfile-trailing-suppression",
        Category.NOTICE,
        Severity.INFO,
        "A suppression comment at the end of a Dockerfile instruction: Docker reads it as "
        "arguments, so it is not honoured.",
        what_it_does="""
Reports a `# cacheaudit: ignore[...]` marker written after an instruction in a Dockerfile
(`COPY . .  # cacheaudit: ignore[CA303]`). In a Dockerfile only a comment on a line of its own
suppresses, for the instruction below it. This is a notice: it is not scored.
""",
        why_bad="""
Docker has no trailing comments: `#` starts a comment only at the beginning of a line. In
`COPY . .  # cacheaudit: ignore[CA303]`, Docker reads `#`, `cacheaudit:` and `ignore[CA303]` as
three more COPY sources and the build fails or copies the wrong files; in `ENV`, `ARG` or an
exec-form `RUN` the words become part of the value.
""",
        example="""
FROM python:3.12-slim
COPY . .  # cacheaudit: ignore[CA303]
RUN pip install -r requirements.txt
""",
        use_instead="""
FROM python:3.12-slim
# cacheaudit: ignore[CA303]
COPY . .
RUN pip install -r requirements.txt
""",
        fix="""
Move the marker to a comment line of its own directly above the instruction.
""",
        references=[
            "https://docs.docker.com/reference/dockerfile/#format",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA101",
        "gha-install-without-cache",
        Category.CI,
        Severity.WARNING,
        "A job installs from a registry and nothing in the job caches that tool's downloads.",
        what_it_does="""
Flags a GitHub Actions job (or composite action) that runs a registry install (`pip install`,
`uv sync`, `poetry install`, `npm ci`, `yarn`, `pnpm install`, ...) while nothing in the job caches
that tool's download cache: no `setup-python` `cache:` (pip, pipenv, poetry), no `setup-node`
`cache:` (npm, yarn, pnpm), no `astral-sh/setup-uv` with caching on, and no `actions/cache` or
`actions/cache/restore` whose `path` covers the tool's cache directory. setup-uv caches by default
on GitHub-hosted runners since v5 (`enable-cache: auto`; it was off in v3 and v4), and setup-node
v5+ caches npm automatically when `package.json` names npm in `packageManager`.

Only actions known to cache count as a cache (cacheaudit's table: setup-python, setup-node,
setup-uv, setup-pdm, pre-commit/action, actions/cache and its drop-ins, their buildjet forks...);
an action it does not know covers nothing, however it is named. A runner composed from the matrix
(`${{ matrix.os }}-latest`, `${{ matrix.config.os }}`) is GitHub-hosted when every matrix value
is. An install whose coverage cannot be told (a cache `path` from an expression) is left out, and
does not silence the definitely uncached installs of the job. One finding per job and tool, at
the install of the dependency set (`-r requirements.txt`, `uv sync`, `npm ci`, `pip install -e
.[test]`, a `tox`/`nox` run), not at a bootstrap before it (`pip install -U pip build`, `pip
install tox`, `npm i -g pnpm`); a job that only bootstraps tools is not reported. Jobs that
publish or run only for releases are CA110's business instead.
""",
        why_bad="""
Hosted runners start from a clean image, so every run downloads every package again from the
registry. That is the slowest part of most Python and Node jobs, it multiplies across matrix
entries, and it makes the job fail whenever the registry is slow or rate-limits the runner.
""",
        example="""
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
      - run: pytest
""",
        use_instead="""
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
          cache-dependency-path: requirements.txt
      - run: pip install -r requirements.txt
      - run: pytest
""",
        fix="""
Turn on the setup action's cache (`cache: pip|pipenv|poetry` on setup-python, `cache: npm|yarn|pnpm`
on setup-node, `enable-cache: true` on setup-uv), or add an `actions/cache` step for the tool's
cache directory keyed on its lock file.
""",
        references=[
            "https://github.com/actions/setup-python/blob/main/docs/advanced-usage.md#caching-packages",
            "https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching",
            "https://github.com/astral-sh/setup-uv/blob/main/docs/caching.md",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA102",
        "setup-python-cache-no-dependency-file",
        Category.CI,
        Severity.ERROR,
        "setup-python caching finds no dependency file, so the step fails.",
        what_it_does="""
Flags `actions/setup-python` with `cache:` set and no `cache-dependency-path`, in a repository
where no file matches the default globs: `**/requirements.txt`, else `**/pyproject.toml` for pip;
`**/Pipfile.lock` for pipenv; `**/poetry.lock` for poetry. The globs are recursive, so a
`sub/requirements.txt` is enough and is not flagged. Also flags a `cache-dependency-path` whose
patterns match nothing.
""",
        why_bad="""
setup-python hashes the dependency files to build the cache key; when nothing matches it stops
with `No file in ... matched to [...]` and the job fails before any test runs. Repositories with
only `setup.py`, `setup.cfg` or `requirements-dev.txt` hit this as soon as they add `cache: pip`.
""",
        example="""
# The repository has setup.py and requirements-dev.txt, but no requirements.txt
# or pyproject.toml anywhere.
steps:
  - uses: actions/checkout@v4
  - uses: actions/setup-python@v5
    with:
      python-version: "3.12"
      cache: pip
  - run: pip install -r requirements-dev.txt -e .
""",
        use_instead="""
steps:
  - uses: actions/checkout@v4
  - uses: actions/setup-python@v5
    with:
      python-version: "3.12"
      cache: pip
      cache-dependency-path: |
        setup.py
        requirements-dev.txt
  - run: pip install -r requirements-dev.txt -e .
""",
        fix="""
Set `cache-dependency-path` to the files the job installs from (globs and multi-line lists
work), and make sure `actions/checkout` runs before setup-python.
""",
        references=[
            "https://github.com/actions/setup-python/blob/main/docs/advanced-usage.md#caching-packages",
            "https://github.com/actions/setup-python#caching-packages-dependencies",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA103",
        "setup-node-cache-no-lockfile",
        Category.CI,
        Severity.ERROR,
        "setup-node caching finds no lock file, so the step fails.",
        what_it_does="""
Flags `actions/setup-node` with caching on, either an explicit `cache:` or the automatic npm cache
of setup-node v5+ (when `package.json` has `"packageManager": "npm@..."`), when the repository
root has no lock file for that manager (npm: `package-lock.json` or `npm-shrinkwrap.json`; yarn:
`yarn.lock`; pnpm: `pnpm-lock.yaml`) and no `cache-dependency-path` is set. Unlike setup-python,
setup-node looks only at the root.
""",
        why_bad="""
setup-node needs the lock file's hash for the cache key and fails the step with "Dependencies lock
file is not found" when there is none. Monorepos with the lock file in a subdirectory, and
repositories that do not commit a lock file, break as soon as caching is turned on, including
silently through the automatic cache after an upgrade to v5.
""",
        example="""
# The lock file lives in web/package-lock.json.
steps:
  - uses: actions/checkout@v4
  - uses: actions/setup-node@v4
    with:
      node-version: 20
      cache: npm
  - run: npm ci
    working-directory: web
""",
        use_instead="""
steps:
  - uses: actions/checkout@v4
  - uses: actions/setup-node@v4
    with:
      node-version: 20
      cache: npm
      cache-dependency-path: web/package-lock.json
  - run: npm ci
    working-directory: web
""",
        fix="""
Point `cache-dependency-path` at the lock file, or commit one at the root. If the job should not
cache, remove `cache:` (on setup-node v5+ also set `package-manager-cache: false`).
""",
        references=[
            "https://github.com/actions/setup-node/blob/main/docs/advanced-usage.md#caching-packages-data",
            "https://github.com/actions/setup-node#caching-global-packages-data",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA104",
        "cache-defeated-by-flag",
        Category.CI,
        Severity.WARNING,
        "A pip cache is configured but installs disable pip's cache or bypass it.",
        what_it_does="""
Flags a job that caches pip's download cache (setup-python `cache: pip` or `actions/cache` on
`~/.cache/pip`) while its installs pass `--no-cache-dir` (or its prefix `--no-cache`), set
`PIP_NO_CACHE_DIR` to any valid boolean (even `false` or `0` disables the cache), or install with
`uv pip` instead, which never writes to pip's cache. Also flags a command that empties the cache
after the job restored it (`npm cache clean --force`, `pip cache purge`, `uv cache clean`, `yarn
cache clean`; `uv cache prune --ci` keeps what is used and is fine).
""",
        why_bad="""
pip neither reads nor writes its cache, so the cache step restores nothing useful and saves an
empty or stale directory: every run still downloads everything, while paying for the cache
round-trip. `PIP_NO_CACHE_DIR=false` is a classic trap, since pip treats any valid value as "no
cache".
""",
        example="""
steps:
  - uses: actions/setup-python@v5
    with:
      python-version: "3.12"
      cache: pip
  - run: pip install --no-cache-dir -r requirements.txt
""",
        use_instead="""
steps:
  - uses: actions/setup-python@v5
    with:
      python-version: "3.12"
      cache: pip
  - run: pip install -r requirements.txt
""",
        fix="""
Drop `--no-cache-dir` and `PIP_NO_CACHE_DIR` from jobs that cache pip; if the job installs with
uv, cache uv's directory instead (`astral-sh/setup-uv` with `enable-cache: true`).
""",
        references=[
            "https://pip.pypa.io/en/stable/topics/caching/",
            "https://github.com/actions/setup-python#caching-packages-dependencies",
            "https://docs.astral.sh/uv/guides/integration/github/#caching",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA105",
        "cache-key-not-content-addressed",
        Category.CI,
        Severity.WARNING,
        "actions/cache key does not hash a lock or requirements file.",
        what_it_does="""
Flags an `actions/cache` (or `actions/cache/restore`) `key` that contains no `hashFiles(...)` of a
lock, requirements or manifest file: a constant key such as `pip-cache`, or one built on
`github.sha`, `github.run_id` or a date. Also flags `actions/cache/restore` and
`actions/cache/save` steps whose keys can never meet, across the repository's workflows: a
restore whose key and `restore-keys` prefixes match no key any step saves with the same `path`
(it never hits), and a save that no step restores (the entry is never used). Reusing the
restore's `steps.<id>.outputs.cache-primary-key` as the save key is the idiom that cannot drift.
""",
        why_bad="""
Cache entries are immutable: a key that never changes is saved once and never refreshed, so the
cache drifts further from the dependencies on every change. A key on the commit SHA or run id is
new on every run, so it never hits, and each run uploads another entry that evicts useful ones
from the repository's cache quota.
""",
        example="""
- uses: actions/cache@v4
  with:
    path: ~/.cache/pip
    key: pip-${{ github.sha }}
""",
        use_instead="""
- uses: actions/cache@v4
  with:
    path: ~/.cache/pip
    key: ${{ runner.os }}-pip-${{ hashFiles('**/requirements*.txt') }}
    restore-keys: |
      ${{ runner.os }}-pip-
""",
        fix="""
Key the cache on `runner.os` plus `hashFiles()` of the files the job installs from, and add a
`restore-keys` prefix so a changed lock file still starts from the previous cache.
""",
        references=[
            "https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching",
            "https://github.com/actions/cache/blob/main/examples.md#python---pip",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA106",
        "cache-key-hashes-nothing",
        Category.CI,
        Severity.ERROR,
        "hashFiles() patterns in a cache key match no file, so the key is constant.",
        what_it_does="""
Flags a `hashFiles(...)` call in a cache key (`actions/cache` `key`/`restore-keys`, or an
expression feeding one) whose patterns match no file in the repository, such as a misspelt or
moved lock file.
""",
        why_bad="""
`hashFiles()` returns an empty string when nothing matches, so the key silently becomes constant:
the first run saves a cache that is never refreshed. The same happens when the cache step runs
before `actions/checkout`, because the workspace is still empty.
""",
        example="""
# The repository has requirements.txt, not requirements.lock.
- uses: actions/cache@v4
  with:
    path: ~/.cache/pip
    key: ${{ runner.os }}-pip-${{ hashFiles('requirements.lock') }}
""",
        use_instead="""
- uses: actions/cache@v4
  with:
    path: ~/.cache/pip
    key: ${{ runner.os }}-pip-${{ hashFiles('requirements.txt') }}
    restore-keys: |
      ${{ runner.os }}-pip-
""",
        fix="""
Change the `hashFiles()` pattern to the dependency files that exist, and run `actions/checkout`
before the cache step.
""",
        references=[
            "https://docs.github.com/en/actions/reference/workflows-and-actions/expressions#hashfiles",
            "https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA107",
        "cache-key-missing-runtime",
        Category.CI,
        Severity.WARNING,
        "An installed environment is cached under a key without the OS or runtime version.",
        what_it_does="""
Flags an `actions/cache` step whose `path` is an installed environment (`.venv`, `venv`,
`node_modules`, `site-packages`) when its key omits `runner.os` or the Python/Node version the
job uses (for example `matrix.python-version`). Download caches such as `~/.cache/pip` or `~/.npm`
are safe to share across versions and are not flagged.
""",
        why_bad="""
A virtualenv or `node_modules` holds compiled extensions and interpreter paths for one OS and one
runtime version. Restored into a job with another Python or Node, it fails with import errors or
ABI mismatches, or works by accident until a matrix entry wins the race to save the key.
""",
        example="""
strategy:
  matrix:
    python-version: ["3.11", "3.12"]
steps:
  - uses: actions/setup-python@v5
    with:
      python-version: ${{ matrix.python-version }}
  - uses: actions/cache@v4
    with:
      path: .venv
      key: venv-${{ hashFiles('requirements.txt') }}
""",
        use_instead="""
strategy:
  matrix:
    python-version: ["3.11", "3.12"]
steps:
  - uses: actions/setup-python@v5
    with:
      python-version: ${{ matrix.python-version }}
  - uses: actions/cache@v4
    with:
      path: .venv
      key: venv-${{ runner.os }}-${{ matrix.python-version }}-${{ hashFiles('requirements.txt') }}
""",
        fix="""
Add `runner.os` and the exact runtime version (the setup action's `python-version` or
`node-version` output, or the matrix value) to the key, or cache the download cache instead of
the environment.
""",
        references=[
            "https://github.com/actions/cache/blob/main/examples.md#python---pip",
            "https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA108",
        "caching-node-modules",
        Category.CI,
        Severity.INFO,
        "actions/cache caches node_modules instead of npm's download cache.",
        what_it_does="""
Flags `actions/cache` steps whose `path` includes `node_modules`.
""",
        why_bad="""
`node_modules` contains native builds tied to one Node version and OS, so it breaks across
versions, and `npm ci` deletes an existing `node_modules` before installing, throwing the restored
copy away. npm's own cache (`~/.npm`) is version-independent and is what `npm ci` reads.
""",
        example="""
- uses: actions/setup-node@v4
  with:
    node-version: 20
- uses: actions/cache@v4
  with:
    path: node_modules
    key: ${{ runner.os }}-node-modules-${{ hashFiles('package-lock.json') }}
- run: npm ci
""",
        use_instead="""
- uses: actions/setup-node@v4
  with:
    node-version: 20
    cache: npm
- run: npm ci
""",
        fix="""
Cache `~/.npm` instead: `cache: npm` on setup-node, or an `actions/cache` step on `~/.npm` keyed
on `package-lock.json`.
""",
        references=[
            "https://github.com/actions/cache/blob/main/examples.md#node---npm",
            "https://docs.npmjs.com/cli/commands/npm-ci",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA109",
        "broken-cache-action-version",
        Category.CI,
        Severity.ERROR,
        "A cache-using action is pinned to a version that no longer works with the cache service.",
        what_it_does="""
Flags `actions/cache` (and `/restore`, `/save`) at v1 or v2, or pinned exactly below v3.4.0 or
v4.2.0, and `actions/setup-python` or `actions/setup-node` with caching on at releases built
before the cache-service move: setup-python below v4.9.0 or v5.0-v5.3, setup-node below v3.9.0 or
v4.0-v4.1. Floating major tags that were moved to fixed releases (`actions/cache@v3`/`@v4`,
`setup-python@v4`/`@v5`, `setup-node@v3`/`@v4`) work. A full commit-SHA pin is reported as info,
because its version cannot be checked offline, unless a comment names it (`@<sha> # v4.1.0`).
""",
        why_bad="""
GitHub replaced its cache service in February 2025 and shut down the legacy API; releases built
against the old `@actions/cache` package fail with "This request has been automatically failed
because it uses a deprecated version of actions/cache" or "Cache service responded with 422".
The job fails (or, for setup actions, loses its cache) until the pin is updated.
""",
        example="""
steps:
  - uses: actions/setup-python@v4.7.1
    with:
      python-version: "3.12"
      cache: pip
  - uses: actions/cache@v2
    with:
      path: ~/.npm
      key: ${{ runner.os }}-npm-${{ hashFiles('package-lock.json') }}
""",
        use_instead="""
steps:
  - uses: actions/setup-python@v5
    with:
      python-version: "3.12"
      cache: pip
  - uses: actions/cache@v4
    with:
      path: ~/.npm
      key: ${{ runner.os }}-npm-${{ hashFiles('package-lock.json') }}
""",
        fix="""
Use `actions/cache@v4`, `actions/setup-python@v5` and `actions/setup-node@v4` (or newer); when
pinning by SHA, pin a fixed release and name it in a trailing comment.
""",
        references=[
            "https://github.com/actions/cache/discussions/1510",
            "https://github.com/actions/toolkit/discussions/1890",
            "https://github.com/actions/cache#readme",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA110",
        "cache-poisoning-risk",
        Category.CI,
        Severity.WARNING,
        "A release or privileged workflow restores a cache that less-trusted runs can write.",
        what_it_does="""
Flags cache restores (setup-action caches, `actions/cache`, setup-uv's cache, a `type=gha` layer
cache) in every job of a workflow that runs *only* on release-like events (`release`, tag
pushes, pushes to release branches, `pull_request_target`, `workflow_run`, with at most
`workflow_dispatch` besides), in jobs whose `if:` runs them only for tags or releases, and in jobs
that publish (`pypa/gh-action-pypi-publish`, `twine upload`, `docker push`,
docker/build-push-action with `push: true`, release uploads, `npm publish`...). zizmor's
`cache-poisoning` audit is the reference behaviour, with one deliberate difference: a workflow
that also runs on `pull_request`, `schedule` or pushes to ordinary branches is a CI workflow, so
only its publishing jobs are flagged, and its test jobs get CA101 like any other.

A job of a workflow that only runs by hand (`workflow_dispatch`) and publishes through a script
of its own is a release job when a step or the job is named so: the words release, publish,
deploy or upload, but not a name about artifacts, coverage, reports, notes, drafts, notifications
or preparing a release.

A `# zizmor: ignore[cache-poisoning]` comment anywhere in the step (or on its own line just above
it) is a reviewed decision: the finding is reported as suppressed, with the comment as reason.
""",
        why_bad="""
Caches are shared by every workflow on a branch, and tag and release runs restore caches written
on the default branch. Anything that can write such an entry (a `pull_request_target` job running
PR code, a compromised dependency in an unrelated workflow) can plant files that the release job
restores and ships to users. Cache contents are not signed or verified.
""",
        example="""
on:
  release:
    types: [published]
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: python -m pip install build && python -m build
      - uses: pypa/gh-action-pypi-publish@release/v1
""",
        use_instead="""
on:
  release:
    types: [published]
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5  # no cache: this job publishes
        with:
          python-version: "3.12"
      - run: python -m pip install build && python -m build
      - uses: pypa/gh-action-pypi-publish@release/v1
""",
        fix="""
Do not restore caches in publishing jobs: remove `cache:`, set `lookup-only: true` on
`actions/cache`, or gate setup-uv with `enable-cache: ${{ !startsWith(github.ref, 'refs/tags/') }}`.
""",
        references=[
            "https://docs.zizmor.sh/audits/#cache-poisoning",
            "https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching",
        ],
        security=True,
        example_language="yaml",
    ),
    _rule(
        "CA111",
        "docker-build-without-layer-cache",
        Category.CI,
        Severity.WARNING,
        "A Docker build in a workflow has no layer cache source and export.",
        what_it_does="""
Flags `docker/build-push-action` without `cache-from`/`cache-to`, and `docker build` or
`docker buildx build` in `run:` without `--cache-from`. Under BuildKit a plain image as
`--cache-from` counts as missing unless it was pushed with cache metadata (`--cache-to
type=inline` or `BUILDKIT_INLINE_CACHE=1`) or is a registry cache export. Remote builders that keep
their own cache (Depot, Docker Build Cloud) are not flagged.

The fix depends on the job: a job that publishes the image (or runs only for releases) is told to
use a registry cache (`type=registry,ref=<image>:buildcache`), which only runs allowed to push the
image can write, so following it cannot create a cache-poisoning finding (CA110); other jobs get
the GitHub Actions cache (`type=gha`), one `scope` per image.
""",
        why_bad="""
The runner's Docker engine starts empty, so every run rebuilds every layer, including the
dependency installs that are the slowest steps. `type=gha` needs `docker/setup-buildx-action`
first (the default `docker` driver rejects it), images that share the default `scope` overwrite
each other's cache, and only `mode=max` keeps the layers of intermediate build stages.
""",
        example="""
steps:
  - uses: actions/checkout@v4
  - uses: docker/build-push-action@v6
    with:
      push: true
      tags: ghcr.io/acme/api:latest
""",
        use_instead="""
steps:
  - uses: actions/checkout@v4
  - uses: docker/setup-buildx-action@v3
  - uses: docker/build-push-action@v6
    with:
      push: true
      tags: ghcr.io/acme/api:latest
      cache-from: type=gha,scope=api
      cache-to: type=gha,scope=api,mode=max
""",
        fix="""
Add `docker/setup-buildx-action` and `cache-from: type=gha` / `cache-to: type=gha,mode=max` (with a
`scope` per image), or a registry cache (`type=registry,ref=...`).
""",
        references=[
            "https://docs.docker.com/build/ci/github-actions/cache/",
            "https://docs.docker.com/build/cache/backends/gha/",
            "https://docs.docker.com/build/cache/backends/inline/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA112",
        "pr-only-cache",
        Category.CI,
        Severity.INFO,
        "Caching in a workflow that runs only on pull_request: no PR can reuse another's cache.",
        what_it_does="""
Flags caching (setup-action caches, `actions/cache`, setup-uv) in a workflow whose only trigger
is `pull_request`, so no run ever saves a cache on the default branch.
""",
        why_bad="""
A cache saved by a pull request run is scoped to that PR's merge ref (`refs/pull/N/merge`): only
later runs of the same PR can restore it. Every new PR starts cold, and the saved entries fill the
repository's cache quota and evict each other.
""",
        example="""
on:
  pull_request:
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install -r requirements.txt
""",
        use_instead="""
on:
  pull_request:
  push:
    branches: [main]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install -r requirements.txt
""",
        fix="""
Also run the workflow on `push` to the default branch (or on a schedule) so a shared cache exists
that every pull request can restore.
""",
        references=[
            "https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA113",
        "restore-keys-missing",
        Category.CI,
        Severity.INFO,
        "A content-addressed cache key has no restore-keys, so every lock change starts cold.",
        what_it_does="""
Flags an `actions/cache` or `actions/cache/restore` step whose `key` hashes a dependency file but
that has no `restore-keys`.
""",
        why_bad="""
Without a prefix fallback, any edit to the lock or requirements file misses the cache entirely
and the job downloads everything again, even though most packages are unchanged. With
`restore-keys` the newest entry under the prefix is restored and only the difference is fetched.
""",
        example="""
- uses: actions/cache@v4
  with:
    path: ~/.cache/pip
    key: ${{ runner.os }}-pip-${{ hashFiles('requirements.txt') }}
""",
        use_instead="""
- uses: actions/cache@v4
  with:
    path: ~/.cache/pip
    key: ${{ runner.os }}-pip-${{ hashFiles('requirements.txt') }}
    restore-keys: |
      ${{ runner.os }}-pip-
""",
        fix="""
Add `restore-keys` with the key's prefix up to the hash (for example `${{ runner.os }}-pip-`).
""",
        references=[
            "https://docs.github.com/en/actions/reference/workflows-and-actions/dependency-caching",
            "https://github.com/actions/cache#creating-a-cache-key",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA114",
        "apt-install-every-run",
        Category.CI,
        Severity.INFO,
        "apt-get install in a job on every run.",
        what_it_does="""
Flags `apt-get install` / `apt install` (including under `sudo`) in a GitHub Actions job's `run:`
steps.
""",
        why_bad="""
The runner refreshes the package index and downloads and unpacks the packages on every run, which
often takes a minute or more and fails when the Ubuntu mirrors are slow. The packages do not
change between runs.
""",
        example="""
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: sudo apt-get update && sudo apt-get install -y libpq-dev graphviz
      - run: make test
""",
        use_instead="""
jobs:
  test:
    runs-on: ubuntu-latest
    # An image built once with libpq-dev and graphviz installed.
    container: ghcr.io/acme/ci-python:3.12
    steps:
      - uses: actions/checkout@v4
      - run: make test
""",
        fix="""
Run the job in a container image that already has the packages (`jobs.<job_id>.container`), or
drop packages the runner image already ships.
""",
        references=[
            "https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idcontainer",
            "https://github.com/actions/runner-images",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA201",
        "gitlab-install-without-cache",
        Category.CI,
        Severity.WARNING,
        "A GitLab job installs from a registry and has no cache.",
        what_it_does="""
Flags a GitLab CI job that runs a registry install in `script:` or `before_script:` and has no
cache: none of its own, none inherited from `default:`, `extends:` or an anchor, or `cache: []`.
A job-level `cache:` replaces `default: cache` entirely. A job that may take its cache from an
include that cannot be read offline is not reported: one that `extends` a template defined
nowhere locally, or that inherits `default:` while a remote or project include (or a GitLab
template other than the job-only scanner ones) could set it. Components and GitLab's
`Security/`, `Jobs/` templates define jobs only.
""",
        why_bad="""
Each job starts in a fresh container, so every pipeline downloads every package again. On shared
runners this is usually the longest part of the job, and it repeats for every job that installs
the same dependencies.
""",
        example="""
test:
  image: python:3.12
  script:
    - pip install -r requirements.txt
    - pytest
""",
        use_instead="""
variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

test:
  image: python:3.12
  cache:
    key:
      files:
        - requirements.txt
    paths:
      - .cache/pip
  script:
    - pip install -r requirements.txt
    - pytest
""",
        fix="""
Add a `cache:` keyed on the lock or requirements file (`key: files:`) whose `paths` hold the
tool's cache directory inside the project (`PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"`).
""",
        references=[
            "https://docs.gitlab.com/ci/caching/",
            "https://docs.gitlab.com/ci/yaml/#cache",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA202",
        "gitlab-cache-outside-project",
        Category.CI,
        Severity.ERROR,
        "A GitLab cache path is outside $CI_PROJECT_DIR or the tool never writes there.",
        what_it_does="""
Flags `cache:paths` outside `$CI_PROJECT_DIR` (`~/.cache/pip`, `/root/.npm`), and a cached
in-project directory that the tool does not write to: `.cache/pip` without `PIP_CACHE_DIR` set to
`$CI_PROJECT_DIR/.cache/pip`, and likewise uv (`UV_CACHE_DIR`), poetry (`POETRY_CACHE_DIR`) and
npm (`npm ci --cache .npm --prefer-offline` or `npm_config_cache`).
""",
        why_bad="""
GitLab Runner only archives paths inside the project directory, so a path outside it is never
saved. If the path is inside but the tool still writes to its home-directory default, the runner
saves an empty directory. Either way every job downloads everything again while the pipeline
looks cached.
""",
        example="""
test:
  image: python:3.12
  cache:
    key:
      files:
        - requirements.txt
    paths:
      - ~/.cache/pip
  script:
    - pip install -r requirements.txt
""",
        use_instead="""
variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

test:
  image: python:3.12
  cache:
    key:
      files:
        - requirements.txt
    paths:
      - .cache/pip
  script:
    - pip install -r requirements.txt
""",
        fix="""
Point the tool's cache into the project (`PIP_CACHE_DIR`, `UV_CACHE_DIR`, `POETRY_CACHE_DIR` set to
`$CI_PROJECT_DIR/...`, or `npm ci --cache .npm`) and cache that relative path.
""",
        references=[
            "https://docs.gitlab.com/ci/yaml/#cachepaths",
            "https://docs.gitlab.com/ci/caching/",
            "https://docs.astral.sh/uv/guides/integration/gitlab/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA203",
        "gitlab-cache-key-static",
        Category.CI,
        Severity.WARNING,
        "A GitLab dependency cache has no key or a constant key.",
        what_it_does="""
Flags a dependency cache with no `key` (every such job shares the key `default`) or with a
constant string key.
""",
        why_bad="""
A constant key is never invalidated, so the cache keeps packages that the lock file dropped and
grows with every change. Unrelated jobs that share it overwrite each other's contents, so each
often restores the wrong packages.
""",
        example="""
test:
  cache:
    paths:
      - .cache/pip
  script:
    - pip install -r requirements.txt
""",
        use_instead="""
test:
  cache:
    key:
      files:
        - requirements.txt
      prefix: pip
    paths:
      - .cache/pip
  script:
    - pip install -r requirements.txt
""",
        fix="""
Use `key: files:` with the lock or requirements files (at most two) and a `prefix` per kind of
job, so the key changes when the dependencies do.
""",
        references=[
            "https://docs.gitlab.com/ci/yaml/#cachekeyfiles",
            "https://docs.gitlab.com/ci/caching/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA204",
        "gitlab-cache-policy-push-everywhere",
        Category.CI,
        Severity.INFO,
        "Several jobs share a dependency cache and all push it.",
        what_it_does="""
Flags several jobs that use the same dependency cache key while all of them keep the default
`policy: pull-push`.
""",
        why_bad="""
Every job compresses and uploads the same cache when it finishes, which adds time to each job,
and parallel jobs race to overwrite one another's archive. Only one job needs to update the
cache; the others only read it.
""",
        example="""
variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

.pip-cache: &pip-cache
  key:
    files: [requirements.txt]
  paths: [.cache/pip]

test:
  cache: *pip-cache
  script: [pip install -r requirements.txt, pytest]

lint:
  cache: *pip-cache
  script: [pip install -r requirements.txt, ruff check .]
""",
        use_instead="""
variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

.pip-cache: &pip-cache
  key:
    files: [requirements.txt]
  paths: [.cache/pip]

test:
  cache: *pip-cache
  script: [pip install -r requirements.txt, pytest]

lint:
  cache:
    <<: *pip-cache
    policy: pull
  script: [pip install -r requirements.txt, ruff check .]
""",
        fix="""
Keep `pull-push` on one job per cache key and set `policy: pull` on the jobs that only read it.
""",
        references=[
            "https://docs.gitlab.com/ci/yaml/#cachepolicy",
            "https://docs.gitlab.com/ci/caching/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA205",
        "gitlab-cache-unprotect",
        Category.CI,
        Severity.WARNING,
        "unprotect: true lets unprotected branches write caches protected branches read.",
        what_it_does="""
Flags `cache:unprotect: true`.
""",
        why_bad="""
GitLab keeps separate caches for protected and unprotected refs by default. `unprotect: true`
shares one cache, so a job on any unprotected branch (anyone who can push a branch) can plant
files that a protected branch or tag pipeline, such as a deploy or release, restores and uses.
""",
        example="""
deploy:
  cache:
    key:
      files: [requirements.txt]
    paths: [.cache/pip]
    unprotect: true
  script:
    - pip install -r requirements.txt
    - ./deploy.sh
""",
        use_instead="""
deploy:
  cache:
    key:
      files: [requirements.txt]
    paths: [.cache/pip]
  script:
    - pip install -r requirements.txt
    - ./deploy.sh
""",
        fix="""
Remove `unprotect: true`, and keep the project setting that uses separate caches for protected
branches.
""",
        references=[
            "https://docs.gitlab.com/ci/yaml/#cacheunprotect",
            "https://docs.gitlab.com/ci/caching/#cache-key-names",
        ],
        security=True,
        example_language="yaml",
    ),
    _rule(
        "CA206",
        "gitlab-cache-defeated-by-flag",
        Category.CI,
        Severity.WARNING,
        "A GitLab job caches pip but its installs disable pip's cache.",
        what_it_does="""
Flags a GitLab job whose cache covers pip's cache directory while its installs pass
`--no-cache-dir` (or `--no-cache`), set `PIP_NO_CACHE_DIR` to any valid boolean (even `false` or
`0` disables the cache) in `variables:` or inline, or install with `uv pip`, which uses uv's cache.
""",
        why_bad="""
pip writes nothing to the cached directory, so the runner uploads an empty cache after every job
and every pipeline downloads all packages again, paying for the cache transfer for nothing.
""",
        example="""
variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"
  PIP_NO_CACHE_DIR: "false"  # still disables pip's cache

test:
  cache:
    key:
      files: [requirements.txt]
    paths: [.cache/pip]
  script:
    - pip install -r requirements.txt
""",
        use_instead="""
variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

test:
  cache:
    key:
      files: [requirements.txt]
    paths: [.cache/pip]
  script:
    - pip install -r requirements.txt
""",
        fix="""
Remove `--no-cache-dir` and `PIP_NO_CACHE_DIR` from jobs that cache pip; for uv, cache
`UV_CACHE_DIR` instead.
""",
        references=[
            "https://pip.pypa.io/en/stable/topics/caching/",
            "https://docs.gitlab.com/ci/caching/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA207",
        "gitlab-docker-build-without-cache",
        Category.CI,
        Severity.WARNING,
        "docker build in a GitLab job without a cache source.",
        what_it_does="""
Flags `docker build` or `docker buildx build` in a GitLab job without `--cache-from` or a buildx
cache export, kaniko (`/kaniko/executor`, or `executor` in a kaniko image) without
`--cache=true`, and `buildah build` without `--layers --cache-from`. Under BuildKit (the default
builder since Docker 23) a plain image as `--cache-from` only helps if it was pushed with inline
cache metadata (`BUILDKIT_INLINE_CACHE=1` or `--cache-to type=inline`); the classic builder
(`DOCKER_BUILDKIT=0`, or a `docker:20.10` job image) uses a pulled image as it is. A cache source
passed through a variable this repository does not set (`--cache-from $CACHE_IMAGE`,
`$DOCKER_CACHE_ARGS`) may be a registry export: it is not reported. The fix names a cache
derived from the image that build pushes (its `--tag` or `--destination`), so several images
never share one cache reference.
""",
        why_bad="""
Docker-in-Docker and fresh runners start with an empty layer cache, so every pipeline rebuilds
the image from the base layer, re-running every dependency install.
""",
        example="""
build-image:
  image: docker:27
  services: [docker:27-dind]
  script:
    - docker build -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA" .
    - docker push "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA"
""",
        use_instead="""
build-image:
  image: docker:27
  services: [docker:27-dind]
  before_script:
    - echo "$CI_REGISTRY_PASSWORD" | docker login -u $CI_REGISTRY_USER --password-stdin $CI_REGISTRY
    - docker buildx create --use --driver docker-container
  script:
    - >
      docker buildx build --push
      --cache-from "type=registry,ref=$CI_REGISTRY_IMAGE:buildcache"
      --cache-to "type=registry,ref=$CI_REGISTRY_IMAGE:buildcache,mode=max"
      -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA" .
""",
        fix="""
Export and import a registry cache with `docker buildx build --cache-to/--cache-from
type=registry,ref=<image>:buildcache`, or push with `BUILDKIT_INLINE_CACHE=1` and build with
`--cache-from` that image; kaniko: `--cache=true --cache-repo=<destination>/cache`; buildah:
`--layers --cache-from <image>/cache --cache-to <image>/cache`.
""",
        references=[
            "https://docs.gitlab.com/ci/docker/docker_layer_caching/",
            "https://docs.docker.com/build/cache/backends/registry/",
            "https://docs.docker.com/build/cache/backends/inline/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA301",
        "docker-install-without-cache-mount",
        Category.DOCKER,
        Severity.WARNING,
        "A package install in RUN without a BuildKit cache mount.",
        what_it_does="""
Flags a pip, uv, poetry, pipenv, pdm, npm, yarn or pnpm install in a `RUN` (shell form, exec form
or heredoc, in any stage) without `--mount=type=cache` on that tool's cache directory, as the
stage's `USER` and environment place it (`PIP_CACHE_DIR`, `npm config set cache`, `pnpm config set
store-dir`...). With `--no-cache-dir` the image stays lean but every rebuild downloads everything
again, so it is still reported, at a lower weight. Not flagged: installs of local wheel files,
tool bootstraps (`pip install poetry==1.8.3`, `npm i -g pnpm`), and the project step of the
two-step pattern (`uv sync` after `uv sync --no-install-project`, `pip install -e .` after `pip
install -r requirements.txt`, `pnpm install` after `pnpm fetch`), which download nothing.
""",
        why_bad="""
When any earlier layer changes, the `RUN` re-executes and downloads every package again. Without
`--no-cache-dir` the download cache is also baked into the layer, making the image bigger while
never being reused. A cache mount keeps the downloads on the builder across builds and out of
the image.
""",
        example="""
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
""",
        use_instead="""
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install -r requirements.txt
COPY . .
""",
        fix="""
Add `--mount=type=cache,target=<cache dir>` to the `RUN`: `/root/.cache/pip` for pip,
`/root/.cache/uv` for uv (with `ENV UV_LINK_MODE=copy`), `/root/.npm` for npm,
`id=pnpm,target=/pnpm/store` for pnpm; under a non-root `USER`, the user's cache directory with
its `uid` and `gid`.
""",
        references=[
            "https://docs.docker.com/build/cache/optimize/#use-cache-mounts",
            "https://docs.astral.sh/uv/guides/integration/docker/#caching",
            "https://docs.docker.com/reference/dockerfile/#run---mounttypecache",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA302",
        "docker-cache-mount-defeated",
        Category.DOCKER,
        Severity.ERROR,
        "A cache mount is present but the install disables the tool's cache.",
        what_it_does="""
Flags a `RUN` that mounts a cache for the tool while the install disables that cache:
`--no-cache-dir`, `PIP_NO_CACHE_DIR` (from `ENV`, `ARG` or inline, including values inherited
from a parent stage), `UV_NO_CACHE`, or `uv ... --no-cache`.
""",
        why_bad="""
The tool never reads or writes the mounted directory, so the mount stays empty and every build
downloads all packages again, while the Dockerfile looks optimised.
""",
        example="""
FROM python:3.12-slim
ENV PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install -r requirements.txt
""",
        use_instead="""
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install -r requirements.txt
""",
        fix="""
Remove `--no-cache-dir`, `PIP_NO_CACHE_DIR`, `UV_NO_CACHE` or `--no-cache` from installs that use
a cache mount; the mount already keeps the cache out of the image.
""",
        references=[
            "https://docs.docker.com/build/cache/optimize/#use-cache-mounts",
            "https://pip.pypa.io/en/stable/topics/caching/",
            "https://github.com/hadolint/hadolint/wiki/DL3042",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA303",
        "docker-copy-before-install",
        Category.DOCKER,
        Severity.WARNING,
        "The whole source tree is copied before dependencies are installed.",
        what_it_does="""
Flags a copy of the source that comes before a dependency install in the same stage (or a stage
built on it): `COPY . .`, `ADD . .` or another copy of the whole build context, and a copy of the
project directory the install reads its manifests from (`COPY ./web ./` before `npm ci`, `COPY
backend/ /app/` before `pip install -r /app/requirements.txt`). A copy of manifests and lock files
only (or of a directory holding nothing else, or a `.dockerignore` allowlist that leaves only
them) is fine, and so is the two-step pattern. Runners that need the source (`tox`, `pre-commit
run`) and installs of one named tool are not dependency installs.
""",
        why_bad="""
Docker invalidates every layer after a `COPY` whose files changed, so any source edit, even a
README change, re-runs the dependency install. The slowest step of the build runs on every
commit instead of only when the lock file changes.
""",
        example="""
FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /uvx /bin/
ENV UV_LINK_MODE=copy
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked --no-dev
""",
        use_instead="""
FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /uvx /bin/
ENV UV_LINK_MODE=copy
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --locked --no-install-project --no-dev
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --locked --no-dev
""",
        fix="""
Copy (or bind-mount) only the manifest and lock file, install the dependencies, then copy the
rest of the source. The fix is computed from the stage: the files the install reads
(requirements files with their `-r`/`-c` includes, `pyproject.toml` + lock, `package.json` + lock
+ `.npmrc`...) copied to where it reads them, the install (with `--no-install-project`,
`--no-root` or `--no-self`), the source copy, then the project install. It is offered as an edit
only when that is safe; otherwise (the install builds the project, a workspace, install scripts,
local path dependencies, other instructions in between) it is advice to adapt.
""",
        references=[
            "https://docs.docker.com/build/cache/optimize/#order-your-layers",
            "https://docs.astral.sh/uv/guides/integration/docker/#intermediate-layers",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA304",
        "docker-cache-mount-wrong-target",
        Category.DOCKER,
        Severity.WARNING,
        "The cache mount target is not where the tool writes its cache.",
        what_it_does="""
Flags a cache mount whose `target` is not the directory the tool writes to (`/root/.cache/pip`
after a non-root `USER`, or a default target while `PIP_CACHE_DIR`, `UV_CACHE_DIR` or the
equivalent points elsewhere), and a mount on the right directory that the stage's non-root `USER`
cannot write: BuildKit creates cache mounts owned by `uid=0`/`gid=0` with mode `0755` unless the
mount sets `uid`, `gid` or `mode`.
""",
        why_bad="""
The tool writes its cache to a directory in the layer while the mounted directory stays empty,
or (pip, uv) finds the mount unwritable and disables its cache, so every build downloads
everything again.
""",
        example="""
FROM python:3.12-slim
RUN useradd --create-home --uid 1000 app
USER app
WORKDIR /home/app
COPY --chown=app requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install --user -r requirements.txt
""",
        use_instead="""
FROM python:3.12-slim
RUN useradd --create-home --uid 1000 app
USER app
WORKDIR /home/app
COPY --chown=app requirements.txt .
RUN --mount=type=cache,target=/home/app/.cache/pip,uid=1000,gid=1000 \\
    pip install --user -r requirements.txt
""",
        fix="""
Mount the cache where the tool writes for the current user (with `uid`/`gid` for a non-root
user), or set `PIP_CACHE_DIR`/`UV_CACHE_DIR` to the mount target.
""",
        references=[
            "https://docs.docker.com/reference/dockerfile/#run---mounttypecache",
            "https://pip.pypa.io/en/stable/topics/caching/",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA305",
        "docker-apt-lists-left",
        Category.DOCKER,
        Severity.INFO,
        "apt package lists left in a shipped image.",
        what_it_does="""
Flags a `RUN` that runs `apt-get update` (with an install or upgrade) in a stage that is shipped
(the final stage, or one the final stage is built `FROM`) when the same `RUN` neither removes the
package lists (`rm -rf /var/lib/apt/lists/*` and its variants, `apt-get dist-clean`) nor keeps
them on a cache mount. As in hadolint's DL3009: stages only copied from are exempt, and a `#
hadolint ignore=DL3009` above the `RUN` is honoured; `apt-get clean` removes downloaded packages,
not the lists. Dev container Dockerfiles (`.devcontainer/`) are never shipped. Uncached
downloads are CA308's business.
""",
        why_bad="""
The lists add tens of megabytes to every image layer that is pulled, and they are stale the moment
the image is built.
""",
        example="""
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5
""",
        use_instead="""
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\
    && rm -rf /var/lib/apt/lists/*
""",
        fix="""
End the `RUN` with `rm -rf /var/lib/apt/lists/*`, or keep `/var/lib/apt` on a cache mount (see
CA308).
""",
        references=[
            "https://github.com/hadolint/hadolint/wiki/DL3009",
            "https://docs.docker.com/build/building/best-practices/#apt-get",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA306",
        "docker-apt-update-alone",
        Category.DOCKER,
        Severity.WARNING,
        "apt-get update in a RUN of its own leaves a stale index in the layer cache.",
        what_it_does="""
Flags `apt-get update` / `apt update` in a `RUN` that installs nothing.
""",
        why_bad="""
The update layer is cached and reused, while a later `RUN apt-get install` that changes runs
against that old index, so builds install outdated packages or fail with 404s once the mirror has
moved on.
""",
        example="""
FROM ubuntu:24.04
RUN apt-get update
RUN apt-get install -y --no-install-recommends curl
""",
        use_instead="""
FROM ubuntu:24.04
RUN apt-get update && apt-get install -y --no-install-recommends curl \\
    && rm -rf /var/lib/apt/lists/*
""",
        fix="""
Run `apt-get update` and `apt-get install` in the same `RUN`.
""",
        references=[
            "https://docs.docker.com/build/building/best-practices/#apt-get",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA307",
        "docker-npm-install-not-ci",
        Category.DOCKER,
        Severity.INFO,
        "npm install where npm ci fits.",
        what_it_does="""
Flags `npm install` without package arguments in a `RUN` when a `package-lock.json` or
`npm-shrinkwrap.json` is available to the build.
""",
        why_bad="""
`npm install` may re-resolve versions and rewrite the lock file, so two builds of the same
commit can produce different images. `npm ci` installs exactly what the lock file says, fails if
it is out of date with `package.json`, and does not rewrite it.
""",
        example="""
FROM node:22-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install
COPY . .
""",
        use_instead="""
FROM node:22-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \\
    npm ci
COPY . .
""",
        fix="""
Replace `npm install` with `npm ci` (with a cache mount on `/root/.npm`).
""",
        references=[
            "https://docs.npmjs.com/cli/commands/npm-ci",
            "https://docs.docker.com/build/cache/optimize/#use-cache-mounts",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA308",
        "docker-apt-downloads-not-cached",
        Category.DOCKER,
        Severity.INFO,
        "apt-get install without apt cache mounts: every rebuild downloads the .debs again.",
        what_it_does="""
Flags `apt-get install` / `apt install` in a `RUN` (any stage) without cache mounts on
`/var/cache/apt` and `/var/lib/apt`, once per `RUN`; at a lower weight when the mounts are there
but nothing removes `/etc/apt/apt.conf.d/docker-clean`, which empties the mount.
""",
        why_bad="""
Each rebuild of the layer downloads the package index and every `.deb` again from the Debian or
Ubuntu mirrors. Debian and Ubuntu images ship `/etc/apt/apt.conf.d/docker-clean`, which deletes
downloaded packages, so a cache mount alone stays empty until that file is removed or
`Keep-Downloaded-Packages` is set.
""",
        example="""
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev
""",
        use_instead="""
FROM debian:bookworm-slim
RUN rm -f /etc/apt/apt.conf.d/docker-clean; \\
    echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
    --mount=type=cache,target=/var/lib/apt,sharing=locked \\
    apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev
""",
        fix="""
Mount `/var/cache/apt` and `/var/lib/apt` as caches with `sharing=locked` and remove
`/etc/apt/apt.conf.d/docker-clean`.
""",
        references=[
            "https://docs.docker.com/reference/dockerfile/#run---mounttypecache",
            "https://docs.docker.com/build/cache/optimize/#use-cache-mounts",
        ],
        security=False,
        example_language="dockerfile",
    ),
    _rule(
        "CA401",
        "unpinned-install-inputs",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "CI or Docker installs from unpinned requirements with no lock or constraints.",
        what_it_does="""
Flags requirements files that CI or a Dockerfile installs from (following `-r` includes) when
they contain unpinned or ranged requirements (`requests`, `django>=4.2`) and the install uses no
lock or constraints file. Version ranges in a library's `pyproject.toml` are correct and not
flagged: the rule judges what installs use, not what a library declares. Files nobody installs
(docs, test fixtures) and installs written in example, fixture, template or docs directories are
not judged.
""",
        why_bad="""
Each install resolves against whatever is newest on the index that day, so builds of the same
commit differ and break without a code change. Download caches keyed on the requirements file
rarely hit, because the key stays the same while the resolved versions move on.
""",
        example="""
django>=4.2,<5
requests
""",
        use_instead="""
# This file was autogenerated by uv via the following command:
#    uv pip compile requirements.in -o requirements.txt
asgiref==3.8.1
    # via django
certifi==2024.8.30
    # via requests
charset-normalizer==3.4.0
    # via requests
django==4.2.16
    # via -r requirements.in
idna==3.10
    # via requests
requests==2.32.3
    # via -r requirements.in
sqlparse==0.5.1
    # via django
urllib3==2.2.3
    # via requests
""",
        fix="""
Keep the loose requirements in `requirements.in` and install from a compiled, fully pinned file
(`uv pip compile` or `pip-compile`), or pass a constraints file with `-c`.
""",
        references=[
            "https://pip.pypa.io/en/stable/topics/repeatable-installs/",
            "https://docs.astral.sh/uv/pip/compile/",
        ],
        security=False,
        example_language="text",
    ),
    _rule(
        "CA402",
        "vcs-requirement-unpinned",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "A VCS requirement on a branch or tag, not a commit, is rebuilt on every install.",
        what_it_does="""
Flags VCS requirements (`git+https://...`, `git+ssh://...`) that name a branch or tag, or no
ref at all, instead of a full commit hash; and direct archive URLs whose file name does not carry
`name-version` (`name @ https://github.com/o/r/archive/refs/tags/v1.2.zip`, `.../main.tar.gz`).
Only in what an install actually reads: the requirements files CI or Docker installs (`-r`
followed), and the dependencies, extras and groups an install takes from the `pyproject.toml`
of a project it installs when no lock file records the commit. A published library's
declarations are not judged unless a Dockerfile deploys it.
""",
        why_bad="""
pip caches wheels built from VCS URLs only when the ref is an immutable commit hash, so a branch
or tag is cloned and built from source on every install, cache or not. The branch can also move
between two builds of the same commit. Likewise pip caches a wheel built from an archive URL only
when the file name looks immutable (`pkg-1.2.tar.gz`): `v1.2.zip` is downloaded and built again
every time.
""",
        example="""
acme-utils @ git+https://github.com/acme/acme-utils.git@main
""",
        use_instead="""
acme-utils @ git+https://github.com/acme/acme-utils.git@3f2c1e9a7b4d5e6f8091a2b3c4d5e6f708192a3b
""",
        fix="""
Pin the requirement to a full 40-character commit hash (note the tag in a comment), or publish
the package to an index and pin its version.
""",
        references=[
            "https://pip.pypa.io/en/stable/topics/vcs-support/",
            "https://pip.pypa.io/en/stable/topics/caching/",
        ],
        security=False,
        example_language="text",
    ),
    _rule(
        "CA403",
        "no-lockfile",
        Category.DEPENDENCIES,
        Severity.INFO,
        "An application installed in CI or Docker has no lock file.",
        what_it_does="""
Flags a project that CI or a Dockerfile installs from `pyproject.toml` when no lock file exists
(`uv.lock`, `poetry.lock`, `pdm.lock`, `Pipfile.lock`, or a compiled requirements file). A
library the repository publishes (a PyPI upload in CI) is not flagged unless a Dockerfile
deploys it: its ranges are meant to float. Installs in example, fixture, template or docs
directories are not evidence of an application.
""",
        why_bad="""
Every install resolves the dependency ranges afresh, so CI, images and developer machines run
different versions, and the cache key (the hash of `pyproject.toml`) does not change when the
resolved set does.
""",
        example="""
# pyproject.toml only, no lock file in the repository
- uses: actions/setup-python@v5
  with:
    python-version: "3.12"
    cache: pip
- run: pip install .
""",
        use_instead="""
# uv.lock created with `uv lock` and committed
- uses: astral-sh/setup-uv@v7
  with:
    enable-cache: true
- run: uv sync --locked
""",
        fix="""
Create and commit a lock file (`uv lock`, `poetry lock`, `pdm lock`), install from it in CI and
Docker, and key caches on it.
""",
        references=[
            "https://docs.astral.sh/uv/concepts/projects/layout/#the-lockfile",
            "https://pip.pypa.io/en/stable/topics/repeatable-installs/",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA404",
        "requirements-without-hashes",
        Category.DEPENDENCIES,
        Severity.INFO,
        "A fully pinned requirements file without --hash lines.",
        what_it_does="""
Flags a compiled requirements file in which every requirement is pinned with `==` but none has
`--hash` options.
""",
        why_bad="""
Without hashes pip installs whatever file the index serves for that version, so a compromised
mirror or a replaced artifact goes unnoticed. With `--hash` lines pip verifies every download.
Note that pip switches to hash-checking mode as soon as any requirement has a hash and then
demands one for every requirement.
""",
        example="""
# This file was autogenerated by uv via the following command:
#    uv pip compile requirements.in -o requirements.txt
idna==3.10
    # via -r requirements.in
packaging==24.1
    # via -r requirements.in
""",
        use_instead="""
# This file was autogenerated by uv via the following command:
#    uv pip compile requirements.in --generate-hashes -o requirements.txt
idna==3.10 \\
    --hash=sha256:12f65c9b470abda6dc35cf8e63cc574b1c52b11df2c86030af0ac09b01b13ea9 \\
    --hash=sha256:946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3
    # via -r requirements.in
packaging==24.1 \\
    --hash=sha256:026ed72c8ed3fcce5bf8950572258698927fd1dbda10a5e981cdf0ac37f4f002 \\
    --hash=sha256:5b8f2217dbdbd2f7f384c41c628544e6d52f2d0f53c6d0c3ea61aa5d1d7ff124
    # via -r requirements.in
""",
        fix="""
Regenerate the file with `uv pip compile --generate-hashes` or `pip-compile --generate-hashes`.
""",
        references=[
            "https://pip.pypa.io/en/stable/topics/secure-installs/#hash-checking-mode",
            "https://docs.astral.sh/uv/pip/compile/",
        ],
        security=False,
        example_language="text",
        default_enabled=False,
    ),
    _rule(
        "CA501",
        "lockfile-not-used",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "A lock file exists but installs ignore it.",
        what_it_does="""
Flags installs that bypass a lock file the repository has: `pip install .` or
`pip install -r requirements.txt` next to `uv.lock`; `pip install -r requirements.txt` next to
`poetry.lock` when the requirements file is not exported from it; `npm install` next to
`package-lock.json`.
""",
        why_bad="""
The lock file records the tested dependency set, but the install resolves its own, so CI and
images run versions nobody locked and caches keyed on the lock file do not describe what was
installed.
""",
        example="""
# The repository has pyproject.toml and uv.lock.
- uses: actions/setup-python@v5
  with:
    python-version: "3.12"
    cache: pip
- run: pip install .
""",
        use_instead="""
- uses: astral-sh/setup-uv@v7
  with:
    enable-cache: true
- run: uv sync --locked
""",
        fix="""
Install from the lock file: `uv sync --locked`, `poetry install`, `npm ci`, or a requirements
file exported from the lock (`uv export`, `poetry export`).
""",
        references=[
            "https://docs.astral.sh/uv/concepts/projects/sync/",
            "https://docs.npmjs.com/cli/commands/npm-ci",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA502",
        "locked-install-not-enforced",
        Category.DEPENDENCIES,
        Severity.INFO,
        "A lock-aware install does not enforce the lock file.",
        what_it_does="""
Flags lock-aware installs in CI or Docker that may update the lock instead of failing:
`uv sync` without `--locked` or `--frozen`, `pipenv install` without `--deploy`, and
`yarn install` without `--immutable` (Berry) or `--frozen-lockfile` (classic). Silent where the
job (or Dockerfile stage) sets `UV_LOCKED`/`UV_FROZEN`, or deliberately resolves differently:
`UV_RESOLUTION`, `--resolution lowest`, `--upgrade`, or a `uv lock --upgrade` step. Settings of
other jobs in the same file do not count.
""",
        why_bad="""
When the lock file is out of date with the manifest, these commands quietly re-resolve and
install versions that are not in the committed lock, so the build passes with dependencies
nobody reviewed and the lock-keyed cache misses.
""",
        example="""
- uses: astral-sh/setup-uv@v7
  with:
    enable-cache: true
- run: uv sync
""",
        use_instead="""
- uses: astral-sh/setup-uv@v7
  with:
    enable-cache: true
- run: uv sync --locked
""",
        fix="""
Add `--locked` (or `--frozen`) to `uv sync`, `--deploy` to `pipenv install`, and `--immutable` or
`--frozen-lockfile` to `yarn install`.
""",
        references=[
            "https://docs.astral.sh/uv/concepts/projects/sync/",
            "https://yarnpkg.com/cli/install",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA503",
        "cache-key-ignores-install-input",
        Category.DEPENDENCIES,
        Severity.WARNING,
        "The cache key hashes files other than those the job installs from.",
        what_it_does="""
Flags a job whose cache key (`hashFiles()`, `cache-dependency-path`, GitLab `key: files:`)
hashes different files from the ones it installs: for example a key on `requirements.txt` with
an install of `requirements-dev.txt`.
""",
        why_bad="""
A change to the file that is actually installed does not change the key, so the old entry keeps
being restored and is never refreshed with the new packages, which are downloaded again on every
run.
""",
        example="""
- uses: actions/setup-python@v5
  with:
    python-version: "3.12"
    cache: pip
    cache-dependency-path: requirements.txt
- run: pip install -r requirements-dev.txt
""",
        use_instead="""
- uses: actions/setup-python@v5
  with:
    python-version: "3.12"
    cache: pip
    cache-dependency-path: |
      requirements.txt
      requirements-dev.txt
- run: pip install -r requirements-dev.txt
""",
        fix="""
Key the cache on every file the job installs from, including files pulled in with `-r` or `-c`.
""",
        references=[
            "https://github.com/actions/setup-python/blob/main/docs/advanced-usage.md#caching-packages",
            "https://docs.github.com/en/actions/reference/workflows-and-actions/expressions#hashfiles",
        ],
        security=False,
        example_language="yaml",
    ),
    _rule(
        "CA504",
        "referenced-file-missing",
        Category.DEPENDENCIES,
        Severity.ERROR,
        "A cache or install configuration names a file that does not exist.",
        what_it_does="""
Flags references to files that do not exist in the repository: `cache-dependency-path`, GitLab
`key: files:`, a Dockerfile `COPY`/`ADD` or bind-mount `source`, and `-r`/`-c` includes in
requirements files.
""",
        why_bad="""
The step that reads the file fails (`COPY` stops the build with "not found", setup actions fail,
pip stops on a missing include) or, for cache keys, silently falls back to a constant key.
""",
        example="""
# The requirements live in requirements/prod.txt.
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install -r requirements.txt
""",
        use_instead="""
FROM python:3.12-slim
WORKDIR /app
COPY requirements/prod.txt requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install -r requirements.txt
""",
        fix="""
Correct the path to the file that exists, or add the missing file.
""",
        references=[
            "https://docs.docker.com/reference/dockerfile/#copy",
            "https://github.com/actions/setup-python/blob/main/docs/advanced-usage.md#caching-packages",
            "https://docs.gitlab.com/ci/yaml/#cachekeyfiles",
        ],
        security=False,
        example_language="dockerfile",
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

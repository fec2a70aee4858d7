"""Hostile repositories, built at test time (nothing large is committed).

Each case writes a repository into ``root`` and may point at ``outside``, a sibling directory
filled with tempting files (a requirements file, a Dockerfile, CI files, a config) that cacheaudit
must never open. Expectations come in two kinds: ``notices`` that discovery alone produces (true
today, whatever the analyzers do) and ``outcome`` that needs the named analyzers.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

WALL_SECONDS = 20.0
"""Each hostile repository is audited in a fresh process within this bound (start-up included).
Generous for a loaded 2-core CI machine; a hang or a super-linear blow-up exceeds it."""
PEAK_RSS_MB = 500.0
"""Peak resident memory of that process (and its workers), from ``wait4`` rusage."""


@dataclass(frozen=True)
class Expect:
    """A finding or notice that must be in the report."""

    rules: frozenset[str]
    """Any of these rule ids."""
    path: str
    line: int | None = None
    text: str | None = None
    """A substring of the message."""

    def matches(self, item: dict[str, object]) -> bool:
        return (
            item["rule_id"] in self.rules
            and item["path"] == self.path
            and (self.line is None or item["line"] == self.line)
            and (self.text is None or self.text in str(item["message"]))
        )

    def __str__(self) -> str:
        rules = "|".join(sorted(self.rules))
        where = f":{self.line}" if self.line is not None else ""
        return f"{rules} {self.path!r}{where}" + (f" ~{self.text!r}" if self.text else "")


def expect(rules: str, path: str, line: int | None = None, text: str | None = None) -> Expect:
    return Expect(frozenset(rules.split("|")), path, line, text)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, Path], None]
    notices: tuple[Expect, ...] = ()
    """Produced by discovery: asserted for every run."""
    outcome: tuple[Expect, ...] = ()
    """Produced by analyzers (``needs``)."""
    needs: tuple[str, ...] = ()
    audited: tuple[str, ...] = ()
    """Paths that must be among ``files_audited`` (the walk got there and read them)."""
    unprivileged: bool = False
    """Needs mode-000 files to be unreadable: run as root, the child drops the capabilities
    that bypass file modes."""
    description: str = field(default="", compare=False)


# --- shared texts ----------------------------------------------------------------------------

DOCKERFILE = (
    "FROM python:3.12-slim\n"
    "WORKDIR /app\n"
    "COPY requirements.txt .\n"
    "RUN pip install -r requirements.txt\n"
    "COPY . .\n"
    'CMD ["python", "-m", "app"]\n'
)
DOCKERFILE_INSTALL_LINE = 4

WORKFLOW = (
    "name: CI\n"
    "on:\n"
    "  push:\n"
    "    branches: [main]\n"
    "  pull_request:\n"
    "jobs:\n"
    "  test:\n"
    "    runs-on: ubuntu-latest\n"
    "    steps:\n"
    "      - uses: actions/checkout@v4\n"
    "      - uses: actions/setup-python@v5\n"
    "        with:\n"
    '          python-version: "3.12"\n'
    "      - name: Install dependencies\n"
    "        run: |\n"
    "          python -m pip install --upgrade pip\n"
    "          pip install -r requirements.txt\n"
    "      - run: pytest\n"
)
WORKFLOW_INSTALL_LINE = 17

GITLAB = (
    "stages: [test]\n"
    "\n"
    "test:\n"
    "  stage: test\n"
    "  image: python:3.12\n"
    "  script:\n"
    "    - pip install -r requirements.txt\n"
    "    - pytest\n"
)

REQUIREMENTS = "requests==2.32.3\nurllib3==2.2.3\n"


def make_dirs(path: Path) -> None:
    """``mkdir -p`` without recursion (``os.makedirs`` recurses once per level)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir()


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    make_dirs(path.parent)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def build_outside(outside: Path) -> None:
    """Tempting files beside the repository: reading any of them is an escape."""
    write(outside, "requirements.txt", "stolen-secret==1.0\n")
    write(outside, "Dockerfile", DOCKERFILE)
    write(outside, ".gitlab-ci.yml", GITLAB)
    write(outside, ".github/workflows/ci.yml", WORKFLOW)
    write(outside, "ci.yml", GITLAB)
    write(outside, "pyproject.toml", '[tool.cacheaudit]\nexclude = ["**"]\n')
    write(outside, "cacheaudit.toml", 'exclude = ["**"]\n')


# --- builders --------------------------------------------------------------------------------


def _symlinks_outside(root: Path, outside: Path) -> None:
    write(root, "app/Dockerfile", DOCKERFILE)
    write(root, "app/requirements.txt", REQUIREMENTS)
    (root / "requirements.txt").symlink_to(outside / "requirements.txt")
    (root / "Dockerfile").symlink_to(os.path.relpath(outside / "Dockerfile", root))
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github/workflows/ci.yml").symlink_to(outside / ".github/workflows/ci.yml")
    (root / ".github/workflows/passwd.yml").symlink_to("/etc/passwd")
    (root / "vendored").symlink_to(outside)  # a directory: must not be walked


def _symlink_to_slash(root: Path, outside: Path) -> None:
    write(root, "app/Dockerfile", DOCKERFILE)
    (root / "sysroot").symlink_to("/")
    (root / "Dockerfile").symlink_to("/")  # a Dockerfile-named link to a directory
    (root / "app" / "up").symlink_to("..")  # a directory link back inside the root


def _symlink_loops(root: Path, outside: Path) -> None:
    write(root, "app/Dockerfile", DOCKERFILE)
    (root / "app" / "loop").symlink_to("../app")
    (root / "Dockerfile").symlink_to("Dockerfile")
    (root / "requirements-a.txt").symlink_to("requirements-b.txt")
    (root / "requirements-b.txt").symlink_to("requirements-a.txt")
    (root / ".gitlab-ci.yml").symlink_to("missing/.gitlab-ci.yml")  # dangling


def _huge_requirements(root: Path, outside: Path) -> None:
    line = b"requests==2.32.3 --hash=sha256:" + b"0" * 64 + b"\n"
    chunk = line * (1024 * 1024 // len(line) + 1)
    with (root / "requirements.txt").open("wb") as handle:
        for _ in range(200):  # just over 200 MB of plausible text
            handle.write(chunk)
    write(root, "Dockerfile", DOCKERFILE)
    write(root, ".github/workflows/ci.yml", WORKFLOW)


def _bomb(kind: str) -> str:
    anchors = ["  a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    for i in range(1, 10):
        anchors.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    body = "\n".join(anchors) + "\n"
    if kind == "workflow":
        return (
            "name: bomb\non: push\nenv:\n" + body + "jobs:\n  test:\n    runs-on: ubuntu-latest\n"
            "    env:\n      LOL: *a9\n    steps:\n      - run: pip install requests\n"
        )
    return "variables:\n" + body + "test:\n  script:\n    - pip install requests\n  tags: *a9\n"


def _alias_bomb(root: Path, outside: Path) -> None:
    write(root, ".github/workflows/bomb.yml", _bomb("workflow"))
    write(root, ".gitlab-ci.yml", _bomb("gitlab"))
    write(root, ".github/actions/bomb/action.yml", _bomb("workflow"))
    write(root, "pnpm-lock.yaml", _bomb("gitlab"))


def _deep_nesting(root: Path, outside: Path) -> None:
    depth = 10_000
    write(root, ".github/workflows/deep.yml", "on: push\njobs: " + "[" * depth + "]" * depth + "\n")
    write(root, ".gitlab-ci.yml", "test: " + "{a: " * depth + "1" + "}" * depth + "\n")
    block = "".join(" " * i + f"k{i}:\n" for i in range(400)) + " " * 400 + "leaf\n"
    write(root, ".github/actions/deep/action.yml", block)
    write(root, "pnpm-lock.yaml", "lockfileVersion: " + "[" * depth + "]" * depth + "\n")


def _duplicate_keys(root: Path, outside: Path) -> None:
    write(
        root,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pip install requests\n"
        "jobs:\n  other:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    )
    write(
        root,
        ".gitlab-ci.yml",
        "test:\n  script: [pip install requests]\ntest:\n  script: [pip install flask]\n",
    )


def _tabs(root: Path, outside: Path) -> None:
    write(root, ".github/workflows/ci.yml", WORKFLOW.replace("  ", "\t"))
    write(root, "Dockerfile", DOCKERFILE.replace("RUN pip install ", "RUN\tpip\tinstall\t"))
    write(root, "requirements.txt", "requests==2.32.3\t# pinned\n\turllib3==2.2.3\n")


def _bom_crlf(root: Path, outside: Path) -> None:
    write(root, ".github/workflows/ci.yml", "\ufeff" + WORKFLOW.replace("\n", "\r\n"))
    write(root, "Dockerfile", "\ufeff" + DOCKERFILE.replace("\n", "\r\n"))
    write(root, ".gitlab-ci.yml", GITLAB.replace("\n", "\r"))  # classic Mac line ends
    write(root, "requirements.txt", "\ufeff" + REQUIREMENTS.replace("\n", "\r\n"))


def _bad_encodings(root: Path, outside: Path) -> None:
    write(root, "requirements.txt", "# Müller's pins\nrequests==2.32.3\n".encode("latin-1"))
    write(root, "Dockerfile", DOCKERFILE.encode() + b"RUN echo \xff\xfe\xc3\x28\n")
    write(root, ".github/workflows/ci.yml", WORKFLOW.encode() + b"# \xe9t\xe9\n")
    write(root, "pyproject.toml", b'[project]\nname = "caf\xe9"\n')
    write(root, "app/Dockerfile", DOCKERFILE)  # a good file beside them is still audited


def _binary_files(root: Path, outside: Path) -> None:
    rng = random.Random(8)
    noise = bytes(rng.randrange(256) for _ in range(64 * 1024))
    write(root, "Dockerfile", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + noise)
    write(root, ".gitlab-ci.yml", b"\0" * 4096)
    write(root, "requirements.txt", noise.replace(b"\0", b"\1"))  # no NUL, not UTF-8 either
    write(root, "Containerfile", "".join(chr(c) for c in range(1, 32)) * 100)  # valid UTF-8
    write(root, "app/Dockerfile", DOCKERFILE)


def _unreadable(root: Path, outside: Path) -> None:
    write(root, "app/Dockerfile", DOCKERFILE)
    for rel, text in (
        ("requirements.txt", REQUIREMENTS),
        ("Dockerfile", DOCKERFILE),
        (".github/workflows/ci.yml", WORKFLOW),
        ("locked/Dockerfile", DOCKERFILE),
    ):
        write(root, rel, text).chmod(0)
    (root / "locked").chmod(0)  # an unreadable directory


def _empty_files(root: Path, outside: Path) -> None:
    for rel in (
        "Dockerfile",
        "Containerfile",
        ".gitlab-ci.yml",
        ".github/workflows/empty.yml",
        ".github/actions/empty/action.yml",
        "requirements.txt",
        "constraints.txt",
        "pyproject.toml",
        "Pipfile",
        "Pipfile.lock",
        "uv.lock",
        "poetry.lock",
        "package.json",
        "package-lock.json",
        "setup.cfg",
        "setup.py",
    ):
        write(root, rel, "")
    write(root, "blank/Dockerfile", "\n\n   \n")
    write(root, "comments/Dockerfile", "# syntax=docker/dockerfile:1\n# nothing else\n")
    write(root, ".github/workflows/null.yml", "~\n")
    write(root, ".github/workflows/comment.yml", "# only a comment\n")
    write(root, "blank/requirements.txt", "\n# comment\n\\\n")


ODD_DIRS = ("my service", "naïve-ü", "new\nline", "日本", "tab\there", "-rf", " lead")


def _odd_names(root: Path, outside: Path) -> None:
    for name in ODD_DIRS:
        write(root, f"services/{name}/Dockerfile", DOCKERFILE)
        write(root, f"services/{name}/requirements.txt", REQUIREMENTS)
    write(root, ".github/workflows/ci build.yml", WORKFLOW)
    write(root, ".github/workflows/tést.yml", WORKFLOW)
    write(root, "reqs/requirements dev.txt", REQUIREMENTS)
    # A name that is not valid UTF-8 (legal on Linux): must not break the JSON output.
    raw = os.fsencode(root) + b"/services/bad\xffname"
    os.mkdir(raw)
    with open(raw + b"/Dockerfile", "wb") as handle:
        handle.write(DOCKERFILE.encode())


def _huge_run_line(root: Path, outside: Path) -> None:
    packages = " ".join(f"pkg{i}==1.{i}" for i in range(80_000))  # ~1 MB
    write(root, "Dockerfile", f"FROM python:3.12-slim\nWORKDIR /app\nRUN pip install {packages}\n")
    lines = " \\\n".join(f"    pkg{i}==1.{i}" for i in range(30_000))
    write(
        root,
        "cont/Dockerfile",
        f"FROM python:3.12-slim\nWORKDIR /app\nRUN pip install \\\n{lines}\n",
    )


NEAR_LIMIT = 4_900_000
"""Just under discovery's default 5 MB file limit: the largest file an analyzer is ever given."""


def _run_line_at_limit(root: Path, outside: Path) -> None:
    words, size, i = [], 0, 0
    while size < NEAR_LIMIT - 100:
        word = f"pkg{i}==1.{i}"
        words.append(word)
        size += len(word) + 1
        i += 1
    write(
        root,
        "Dockerfile",
        f"FROM python:3.12-slim\nWORKDIR /app\nRUN pip install {' '.join(words)}\n",
    )


def _requirements_at_limit(root: Path, outside: Path) -> None:
    lines = [f"pkg{i}=={i % 10}.{i % 7}.0" for i in range(NEAR_LIMIT // 20)]
    write(root, "requirements.txt", "\n".join(lines) + "\n")
    write(root, "Dockerfile", DOCKERFILE)
    write(root, ".github/workflows/ci.yml", WORKFLOW)


def _huge_run_script(root: Path, outside: Path) -> None:
    chain = " && ".join(f"echo step{i}" for i in range(70_000))  # ~1 MB of commands
    write(root, "Dockerfile", f"FROM python:3.12-slim\nRUN pip install requests && {chain}\n")


def _huge_workflow_run(root: Path, outside: Path) -> None:
    packages = " ".join(f"pkg{i}==1.{i}" for i in range(80_000))
    text = WORKFLOW.replace("pip install -r requirements.txt", f"pip install {packages}")
    write(root, ".github/workflows/big.yml", text)
    write(root, ".gitlab-ci.yml", GITLAB.replace("-r requirements.txt", packages))


def _requirements_cycle(root: Path, outside: Path) -> None:
    write(root, "requirements.txt", "-r requirements-dev.txt\nrequests>=2.31\n")
    write(
        root,
        "requirements-dev.txt",
        "-r requirements.txt\n-r requirements-dev.txt\n-r ./requirements-dev.txt\npytest\n",
    )
    write(root, "constraints.txt", "-c constraints.txt\n-c ./sub/../constraints.txt\n")
    write(root, ".github/workflows/ci.yml", WORKFLOW)
    write(
        root,
        "Dockerfile",
        DOCKERFILE.replace(
            "COPY requirements.txt .", "COPY requirements*.txt constraints.txt ./"
        ).replace("-r requirements.txt", "-r requirements-dev.txt -c constraints.txt"),
    )


GITLAB_INCLUDE_CYCLE = (
    "include:\n"
    "  - local: ci/a.yml\n"
    "  - local: .gitlab-ci.yml\n"
    "  - local: 'ci/*.yml'\n"
    "\n"
    "test:\n"
    "  image: python:3.12\n"
    "  extends: .base\n"
    "  script:\n"
    "    - pip install -r requirements.txt\n"
)


def _gitlab_include_cycle(root: Path, outside: Path) -> None:
    write(root, ".gitlab-ci.yml", GITLAB_INCLUDE_CYCLE)
    write(root, "ci/a.yml", "include:\n  - local: ci/b.yml\n.base:\n  tags: [docker]\n")
    write(
        root,
        "ci/b.yml",
        "include:\n  - local: /ci/a.yml\n  - '/.gitlab-ci.yml'\n.x:\n  tags: [x]\n",
    )
    write(root, "requirements.txt", REQUIREMENTS)


def _gitlab_extends_cycle(root: Path, outside: Path) -> None:
    chain = "".join(f".t{i}:\n  extends: .t{i + 1}\n" for i in range(600))
    chain += ".t600:\n  script:\n    - pip install -r requirements.txt\n"
    write(
        root,
        ".gitlab-ci.yml",
        ".a:\n  extends: .b\n  script:\n    - pip install -r requirements.txt\n"
        ".b:\n  extends: [.a, .b]\n"
        ".self:\n  extends: .self\n"
        ".r1:\n  script: !reference [.r2, script]\n"
        ".r2:\n  script: !reference [.r1, script]\n"
        "test:\n  extends: .a\n  image: python:3.12\n"
        "refs:\n  script: !reference [.r1, script]\n"
        "chain:\n  extends: .t0\n" + chain,
    )
    write(root, "requirements.txt", REQUIREMENTS)


def _escape_references(root: Path, outside: Path) -> None:
    rel = os.path.relpath(outside, root)
    write(
        root,
        ".gitlab-ci.yml",
        f"include:\n  - local: {rel}/ci.yml\n  - local: /etc/passwd\n  - '../../../etc/passwd'\n"
        "  - remote: https://example.invalid/ci.yml\n  - project: group/other\n    file: ci.yml\n"
        f"test:\n  cache:\n    key:\n      files: [{rel}/requirements.txt, /etc/passwd]\n"
        f"    paths: [{rel}]\n  script:\n    - pip install -r {rel}/requirements.txt\n"
        "    - pip install -r /etc/passwd\n",
    )
    write(
        root,
        ".github/workflows/ci.yml",
        WORKFLOW.replace(
            'python-version: "3.12"',
            f'python-version: "3.12"\n          cache: pip\n'
            f"          cache-dependency-path: {rel}/requirements.txt",
        )
        + "      - uses: actions/cache@v4\n        with:\n"
        f"          path: {rel}\n"
        f"          key: pip-${{{{ hashFiles('{rel}/**', '/etc/passwd', '**/../../*') }}}}\n"
        f"      - uses: ./{rel}\n",
    )
    write(
        root,
        "Dockerfile",
        f"FROM python:3.12-slim\nCOPY {rel}/requirements.txt /etc/passwd ./\n"
        f"RUN --mount=type=bind,source={rel},target=/o pip install -r /o/requirements.txt\n"
        f"RUN pip install -r {rel}/requirements.txt\n",
    )
    write(
        root,
        "requirements.txt",
        f"-r {rel}/requirements.txt\n-r /etc/passwd\n-c file:///etc/passwd\n",
    )
    write(
        root, "pyproject.toml", f'[project]\nname = "x"\ndependencies = ["y @ file:///{outside}"]\n'
    )


def _config_symlink_escape(root: Path, outside: Path) -> None:
    write(root, "Dockerfile", DOCKERFILE)
    (root / ".cacheaudit.toml").symlink_to(outside / "cacheaudit.toml")


def _pyproject_symlink_escape(root: Path, outside: Path) -> None:
    write(root, "Dockerfile", DOCKERFILE)
    (root / "pyproject.toml").symlink_to(outside / "pyproject.toml")


def _deep_tree(root: Path, outside: Path) -> None:
    deep = "/".join(["d"] * 1000)
    write(root, f"{deep}/Dockerfile", DOCKERFILE)


def _malformed(root: Path, outside: Path) -> None:
    write(root, "pyproject.toml", "[project\nname = \n")
    write(root, "Pipfile", "[[source]\nurl = 5 5\n")
    write(root, "package.json", "{")
    write(root, "package-lock.json", "[1, 2")
    write(root, "uv.lock", "[[package]]\nname = 5\nversion = []\n")
    write(root, "poetry.lock", "\x01\x02 not toml\n")
    write(root, "setup.cfg", "[options\ninstall_requires =\n")
    write(root, "Dockerfile", 'RUN\nRUN ["pip", "install"\nFROM\nONBUILD RUN pip install x\n')
    write(root, "heredoc/Dockerfile", "FROM python\nRUN <<EOF\npip install requests\n")
    write(root, "escape/Dockerfile", "# escape=`\nFROM python\nRUN pip install `\n  requests\n")
    write(root, "cont/Dockerfile", "FROM python\nRUN pip install \\")
    write(root, ".github/workflows/list.yml", "- a\n- b\n")
    write(root, ".github/workflows/scalar.yml", "just a string\n")
    write(root, ".github/workflows/jobs-int.yml", "on: push\njobs: 5\n")
    write(
        root,
        ".github/workflows/steps-str.yml",
        "on: push\njobs:\n  t:\n    runs-on: [1, {a: b}]\n    steps: x\n"
        "  u:\n    steps:\n      - 5\n      - uses: 7\n        with: [1]\n"
        "      - run: [pip, install]\n"
        "      - uses: actions/cache@v4\n        with:\n          path: 5\n          key: {a: 1}\n",
    )
    write(root, ".github/actions/bad/action.yml", "runs: 7\n")
    write(
        root,
        ".gitlab-ci.yml",
        "include: 5\ndefault: []\nvariables: x\ntest: just a string\n"
        "job2:\n  script: 5\n  cache: {paths: 5, key: {files: 3}}\n"
        "job3:\n  extends: 7\n  script: [[pip install x]]\n",
    )
    write(root, "requirements.txt", "-r\n-c\n--hash\n-e\ngit+\n@\n==\nrequests ==\n\\\n")


CASES: tuple[Case, ...] = (
    Case(
        "symlinks-outside",
        _symlinks_outside,
        notices=(
            expect("CA002", "requirements.txt", text="outside"),
            expect("CA002", "Dockerfile", text="outside"),
            expect("CA002", ".github/workflows/ci.yml", text="outside"),
            expect("CA002", ".github/workflows/passwd.yml", text="outside"),
        ),
        audited=("app/Dockerfile", "app/requirements.txt"),
    ),
    Case(
        "symlink-to-root-dir",
        _symlink_to_slash,
        notices=(expect("CA002", "Dockerfile"),),
        audited=("app/Dockerfile",),
    ),
    Case(
        "symlink-loops",
        _symlink_loops,
        notices=(
            expect("CA002", "Dockerfile"),
            expect("CA002", "requirements-a.txt"),
            expect("CA002", "requirements-b.txt"),
            expect("CA002", ".gitlab-ci.yml"),
        ),
        audited=("app/Dockerfile",),
    ),
    Case(
        "requirements-200mb",
        _huge_requirements,
        notices=(expect("CA002", "requirements.txt", text="too large"),),
        outcome=(expect("CA301", "Dockerfile", DOCKERFILE_INSTALL_LINE),),
        needs=("dockerfile",),
        audited=("Dockerfile", ".github/workflows/ci.yml"),
    ),
    Case(
        "yaml-alias-bomb",
        _alias_bomb,
        outcome=(
            expect("CA001", ".github/workflows/bomb.yml"),
            expect("CA001", ".gitlab-ci.yml"),
            expect("CA001", ".github/actions/bomb/action.yml"),
        ),
        needs=("github_actions", "gitlab_ci"),
    ),
    Case(
        "yaml-nested-10000",
        _deep_nesting,
        outcome=(
            expect("CA001", ".github/workflows/deep.yml"),
            expect("CA001", ".gitlab-ci.yml"),
            expect("CA001", ".github/actions/deep/action.yml"),
        ),
        needs=("github_actions", "gitlab_ci"),
    ),
    Case(
        "yaml-duplicate-keys",
        _duplicate_keys,
        outcome=(
            expect("CA001", ".github/workflows/ci.yml", text="duplicate"),
            expect("CA001", ".gitlab-ci.yml", text="duplicate"),
        ),
        needs=("github_actions", "gitlab_ci"),
    ),
    Case(
        "tabs",
        _tabs,
        outcome=(
            expect("CA001", ".github/workflows/ci.yml"),
            expect("CA301", "Dockerfile", DOCKERFILE_INSTALL_LINE),
        ),
        needs=("github_actions", "dockerfile"),
    ),
    Case(
        "bom-crlf-cr",
        _bom_crlf,
        outcome=(
            expect("CA101", ".github/workflows/ci.yml", WORKFLOW_INSTALL_LINE),
            expect("CA301", "Dockerfile", DOCKERFILE_INSTALL_LINE),
            expect("CA201", ".gitlab-ci.yml"),
        ),
        needs=("github_actions", "dockerfile", "gitlab_ci"),
        audited=(".github/workflows/ci.yml", "Dockerfile", ".gitlab-ci.yml", "requirements.txt"),
    ),
    Case(
        "latin1-and-invalid-utf8",
        _bad_encodings,
        notices=(
            expect("CA002", "requirements.txt", text="UTF-8"),
            expect("CA002", "Dockerfile", text="UTF-8"),
            expect("CA002", ".github/workflows/ci.yml", text="UTF-8"),
            expect("CA002", "pyproject.toml", text="UTF-8"),
        ),
        audited=("app/Dockerfile",),
    ),
    Case(
        "binary-files",
        _binary_files,
        notices=(
            expect("CA002", "Dockerfile", text="binary"),
            expect("CA002", ".gitlab-ci.yml", text="binary"),
            expect("CA002", "requirements.txt"),
        ),
        audited=("app/Dockerfile", "Containerfile"),
    ),
    Case(
        "unreadable",
        _unreadable,
        notices=(
            expect("CA002", "requirements.txt", text="unreadable"),
            expect("CA002", "Dockerfile", text="unreadable"),
            expect("CA002", ".github/workflows/ci.yml", text="unreadable"),
            expect("CA002", "locked", text="unreadable"),
        ),
        audited=("app/Dockerfile",),
        unprivileged=True,
    ),
    Case(
        "empty-files",
        _empty_files,
        audited=("Dockerfile", ".gitlab-ci.yml", ".github/workflows/empty.yml", "pyproject.toml"),
    ),
    Case(
        "odd-file-names",
        _odd_names,
        outcome=(
            *(
                expect("CA301", f"services/{name}/Dockerfile", DOCKERFILE_INSTALL_LINE)
                for name in ODD_DIRS
            ),
            expect("CA101", ".github/workflows/ci build.yml", WORKFLOW_INSTALL_LINE),
            expect("CA101", ".github/workflows/tést.yml", WORKFLOW_INSTALL_LINE),
        ),
        needs=("dockerfile", "github_actions"),
        audited=(
            *(f"services/{name}/Dockerfile" for name in ODD_DIRS),
            ".github/workflows/ci build.yml",
            "reqs/requirements dev.txt",
        ),
    ),
    Case(
        "dockerfile-1mb-run-line",
        _huge_run_line,
        outcome=(expect("CA301", "Dockerfile", 3), expect("CA301", "cont/Dockerfile", 3)),
        needs=("dockerfile",),
        audited=("Dockerfile", "cont/Dockerfile"),
    ),
    Case(
        "dockerfile-run-line-at-size-limit",
        _run_line_at_limit,
        outcome=(expect("CA301", "Dockerfile", 3),),
        needs=("dockerfile",),
        audited=("Dockerfile",),
    ),
    Case(
        "requirements-at-size-limit",
        _requirements_at_limit,
        outcome=(expect("CA301", "Dockerfile", DOCKERFILE_INSTALL_LINE),),
        needs=("dockerfile",),
        audited=("requirements.txt", "Dockerfile", ".github/workflows/ci.yml"),
    ),
    Case(
        "dockerfile-1mb-command-chain",
        _huge_run_script,
        outcome=(expect("CA301", "Dockerfile", 2),),
        needs=("dockerfile",),
    ),
    Case(
        "ci-1mb-run-line",
        _huge_workflow_run,
        outcome=(
            expect("CA101", ".github/workflows/big.yml", WORKFLOW_INSTALL_LINE),
            expect("CA201", ".gitlab-ci.yml"),
        ),
        needs=("github_actions", "gitlab_ci"),
    ),
    Case(
        "requirements-include-cycle",
        _requirements_cycle,
        outcome=(expect("CA401", "requirements.txt"),),
        needs=("dependencies",),
        audited=("requirements.txt", "requirements-dev.txt", "constraints.txt"),
    ),
    Case(
        "gitlab-include-cycle",
        _gitlab_include_cycle,
        outcome=(expect("CA201", ".gitlab-ci.yml", 10),),
        needs=("gitlab_ci",),
    ),
    Case(
        "gitlab-extends-cycle",
        _gitlab_extends_cycle,
        outcome=(expect("CA001|CA201", ".gitlab-ci.yml"),),
        needs=("gitlab_ci",),
    ),
    Case("references-leaving-the-root", _escape_references),
    Case(
        "config-symlink-outside",
        _config_symlink_escape,
        outcome=(expect("CA301", "Dockerfile", DOCKERFILE_INSTALL_LINE),),
        needs=("dockerfile",),
        audited=("Dockerfile",),
    ),
    Case(
        "pyproject-symlink-outside",
        _pyproject_symlink_escape,
        notices=(expect("CA002", "pyproject.toml", text="outside"),),
        outcome=(expect("CA301", "Dockerfile", DOCKERFILE_INSTALL_LINE),),
        needs=("dockerfile",),
        audited=("Dockerfile",),
    ),
    Case(
        "directory-1000-deep",
        _deep_tree,
        outcome=(expect("CA301", "/".join(["d"] * 1000) + "/Dockerfile", DOCKERFILE_INSTALL_LINE),),
        needs=("dockerfile",),
        audited=("/".join(["d"] * 1000) + "/Dockerfile",),
    ),
    Case(
        "malformed-everything",
        _malformed,
        outcome=(expect("CA001", "pyproject.toml"),),
        needs=("dependencies",),
    ),
)

"""CA207: container image builds without a layer cache source, with the fix."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from cacheaudit.analyzers.gitlab_ci.audit import Audit
from cacheaudit.analyzers.gitlab_ci.model import EnvVar, Facts, Step
from cacheaudit.analyzers.gitlab_ci.text import column_of, short, source_line
from cacheaudit.model import Fix, Location
from cacheaudit.repo import RepoContext


@dataclass(frozen=True)
class DockerBuild:
    kind: str
    """``build`` (docker build), ``buildx`` (docker buildx build) or ``kaniko``."""
    args: tuple[str, ...]
    """Words after the build subcommand."""

    def has(self, *names: str) -> bool:
        return any(a == n or a.startswith(n + "=") for a in self.args for n in names)

    def verdict(self, env: dict[str, EnvVar]) -> tuple[str, float] | None:
        """Why the build has no layer cache (message tail, weight), or None when it has one."""
        if self.kind == "kaniko":
            if any(a in ("--cache", "--cache=true") for a in self.args):
                return None
            return (
                "runs kaniko without `--cache=true`: every layer, dependency installs included, "
                "is rebuilt on every run.",
                1.0,
            )
        if self.has("--cache-to"):
            return None
        if not self.has("--cache-from"):
            return (
                "has no `--cache-from`: the job's Docker daemon starts empty, so every layer, "
                "dependency installs included, is rebuilt on every run.",
                1.0,
            )
        sources = [
            _option_after(self.args, i)
            for i, a in enumerate(self.args)
            if a.startswith("--cache-from")
        ]
        if any(s.startswith("type=") for s in sources):
            return None  # a cache export (registry, gha, local...) written by another build
        inline = any("BUILDKIT_INLINE_CACHE=1" in a for a in self.args)
        classic = env.get("DOCKER_BUILDKIT")
        if inline or (classic is not None and classic.value == "0"):
            return None  # the classic builder uses a pulled image's layers as they are
        return (
            "uses `--cache-from` without exporting cache metadata: under BuildKit (the default "
            "builder) an image pushed without `--build-arg BUILDKIT_INLINE_CACHE=1` (or a "
            "`--cache-to` export) is not a usable cache source, so the layers are rebuilt anyway.",
            0.5,
        )


def _option_after(args: tuple[str, ...], index: int) -> str:
    word = args[index]
    if "=" in word and word.startswith("--"):
        return word.split("=", 1)[1]
    return args[index + 1] if index + 1 < len(args) else ""


_DOCKER_GLOBAL_VALUE = frozenset(
    {"-H", "--host", "--context", "-c", "--config", "-l", "--log-level"}
)


def docker_build(step: Step) -> DockerBuild | None:
    """The Docker image build a command runs, if any."""
    argv = step.command.argv
    program = step.command.program
    if program == "executor" and "kaniko" in argv[0]:
        return DockerBuild("kaniko", argv[1:])
    if program != "docker":
        return None
    index = 1
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] in _DOCKER_GLOBAL_VALUE else 1
    words = argv[index:]
    if not words:
        return None
    if words[0] == "build":
        return DockerBuild("build", words[1:])
    if len(words) > 1 and words[0] in ("image", "builder") and words[1] == "build":
        return DockerBuild("build", words[2:])
    if len(words) > 1 and words[0] == "buildx" and words[1] in ("build", "b"):
        return DockerBuild("buildx", words[2:])
    return None


def _build_fix(ctx: RepoContext, step: Step, build: DockerBuild) -> Fix:
    line = source_line(ctx, step.path, step.command.line)
    if build.kind == "kaniko":
        addition = "--cache=true"
        description = "Turn on kaniko's layer cache (stored in `<destination>/cache`)."
    elif build.kind == "buildx":
        addition = (
            "--cache-from type=registry,ref=$CI_REGISTRY_IMAGE/cache "
            "--cache-to type=registry,ref=$CI_REGISTRY_IMAGE/cache,mode=max"
        )
        description = (
            "Read and write a registry cache (needs a `docker-container` builder: run "
            "`docker buildx create --use` first)."
        )
    elif build.has("--cache-from"):
        addition = "--build-arg BUILDKIT_INLINE_CACHE=1"
        description = (
            "Embed cache metadata in the image this job pushes, so BuildKit can use it as the "
            "`--cache-from` source next time."
        )
    else:
        addition = "--cache-from $CI_REGISTRY_IMAGE:latest --build-arg BUILDKIT_INLINE_CACHE=1"
        description = (
            "Use the last pushed image as the cache source and embed cache metadata in it "
            "(also tag and push `$CI_REGISTRY_IMAGE:latest`)."
        )
    snippet = ""
    if line is not None:
        pattern = r"\bexecutor\b" if build.kind == "kaniko" else r"\bdocker\b.*?\bbuild\b"
        match = re.search(pattern, line)
        if match:
            snippet = line[: match.end()] + " " + addition + line[match.end() :]
    if not snippet:
        program = "/kaniko/executor" if build.kind == "kaniko" else "docker build"
        snippet = f"- {program} {addition} ..."
    return Fix(description, snippet.rstrip())


def judge_builds(audit: Audit, fact: Facts) -> None:
    counter: Counter[tuple[str, str]] = Counter()
    for step in fact.steps:
        build = docker_build(step)
        if build is None:
            continue
        slot = (step.owner, step.section)
        counter[slot] += 1
        verdict = build.verdict(step.env)
        if verdict is None:
            continue
        text, weight = verdict
        command = short(step.command.text)

        def message(jobs: str, text: str = text, command: str = command) -> str:
            return f"`{command}` in {jobs} {text}"

        audit.hit(
            "CA207",
            Location(step.path, step.command.line, column_of(audit.ctx, step)),
            f"{step.owner} / {step.section} / docker build #{counter[slot]}",
            fact.job.name,
            message,
            _build_fix(audit.ctx, step, build),
            weight,
        )

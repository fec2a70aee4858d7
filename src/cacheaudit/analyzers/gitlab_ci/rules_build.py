"""Container image builds in jobs (``docker build``, ``docker buildx build``, kaniko, buildah):
the ``ImageBuild`` each one records, and CA207, a build without a layer cache source, with a fix
whose cache reference derives from the image that build pushes.

Arguments are read the way the shell would pass them: a word that is only a variable
(``$DOCKER_CACHE_ARGS``) is expanded from the job's variables and split; when its value cannot be
known it may carry any option, so the build's cache is unknown, never reported absent. So is a
``--cache-from`` whose value is an unknown variable (it may be a ``type=registry`` export).
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass

from cacheaudit.analyzers.gitlab_ci.audit import Audit
from cacheaudit.analyzers.gitlab_ci.model import Facts, Job, Step
from cacheaudit.analyzers.gitlab_ci.places import PROJECT, Scope
from cacheaudit.analyzers.gitlab_ci.text import column_of, short, source_line
from cacheaudit.model import Fix, ImageBuild, Location
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

VALUE_OPTIONS = frozenset(
    {
        "-t", "--tag", "-f", "--file", "--build-arg", "--cache-from", "--cache-to", "--platform",
        "--target", "--label", "--secret", "--ssh", "-o", "--output", "--network", "--progress",
        "--iidfile", "--add-host", "--builder", "--shm-size", "--ulimit", "-m", "--memory",
        "--allow", "--attest", "--annotation", "--metadata-file", "--provenance", "--sbom",
        "--build-context", "--cgroup-parent", "--isolation", "--security-opt", "--cpu-shares",
        "--cpuset-cpus", "--memory-swap", "--destination", "-d", "--context", "-c", "--dockerfile",
        "--cache-repo", "--cache-dir", "--cache-ttl", "--registry-mirror",
        "--skip-tls-verify-registry",
        "--insecure-registry", "--tar-path", "--digest-file", "--image-name-with-digest-file",
        "--log-format", "--verbosity", "--snapshot-mode", "--custom-platform", "--format",
        "--authfile", "--creds", "--jobs", "--os", "--arch", "--variant",
        "--ignore-path", "--kaniko-dir", "--oci-layout-path",
    }
)  # fmt: skip
"""Options of docker build, kaniko and buildah that take a value as the next word. (Boolean ones
written ``--opt=value`` carry it in the word.)"""

CLASSIC_DOCKER = re.compile(r"(?:^|/)docker:(\d+)(?:[.\-]|$)")
"""A ``docker:<major>`` job image: before 23, ``docker build`` uses the classic builder."""


@dataclass(frozen=True)
class Arg:
    word: str
    """The word after expansion (unknown variables kept as written)."""
    known: bool
    """Whether every variable in it was known."""


@dataclass(frozen=True)
class BuildCommand:
    kind: str
    """``build`` (docker build), ``buildx`` (docker buildx build), ``kaniko`` or ``buildah``."""
    args: tuple[Arg, ...]
    """Words after the build subcommand, expanded; a bare variable's value is split."""
    opaque: bool
    """A bare variable of unknown value stands among the options: it may carry any of them."""

    def values(self, *names: str) -> list[Arg]:
        """The values of an option (``--tag x``, ``--tag=x``), in order."""
        out = []
        for index, arg in enumerate(self.args):
            for name in names:
                if arg.word == name and index + 1 < len(self.args):
                    out.append(self.args[index + 1])
                elif arg.word.startswith(name + "="):
                    out.append(Arg(arg.word[len(name) + 1 :], arg.known))
        return out

    def has(self, *names: str) -> bool:
        return any(a.word == n or a.word.startswith(n + "=") for a in self.args for n in names)

    def positionals(self) -> list[Arg]:
        out = []
        skip = False
        for arg in self.args:
            if skip:
                skip = False
                continue
            if arg.word.startswith("-"):
                skip = arg.word in VALUE_OPTIONS
                continue
            out.append(arg)
        return out


def build_command(job: Job, step: Step) -> BuildCommand | None:
    """The container image build a command runs, if any."""
    argv = step.command.argv
    program = step.command.program
    if not argv:
        return None
    kind: str | None = None
    words: tuple[str, ...] = ()
    if program == "executor" and (
        "kaniko" in argv[0] or "kaniko" in (job.image or "") or "--destination" in " ".join(argv)
    ):
        kind, words = "kaniko", argv[1:]
    elif (
        program == "buildah"
        and len(argv) > 1
        and argv[1] in ("bud", "build", "build-using-dockerfile")
    ):
        kind, words = "buildah", argv[2:]
    elif program == "docker":
        index = 1
        while index < len(argv) and argv[index].startswith("-"):
            index += 2 if argv[index] in _DOCKER_GLOBAL_VALUE else 1
        rest = argv[index:]
        if rest and rest[0] == "build":
            kind, words = "build", rest[1:]
        elif len(rest) > 1 and rest[0] in ("image", "builder") and rest[1] == "build":
            kind, words = "build", rest[2:]
        elif len(rest) > 1 and rest[0] == "buildx" and rest[1] in ("build", "b"):
            kind, words = "buildx", rest[2:]
    if kind is None:
        return None
    scope = Scope(job, step.env, step.workdir)
    args: list[Arg] = []
    opaque = False
    for position, word in enumerate(words):
        bare = re.fullmatch(r"\$\{?[A-Za-z_]\w*\}?|\$\{[^}]*\}|\$@|\$\*", word)
        expanded = scope.expand(word)
        kept = scope.expand(word, keep=True) or word
        if bare is not None and expanded is None and kept != word:
            # `$WORKER_IMAGE` set to `$CI_REGISTRY_IMAGE/worker`: known up to predefined ones
            args.extend(Arg(w, False) for w in kept.split())
            continue
        if bare is not None:
            if expanded is None:
                previous = words[position - 1] if position else ""
                is_value = previous in VALUE_OPTIONS
                last = position == len(words) - 1
                if not is_value and not last:
                    opaque = True  # `$DOCKER_CACHE_ARGS`: may hold --cache-from and friends
                args.append(Arg(word, False))
            else:
                args.extend(Arg(w, True) for w in expanded.split())
            continue
        if expanded is None:
            args.append(Arg(kept, False))
        else:
            args.append(Arg(expanded, True))
    return BuildCommand(kind, tuple(args), opaque)


_DOCKER_GLOBAL_VALUE = frozenset(
    {"-H", "--host", "--context", "-c", "--config", "-l", "--log-level"}
)


def _shown(word: str) -> str:
    return word.replace(PROJECT, "$CI_PROJECT_DIR")


# --- what the build pushes and builds ---------------------------------------------------------


def pushed_image(build: BuildCommand) -> str | None:
    """The first image the build names (``--tag``, kaniko's ``--destination``), as written."""
    names = ("--destination", "-d") if build.kind == "kaniko" else ("-t", "--tag")
    values = build.values(*names)
    return _shown(values[0].word) if values else None


def dockerfile_of(ctx: RepoContext, step: Step, build: BuildCommand) -> str | None:
    """The Dockerfile the build reads, relative to the root, when it exists in the repository."""
    base = step.workdir
    if base is None:
        return None
    if build.kind == "kaniko":
        contexts = build.values("--context", "-c")
        context_word = contexts[0].word if contexts else PROJECT
        if not (contexts[0].known if contexts else True):
            return None
        files = build.values("--dockerfile", "-f")
        file_word = files[0].word if files else "Dockerfile"
        if files and not files[0].known:
            return None
    else:
        positionals = build.positionals()
        if not positionals or not positionals[-1].known:
            return None
        context_word = positionals[-1].word
        files = build.values("-f", "--file")
        if files and not files[0].known:
            return None
        file_word = files[0].word if files else ""
    context = _project_path(context_word.removeprefix("dir://"), base)
    if context is None:
        return None
    if not file_word:
        path = posixpath.join(context, "Dockerfile") if context else "Dockerfile"
    elif file_word.startswith(PROJECT) or build.kind != "kaniko":
        path = _project_path(file_word, base) or ""
    else:  # kaniko reads a relative --dockerfile inside the context
        path = normalize(file_word, context) or ""
    if path not in ctx.paths and file_word and not file_word.startswith(PROJECT):
        # buildah and kaniko also look for a relative file inside the context
        path = normalize(file_word, context) or ""
    return path if path in ctx.paths else None


def _project_path(word: str, base: str) -> str | None:
    if word.startswith(PROJECT):
        rest = word[len(PROJECT) :].lstrip("/")
        return normalize(rest) if rest else ""
    if word.startswith(("/", "~", "git://", "http", "s3://", "gs://", "tar://")) or "://" in word:
        return None
    return normalize(word, base)


def split_image(image: str) -> tuple[str, str]:
    """``registry/group/name:tag`` → (``registry/group/name``, ``tag``); a digest is dropped."""
    image = image.split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, ""


def cache_ref(build: BuildCommand, dockerfile: str | None) -> tuple[str, str]:
    """(repository, name) of the cache for this build: the repository of the image it pushes
    (a local name goes under ``$CI_REGISTRY_IMAGE``), and a short name that tells this image
    apart from others pushed to the same repository (the constant part of its tag, else the
    Dockerfile's name), possibly empty."""
    repo, tag = split_image(pushed_image(build) or "$CI_REGISTRY_IMAGE")
    generic = repo in ("$CI_REGISTRY_IMAGE", "${CI_REGISTRY_IMAGE}")
    if "/" not in repo and "." not in repo and not repo.startswith("$"):
        repo = f"$CI_REGISTRY_IMAGE/{repo}"
    name = re.sub(r"\$\{[^}]*\}|\$\w+", "", tag).strip("-_.")
    if name == "latest":
        name = ""
    if name or not generic or dockerfile is None:
        pass  # the repository (or a constant tag) already tells this image apart
    elif posixpath.basename(dockerfile) != "Dockerfile":
        base = posixpath.basename(dockerfile)
        name = re.sub(r"(?i)^dockerfile[._-]?|[._-]?dockerfile$", "", base)
    elif "/" in dockerfile:
        name = posixpath.basename(posixpath.dirname(dockerfile))
    return repo, re.sub(r"[^A-Za-z0-9_.-]", "-", name)


# --- CA207 --------------------------------------------------------------------------------------


def verdict(job: Job, step: Step, build: BuildCommand) -> tuple[str, float] | None:
    """Why the build has no layer cache (message tail, weight), or None when it has one or it
    cannot be told."""
    if build.kind == "kaniko":
        cache = build.values("--cache")
        if any(v.word.lower() == "true" for v in cache) or any(
            a.word == "--cache" for a in build.args
        ):
            return None
        if build.opaque or any(not v.known for v in cache):
            return None
        return (
            "runs kaniko without `--cache=true`: every layer, dependency installs included, "
            "is rebuilt on every run.",
            1.0,
        )
    if build.kind == "buildah":
        if build.has("--cache-from") or build.opaque:
            return None
        return (
            "builds with buildah without `--layers --cache-from`: the job starts with no layers, "
            "so every layer, dependency installs included, is rebuilt on every run.",
            1.0,
        )
    if build.has("--cache-to"):
        return None
    sources = build.values("--cache-from")
    if not sources:
        if build.opaque:
            return None
        return (
            "has no `--cache-from`: the job's Docker daemon starts empty, so every layer, "
            "dependency installs included, is rebuilt on every run.",
            1.0,
        )
    if any(s.word.startswith("type=") or _may_be_export(s) for s in sources):
        return None  # a cache export (registry, gha, local...) or a value that may be one
    inline = any("BUILDKIT_INLINE_CACHE=1" in a.word for a in build.args)
    if inline or build.opaque or classic_builder(job, step):
        return None  # the classic builder uses a pulled image's layers as they are
    return (
        "uses `--cache-from` without exporting cache metadata: under BuildKit (the default "
        "builder) an image pushed without `--build-arg BUILDKIT_INLINE_CACHE=1` (or a "
        "`--cache-to` export) is not a usable cache source, so the layers are rebuilt anyway.",
        0.5,
    )


def _may_be_export(source: Arg) -> bool:
    """An unknown ``--cache-from`` value that may be a ``type=...`` export: one that starts with
    a variable other than GitLab's predefined ones (``$CI_REGISTRY_IMAGE/app`` is an image)."""
    if source.known:
        return False
    match = re.match(r"\$\{?([A-Za-z_]\w*)", source.word)
    return match is None or not match.group(1).startswith("CI_")


def classic_builder(job: Job, step: Step) -> bool:
    """Whether ``docker build`` runs the classic builder: ``DOCKER_BUILDKIT=0``, or a job image
    of Docker before 23 (BuildKit became the default builder in Docker Engine 23.0)."""
    variable = step.env.get("DOCKER_BUILDKIT")
    if variable is not None and (variable.value or "").strip() == "0":
        return True
    match = CLASSIC_DOCKER.search(job.image or "")
    return match is not None and int(match.group(1)) < 23


def judge_builds(audit: Audit, fact: Facts) -> None:
    counter: Counter[tuple[str, str]] = Counter()
    for step in fact.steps:
        build = build_command(fact.job, step)
        if build is None:
            continue
        dockerfile = dockerfile_of(audit.ctx, step, build)
        audit.builds.append(
            ImageBuild(
                location=Location(step.path, step.command.line),
                platform="gitlab-ci",
                context=f"pipeline {audit.pipeline.root} / job {fact.job.name}",
                dockerfile=dockerfile,
                runs_per_pipeline=fact.job.parallel,
            )
        )
        slot = (step.owner, step.section)
        counter[slot] += 1
        found = verdict(fact.job, step, build)
        if found is None:
            continue
        text, weight = found
        command = short(step.command.text)

        def message(jobs: str, text: str = text, command: str = command) -> str:
            return f"`{command}` in {jobs} {text}"

        audit.hit(
            "CA207",
            Location(step.path, step.command.line, column_of(audit.ctx, step)),
            f"{step.owner} / {step.section} / docker build #{counter[slot]}",
            fact.job.name,
            message,
            build_fix(audit.ctx, fact.job, step, build, dockerfile),
            weight,
        )


def build_fix(
    ctx: RepoContext, job: Job, step: Step, build: BuildCommand, dockerfile: str | None
) -> Fix:
    line = source_line(ctx, step.path, step.command.line)
    repo, name = cache_ref(build, dockerfile)
    if build.kind == "kaniko":
        addition = f"--cache=true --cache-repo={repo}/cache"
        description = (
            f"Turn on kaniko's layer cache, stored beside the image it pushes (`{repo}/cache`)."
        )
    elif build.kind == "buildah":
        addition = f"--layers --cache-from {repo}/cache --cache-to {repo}/cache"
        description = (
            f"Keep layers and share them through `{repo}/cache` (buildah 1.27+; `--cache-from` "
            "is ignored without `--layers`)."
        )
    elif build.kind == "buildx":
        ref = f"{repo}:buildcache" + (f"-{name}" if name else "")
        addition = (
            f"--cache-from type=registry,ref={ref} --cache-to type=registry,ref={ref},mode=max"
        )
        description = (
            f"Read and write a registry cache for this image (`{ref}`); it needs a "
            "`docker-container` builder: run `docker buildx create --use` first."
        )
    elif build.has("--cache-from"):
        addition = "--build-arg BUILDKIT_INLINE_CACHE=1"
        description = (
            "Embed cache metadata in the image this job pushes, so BuildKit can use it as the "
            "`--cache-from` source next time."
        )
    else:
        ref = f"{repo}:{name or 'latest'}"
        constant = [
            tagged
            for v in build.values("-t", "--tag")
            if (tag := split_image(tagged := _shown(v.word))[1]) and "$" not in tag
        ]
        if constant:
            ref = constant[0]  # a stable tag the job already gives this image
        pushed = bool(constant)
        addition = f"--cache-from {ref} --build-arg BUILDKIT_INLINE_CACHE=1"
        also = "" if pushed else f" (also tag and push it as `{ref}`)"
        pull = (
            f"; the classic builder of Docker before 23 also needs `docker pull {ref} || true` "
            "first"
            if classic_builder(job, step)
            else ""
        )
        description = (
            f"Use the last pushed `{ref}` as the cache source and embed cache metadata in the "
            f"image{also}{pull}."
        )
    snippet = ""
    if line is not None:
        pattern = {
            "kaniko": r"\bexecutor\b",
            "buildah": r"\bbuildah\b.*?\b(bud|build|build-using-dockerfile)\b",
        }.get(build.kind, r"\bdocker\b.*?\bbuild\b")
        match = re.search(pattern, line)
        if match:
            snippet = line[: match.end()] + " " + addition + line[match.end() :]
    if not snippet:
        program = {"kaniko": "/kaniko/executor", "buildah": "buildah build"}.get(
            build.kind, "docker build"
        )
        snippet = f"- {program} {addition} ..."
    return Fix(description, snippet.rstrip())

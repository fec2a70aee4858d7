"""Simple commands → container image builds (docker/podman/buildah build, buildx, compose,
bake, kaniko)."""

from __future__ import annotations

from dataclasses import dataclass

from cacheaudit.parsing.shell.args import _spec, _walk
from cacheaudit.parsing.shell.commands import Command


@dataclass(frozen=True)
class ImageBuildCommand:
    """A container image build in shell text: ``docker build``, ``docker buildx build``,
    ``docker compose build``, ``docker-compose build``, ``docker buildx bake``, kaniko's
    executor, ``buildah build``/``bud``, ``podman build``."""

    kind: str
    """``build`` (docker/podman/buildah build, buildx build), ``compose``, ``bake``,
    ``kaniko``."""
    command: Command
    dockerfile: str | None
    """``-f``/``--file`` (kaniko ``--dockerfile``) as written; None when not given (then
    ``<context>/Dockerfile``; for compose and bake the files name the Dockerfiles)."""
    context: str | None
    """The build context as written (``.``, ``docker/``, kaniko ``--context``); None when not
    given or not a path (``-`` for stdin, a URL)."""
    files: tuple[str, ...] = ()
    """compose ``-f`` files and bake ``-f`` files as written."""
    services: tuple[str, ...] = ()
    """compose services / bake targets named on the command line."""
    cache_from: tuple[str, ...] = ()
    """``--cache-from`` values (kaniko: ``--cache-repo``; ``--cache=true`` adds ``kaniko``)."""
    cache_to: tuple[str, ...] = ()
    """``--cache-to`` values."""
    options: tuple[str, ...] = ()
    """Options as written, without their values."""
    target: str | None = None
    """``--target`` (docker/podman/buildah build, kaniko): the stage built."""

    @property
    def line(self) -> int:
        return self.command.line


def find_image_builds(commands: list[Command]) -> list[ImageBuildCommand]:
    """The container image builds among ``commands``, in order."""
    found = (_image_build(c) for c in commands)
    return [b for b in found if b is not None]


_BUILD_SPEC = _spec("ftot", (
    "--file --tag --target --build-arg --cache-from --cache-to --platform --output --label "
    "--secret --ssh --builder --progress --network --iidfile --metadata-file --add-host "
    "--build-context --allow --attest --sbom --provenance --shm-size --ulimit --annotation "
    "--cgroup-parent --isolation --memory --cpu-shares --format --authfile "
    "--creds --jobs --volume"))  # fmt: skip
_COMPOSE_SPEC = _spec("fp", "--file --project-name --project-directory --profile --env-file "
                      "--ansi --progress --build-arg --builder --memory --ssh")  # fmt: skip
_BAKE_SPEC = _spec("f", "--file --set --builder --progress --metadata-file --allow --call")
_KANIKO_SPEC = _spec("cdf", (
    "--context --dockerfile --destination --cache-repo --cache-dir --target --build-arg "
    "--cache-ttl --label --tar-path --digest-file --image-name-with-digest-file "
    "--registry-mirror --snapshot-mode --custom-platform --kaniko-dir"))  # fmt: skip
_BUILDERS = frozenset({"docker", "podman", "buildah", "nerdctl"})


def _image_build(command: Command) -> ImageBuildCommand | None:
    if not command.argv:
        return None
    prog = command.program.lower()
    args = list(command.argv[1:])
    if prog == "executor" and "kaniko" in command.argv[0]:  # /kaniko/executor
        return _kaniko(command, args)
    if prog == "docker-compose":
        prog, args = "docker", ["compose", *args]
    if prog not in _BUILDERS:
        return None
    args = _after_global_options(args)
    if prog == "docker" and args[:1] == ["buildx"]:
        args = args[1:]
        if args[:1] == ["bake"]:
            return _bake(command, args[1:])
        args = args if args[:1] in (["build"], ["b"]) else []
        args[:1] = ["build"] if args else []
    if args[:1] == ["compose"]:
        return _compose(command, args[1:])
    if args[:1] == ["image"] and args[1:2] == ["build"]:
        args = args[1:]
    if args[:1] not in (["build"], ["bud"]):
        return None
    a = _walk(args[1:], _BUILD_SPEC)
    context = a.operands[0] if a.operands else None
    if context is not None and (context == "-" or "://" in context or context.startswith("git@")):
        context = None
    files = a.get("-f", "--file")
    return ImageBuildCommand(
        "build",
        command,
        files[-1] if files else None,
        context,
        cache_from=tuple(a.get("--cache-from")),
        cache_to=tuple(a.get("--cache-to")),
        options=tuple(a.options),
        target=next(reversed(a.get("--target")), None),
    )


def _after_global_options(args: list[str]) -> list[str]:
    """``docker --context x --log-level debug build`` → ``build ...``."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name = args[i].split("=", 1)[0]
        i += 1
        if "=" not in args[i - 1] and name in ("--context", "-c", "--config", "--host", "-H",
                                               "--log-level", "-l", "--tlscacert", "--tlscert",
                                               "--tlskey", "--url", "--connection"):  # fmt: skip
            i += 1
    return args[i:]


def _compose(command: Command, args: list[str]) -> ImageBuildCommand | None:
    a = _walk(args, _COMPOSE_SPEC)
    ops = a.operands
    building = ops[:1] == ["build"] or (
        ops[:1] in (["up"], ["run"], ["create"]) and "--build" in a.options
    )
    if not building:
        return None
    return ImageBuildCommand(
        "compose",
        command,
        None,
        None,
        files=tuple(a.get("-f", "--file")),
        services=tuple(ops[1:]) if ops[:1] == ["build"] else (),
        options=tuple(a.options),
    )


def _bake(command: Command, args: list[str]) -> ImageBuildCommand:
    a = _walk(args, _BAKE_SPEC)
    sets = a.get("--set")
    return ImageBuildCommand(
        "bake",
        command,
        None,
        None,
        files=tuple(a.get("-f", "--file")),
        services=tuple(a.operands),
        cache_from=tuple(v.split("=", 1)[1] for v in sets if ".cache-from=" in v),
        cache_to=tuple(v.split("=", 1)[1] for v in sets if ".cache-to=" in v),
        options=tuple(a.options),
    )


def _kaniko(command: Command, args: list[str]) -> ImageBuildCommand:
    a = _walk(args, _KANIKO_SPEC)
    cache_from = list(a.get("--cache-repo"))
    values = a.get("--cache")
    if "--cache" in a.options and (not values or values[-1].lower() == "true"):
        cache_from.append("kaniko")
    context = next(iter(a.get("-c", "--context")), None)
    if context is not None:
        context = context.removeprefix("dir://")
        if "://" in context:
            context = None
    dockerfile = next(iter(a.get("-f", "--dockerfile")), None)
    return ImageBuildCommand(
        "kaniko", command, dockerfile, context, cache_from=tuple(cache_from),
        options=tuple(a.options), target=next(reversed(a.get("--target")), None),
    )  # fmt: skip

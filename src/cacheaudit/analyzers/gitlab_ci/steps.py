"""The shell of a job as the runner runs it: every command in order, with the environment and
working directory it sees (``cd``, ``export``, ``<tool> config set``, sourced or executed
repository scripts followed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cacheaudit.analyzers import scripts
from cacheaudit.analyzers.gitlab_ci.model import EnvVar, Job, Step
from cacheaudit.analyzers.gitlab_ci.places import yaml_env
from cacheaudit.analyzers.gitlab_ci.tools import CONFIG_PROGRAMS, TOOLS
from cacheaudit.model import Location
from cacheaudit.parsing.shell import Command, parse_script
from cacheaudit.paths import normalize
from cacheaudit.repo import RepoContext

MAX_SCRIPT_DEPTH = 3
"""How deep executed or sourced repository scripts are followed."""


@dataclass
class _Shell:
    env: dict[str, EnvVar]
    workdir: str | None = ""
    stack: list[str | None] = field(default_factory=list)

    def copy(self) -> _Shell:
        return _Shell(dict(self.env), self.workdir, list(self.stack))


def job_steps(ctx: RepoContext, job: Job) -> list[Step]:
    """Every command the job runs, in order, with its environment and working directory."""
    base = yaml_env(job)
    steps: list[Step] = []
    shell = _Shell(dict(base))
    in_after = False
    for item in job.scripts:
        if item.section == "after_script" and not in_after:
            in_after = True
            shell = _Shell(dict(base))  # after_script runs in a new shell, back in the project
        commands = parse_script(item.text, start_line=item.origin.text_line)
        _walk(ctx, commands, item.origin.path, item.origin.owner, item.section, shell, steps, 0)
    return steps


def _walk(
    ctx: RepoContext,
    commands: list[Command],
    path: str,
    owner: str,
    section: str,
    shell: _Shell,
    steps: list[Step],
    depth: int,
    via: Location | None = None,
) -> None:
    for cmd in commands:
        env = dict(shell.env)
        location = Location(path, cmd.line)
        for name, value in cmd.env:
            env[name] = EnvVar(value, True, location, "inline", owner)
        steps.append(Step(cmd, path, owner, section, env, shell.workdir, via))
        if not cmd.argv:  # `A=b` alone: a shell variable; exported only if it already was
            for name, value in cmd.env:
                if name in shell.env:
                    shell.env[name] = EnvVar(value, True, location, "export", owner)
            continue
        _update_shell(cmd, location, owner, shell)
        for run in scripts.follow(ctx, cmd, shell.workdir) if depth < MAX_SCRIPT_DEPTH else ():
            inner = shell if run.sourced else shell.copy()
            inner.workdir = inner.workdir if run.sourced else run.workdir
            _walk(
                ctx, list(run.commands), run.path, run.path, section, inner, steps, depth + 1,
                via or location,
            )  # fmt: skip


def _update_shell(cmd: Command, location: Location, owner: str, shell: _Shell) -> None:
    """Follow what a command changes for the commands after it."""
    argv, program = cmd.argv, cmd.program
    if program == "cd":
        shell.workdir = _chdir(shell, argv[1:])
    elif program == "pushd":
        shell.stack.append(shell.workdir)
        shell.workdir = _chdir(shell, argv[1:])
    elif program == "popd":
        shell.workdir = shell.stack.pop() if shell.stack else None
    elif program == "export":
        for word in argv[1:]:
            name, sep, value = word.partition("=")
            if sep and re.fullmatch(r"[A-Za-z_]\w*", name):
                shell.env[name] = EnvVar(value, True, location, "export", owner)
    elif program in ("source", ".") and len(argv) > 1 and argv[1].endswith("/bin/activate"):
        venv = normalize(argv[1][: -len("/bin/activate")], shell.workdir or "")
        if venv is not None and shell.workdir is not None:
            value = f"$CI_PROJECT_DIR/{venv}"
            shell.env["VIRTUAL_ENV"] = EnvVar(value, True, location, "export", owner)
    elif program == "deactivate":
        shell.env.pop("VIRTUAL_ENV", None)
    elif program == "unset":
        for word in argv[1:]:
            shell.env.pop(word, None)
    else:
        setting = _config_setting(cmd)
        if setting is not None:
            tool, value = setting
            shell.env[f"@{tool}"] = EnvVar(value, True, location, "config", owner)
        words = [w for w in argv[1:] if not w.startswith("-")]
        if program == "poetry" and words[:2] == ["config", "virtualenvs.in-project"]:
            # the same setting as POETRY_VIRTUALENVS_IN_PROJECT: the environment is `.venv`
            value = words[2] if len(words) > 2 else ""
            name = "POETRY_VIRTUALENVS_IN_PROJECT"
            shell.env[name] = EnvVar(value, True, location, "config", owner)


def _chdir(shell: _Shell, args: tuple[str, ...]) -> str | None:
    target = next((a for a in args if not a.startswith("-") or a == "-"), None)
    if target is None or target in ("-", "~") or shell.workdir is None:
        return None
    if "$" in target:
        for prefix in ("$CI_PROJECT_DIR", "${CI_PROJECT_DIR}"):
            if target.startswith(prefix):
                rest = target[len(prefix) :].lstrip("/")
                return normalize(rest) if rest else ""
        return None
    if target.startswith("/"):
        return None
    return normalize(target, shell.workdir)


def _config_setting(cmd: Command) -> tuple[str, str] | None:
    """``npm config set cache .npm`` and friends → (tool, value)."""
    argv = list(cmd.argv)
    program = cmd.program
    if re.fullmatch(r"python[\d.]*", program) and argv[1:3] == ["-m", "pip"]:
        argv, program = argv[2:], "pip"
    tool = CONFIG_PROGRAMS.get(program)
    if tool is None or tool not in TOOLS:
        return None
    words = [w for w in argv[1:] if not w.startswith("-")]
    if not words or words[0] != "config":
        return None
    words = words[1:]
    if words and words[0] == "set":
        words = words[1:]
    if not words:
        return None
    key, sep, value = words[0].partition("=")
    if not sep:
        if len(words) < 2:
            return None
        value = words[1]
    if key in TOOLS[tool].config_keys:
        return tool, value
    return None

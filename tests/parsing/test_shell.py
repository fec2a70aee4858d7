"""Shell parsing and install recognition (cacheaudit.parsing.shell)."""

from __future__ import annotations

import time
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cacheaudit.parsing.shell import (
    Command,
    ImageBuildCommand,
    InstallCommand,
    find_image_builds,
    find_installs,
    parse_exec_form,
    parse_script,
)


def argvs(text: str, start_line: int = 1) -> list[tuple[str, ...]]:
    return [c.argv for c in parse_script(dedent(text), start_line=start_line)]


def lines(text: str, start_line: int = 1) -> list[tuple[int, str]]:
    return [(c.line, c.program) for c in parse_script(dedent(text), start_line=start_line)]


def installs(text: str) -> list[InstallCommand]:
    return find_installs(parse_script(dedent(text)))


def one(text: str) -> InstallCommand:
    found = installs(text)
    assert len(found) == 1, found
    return found[0]


def command(*argv: str, env: tuple[tuple[str, str], ...] = ()) -> Command:
    return Command(argv=argv, env=env, line=1, text=" ".join(argv))


# --- splitting -------------------------------------------------------------------------------


def test_operators_split_commands() -> None:
    assert argvs("a && b || c; d | e & f |& g") == [
        ("a",),
        ("b",),
        ("c",),
        ("d",),
        ("e",),
        ("f",),
        ("g",),
    ]


def test_subshells_and_groups() -> None:
    assert argvs("(cd sub && pip install .) ; { npm ci; yarn; }") == [
        ("cd", "sub"),
        ("pip", "install", "."),
        ("npm", "ci"),
        ("yarn",),
    ]


def test_dockerfile_run_body_with_continuations() -> None:
    text = """\
        apt-get update \\
            && apt-get install -y --no-install-recommends \\
               curl git \\
            && rm -rf /var/lib/apt/lists/*
        pip install -r requirements.txt
    """
    cmds = parse_script(dedent(text), start_line=7)
    assert [(c.line, c.argv[:2]) for c in cmds] == [
        (7, ("apt-get", "update")),
        (8, ("apt-get", "install")),
        (10, ("rm", "-rf")),
        (11, ("pip", "install")),
    ]
    assert cmds[1].argv == ("apt-get", "install", "-y", "--no-install-recommends", "curl", "git")
    assert cmds[1].text == "apt-get install -y --no-install-recommends curl git"


def test_continuation_inside_a_word_joins_it() -> None:
    assert argvs("pip ins\\\ntall x") == [("pip", "install", "x")]


def test_realistic_workflow_run_block_lines() -> None:
    text = """\
        python -m pip install --upgrade pip
        # install the project
        pip install -e ".[test]"   # editable

        if [ "${{ matrix.os }}" = "ubuntu-latest" ]; then
          sudo apt-get install -y libpq-dev
        fi
        pytest -q
    """
    assert lines(text, start_line=20) == [
        (20, "python"),
        (22, "pip"),
        (24, "["),
        (25, "apt-get"),
        (27, "pytest"),
    ]


def test_comments_outside_quotes_only() -> None:
    assert argvs("pip install x # && npm ci\necho '# no' && npm ci\necho a#b") == [
        ("pip", "install", "x"),
        ("echo", "# no"),
        ("npm", "ci"),
        ("echo", "a#b"),
    ]


def test_quoting_and_escapes() -> None:
    assert argvs(r"""pip install "requests>=2" 'flask<3' a\ b "x\"y" 'it''s' "$HOME/p" """) == [
        ("pip", "install", "requests>=2", "flask<3", "a b", 'x"y', "its", "$HOME/p")
    ]


def test_quoted_operators_are_words() -> None:
    assert argvs("echo 'a && b' \"c; d\" e\\;f") == [("echo", "a && b", "c; d", "e;f")]


def test_github_expression_is_one_opaque_word() -> None:
    text = "pip install ${{ matrix.extra && 'x y' || 'z' }} \"django==${{ matrix.django }}\""
    assert argvs(text) == [
        ("pip", "install", "${{ matrix.extra && 'x y' || 'z' }}", "django==${{ matrix.django }}")
    ]


def test_command_substitution_keeps_outer_command_whole() -> None:
    assert argvs("pip install $(cat req.txt | grep -v '#') `ls *.whl` && npm ci") == [
        ("pip", "install", "$(cat req.txt | grep -v '#')", "`ls *.whl`"),
        ("npm", "ci"),
    ]
    assert argvs('echo "$(echo "nested (x)")" ; y') == [("echo", '$(echo "nested (x)")'), ("y",)]


def test_parameter_expansion_with_spaces() -> None:
    assert argvs("pip install ${EXTRA:-a b} ${#x}") == [
        ("pip", "install", "${EXTRA:-a b}", "${#x}")
    ]


def test_redirections_are_not_arguments() -> None:
    assert argvs("pip install x > log.txt 2>&1 < /dev/null &>> all.log") == [
        ("pip", "install", "x")
    ]
    assert argvs("pip install x 2>/dev/null| tee out") == [("pip", "install", "x"), ("tee", "out")]


def test_keywords_are_stripped() -> None:
    text = """\
        if ! pip install x; then
          echo failed
        elif true; then :
        else
          npm ci
        fi
        while read -r p; do pip install "$p"; done < reqs.txt
        until uv sync; do sleep 1; done
    """
    assert argvs(text) == [
        ("pip", "install", "x"),
        ("echo", "failed"),
        ("true",),
        (":",),
        ("npm", "ci"),
        ("read", "-r", "p"),
        ("pip", "install", "$p"),
        ("uv", "sync"),
        ("sleep", "1"),
    ]


def test_quoted_keyword_is_a_word() -> None:
    assert argvs('"if" x') == [("if", "x")]


def test_for_loop_header_is_not_a_command() -> None:
    text = (
        'for req in a.txt b.txt; do pip install -r "$req"; done\nfor ((i=0; i<3; i++)); do x; done'
    )
    assert argvs(text) == [("pip", "install", "-r", "$req"), ("x",)]


def test_case_patterns_are_not_commands() -> None:
    text = """\
        case "$1" in
          dev|test)
            pip install -e .
            ;;
          (*) npm ci ;;
        esac
        yarn
    """
    assert lines(text) == [(3, "pip"), (5, "npm"), (7, "yarn")]


def test_function_definitions() -> None:
    text = "setup() { pip install x; }\nfunction other { npm ci; }\nsetup"
    assert argvs(text) == [("pip", "install", "x"), ("npm", "ci"), ("setup",)]


def test_env_prefixes() -> None:
    (cmd,) = parse_script("PIP_NO_CACHE_DIR=1 DEBIAN_FRONTEND=noninteractive A+=x pip install y")
    assert cmd.argv == ("pip", "install", "y")
    assert cmd.env == (("PIP_NO_CACHE_DIR", "1"), ("DEBIAN_FRONTEND", "noninteractive"), ("A", "x"))
    assert cmd.text.startswith("PIP_NO_CACHE_DIR=1 ")


def test_assignment_only_line_keeps_env() -> None:
    (cmd,) = parse_script('PIP_NO_CACHE_DIR="off"')
    assert cmd.argv == ()
    assert cmd.program == ""
    assert cmd.env == (("PIP_NO_CACHE_DIR", "off"),)


def test_quoted_name_is_not_an_assignment() -> None:
    assert argvs("'A=b' pip") == [("A=b", "pip")]


def test_array_assignment_stays_one_word() -> None:
    (cmd,) = parse_script("PKGS=(a b c)")
    assert cmd.env == (("PKGS", "(a b c)"),)


@pytest.mark.parametrize(
    ("text", "wrappers"),
    [
        ("sudo pip install x", ("sudo",)),
        ("sudo -E -H pip install x", ("sudo",)),
        ("sudo -u builder -g staff pip install x", ("sudo",)),
        ("sudo -uroot --preserve-env=PATH pip install x", ("sudo",)),
        ("sudo --user builder -- pip install x", ("sudo",)),
        ("env -i HOME=/root pip install x", ("env",)),
        ("env -u PYTHONPATH --chdir /src pip install x", ("env",)),
        ("time pip install x", ("time",)),
        ("time -p pip install x", ("time",)),
        ("exec pip install x", ("exec",)),
        ("nohup pip install x &", ("nohup",)),
        ("command pip install x", ("command",)),
        ("xargs pip install", ("xargs",)),
        ("xargs -r -n 1 -I {} pip install", ("xargs",)),
        ("nice -n 10 pip install x", ("nice",)),
        ("timeout -s KILL 10m pip install x", ("timeout",)),
        ("sudo env PATH=/x time pip install x", ("sudo", "env", "time")),
    ],
)
def test_wrappers_are_stripped(text: str, wrappers: tuple[str, ...]) -> None:
    (cmd,) = parse_script(text)
    assert cmd.program == "pip"
    assert cmd.argv[1] == "install"
    assert cmd.wrappers == wrappers
    assert cmd.text.startswith(text.split()[0])


def test_wrapper_env_assignments_are_recorded() -> None:
    (cmd,) = parse_script("sudo PIP_NO_CACHE_DIR=1 env UV_NO_CACHE=1 pip install x")
    assert cmd.env == (("PIP_NO_CACHE_DIR", "1"), ("UV_NO_CACHE", "1"))


def test_wrapper_without_command_is_kept() -> None:
    assert argvs("exec > log 2>&1\nsudo -i") == [("exec",), ("sudo", "-i")]


def test_command_v_is_a_lookup_not_a_wrapper() -> None:
    assert argvs("command -v pip") == [("command", "-v", "pip")]
    assert argvs("command pip install -v x") == [("pip", "install", "-v", "x")]
    assert installs("command -v pip && command -V npm") == []


def test_program_is_the_basename() -> None:
    assert command("/opt/venv/bin/pip", "install").program == "pip"
    assert command("C:\\Python\\python.exe").program == "python.exe"
    assert command().program == ""


# --- heredocs and nested shells --------------------------------------------------------------


def test_heredoc_body_is_data() -> None:
    text = """\
        cat <<EOF > requirements.txt
        pip install evil
        EOF
        pip install -r requirements.txt
    """
    assert lines(text, start_line=3) == [(3, "cat"), (6, "pip")]


def test_heredoc_dash_strips_tabs_and_quoted_delimiters() -> None:
    text = "cat <<-'END' >f\n\tnpm ci\n\tEND\ncat << \"X\" && cat <<\\Y\nx\nX\ny\nY\nyarn"
    assert lines(text) == [(1, "cat"), (4, "cat"), (4, "cat"), (9, "yarn")]


def test_unterminated_heredoc_swallows_the_rest() -> None:
    assert argvs("cat <<EOF\npip install x\n") == [("cat",)]


def test_heredoc_read_by_a_shell_is_parsed_with_file_lines() -> None:
    text = """\
        set -e
        bash <<'SCRIPT'
        pip install -r requirements.txt
        npm ci
        SCRIPT
        sh -s -- arg <<EOF
        yarn
        EOF
        python3 - <<EOF
        pip install not-a-command
        EOF
    """
    cmds = parse_script(dedent(text), start_line=10)
    assert [(c.line, c.argv, c.wrappers) for c in cmds] == [
        (10, ("set", "-e"), ()),
        (12, ("pip", "install", "-r", "requirements.txt"), ("bash",)),
        (13, ("npm", "ci"), ("bash",)),
        (16, ("yarn",), ("sh",)),
        (18, ("python3", "-"), ()),
    ]


def test_heredoc_dash_fed_to_a_shell() -> None:
    assert lines("sh <<-EOF\n\tpip install x\n\t\tnpm ci\n\tEOF\nyarn", start_line=3) == [
        (4, "pip"),
        (5, "npm"),
        (7, "yarn"),
    ]


def test_here_string_to_a_shell() -> None:
    assert argvs("bash <<< 'pip install x'") == [("pip", "install", "x")]


def test_shell_dash_c_script_is_parsed() -> None:
    text = "sudo -E bash -euo pipefail -c 'pip install x && npm ci' && sh -xc \"yarn\""
    cmds = parse_script(text)
    assert [(c.argv, c.wrappers) for c in cmds] == [
        (("pip", "install", "x"), ("sudo", "bash")),
        (("npm", "ci"), ("sudo", "bash")),
        (("yarn",), ("sh",)),
    ]


def test_shell_dash_c_multiline_script_lines() -> None:
    text = "echo start\nbash -c '\n  pip install x\n  npm ci\n'\necho end"
    assert lines(text, start_line=5) == [(5, "echo"), (7, "pip"), (8, "npm"), (10, "echo")]


def test_shell_dash_c_on_one_source_line_stays_on_it() -> None:
    assert lines("bash -c $'pip install x\\nnpm ci'\nyarn", start_line=3) == [
        (3, "pip"),
        (3, "npm"),
        (4, "yarn"),
    ]


def test_shell_running_a_script_file_is_a_plain_command() -> None:
    assert argvs("bash scripts/install.sh --fast") == [("bash", "scripts/install.sh", "--fast")]


def test_outer_env_reaches_the_inner_script() -> None:
    (cmd,) = parse_script("PIP_NO_CACHE_DIR=1 sh -c 'pip install x'")
    assert cmd.env == (("PIP_NO_CACHE_DIR", "1"),)
    assert one("PIP_NO_CACHE_DIR=1 sh -c 'pip install x'").no_cache


def test_eval_parses_its_arguments() -> None:
    assert argvs('eval "pip install x; npm ci"') == [("pip", "install", "x"), ("npm", "ci")]


def test_deeply_nested_shells_stop_without_error() -> None:
    text = "bash -c " * 50 + "x"
    assert len(parse_script(text)) == 1


# --- exec form -------------------------------------------------------------------------------


def test_exec_form_is_one_command_at_the_line() -> None:
    (cmd,) = parse_exec_form(["pip", "install", "-r", "requirements.txt"], line=12)
    assert cmd == Command(
        argv=("pip", "install", "-r", "requirements.txt"),
        env=(),
        line=12,
        text="pip install -r requirements.txt",
    )


def test_exec_form_shell_script_all_at_the_line() -> None:
    cmds = parse_exec_form(["/bin/sh", "-c", "pip install x && npm ci\nyarn"], line=4)
    assert [(c.argv, c.line, c.wrappers) for c in cmds] == [
        (("pip", "install", "x"), 4, ("sh",)),
        (("npm", "ci"), 4, ("sh",)),
        (("yarn",), 4, ("sh",)),
    ]


def test_exec_form_has_no_shell_syntax_but_strips_wrappers() -> None:
    (cmd,) = parse_exec_form(["A=b", "if", "x&&y"], line=1)
    assert cmd.argv == ("A=b", "if", "x&&y")
    (cmd,) = parse_exec_form(
        ["sudo", "-E", "env", "PIP_NO_CACHE_DIR=1", "pip", "install", "x"], line=2
    )
    assert (cmd.argv, cmd.env, cmd.wrappers) == (
        ("pip", "install", "x"),
        (("PIP_NO_CACHE_DIR", "1"),),
        ("sudo", "env"),
    )
    assert parse_exec_form([], line=1) == []


# --- install recognition: Python ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "pip install x",
        "pip3 install x",
        "pip3.12 install x",
        "/opt/venv/bin/pip install x",
        "python -m pip install x",
        "python3 -m pip install x",
        "python3.12 -m pip install x",
        ".venv/bin/python -m pip install x",
        "py -3.12 -m pip install x",
        "python -I -m pip install x",
        "python -mpip install x",
        "${{ matrix.python }} -m pip install x",
        '"$PYTHON" -m pip install x',
        "pip --disable-pip-version-check install x",
        "python -m pip --no-input -q install x",
    ],
)
def test_pip_install_forms(text: str) -> None:
    found = one(text)
    assert (found.tool, found.action, found.packages, found.cache_tool) == (
        "pip",
        "install",
        ("x",),
        "pip",
    )


@pytest.mark.parametrize(
    "text",
    [
        "echo pip install x",
        "echo 'pip install x'",
        "pip cache dir",
        "pip freeze > requirements.txt",
        "pip list --outdated",
        "python -c 'import pip'",
        "python setup.py install",
        "python -m pytest",
        "python -m",
        "pip",
        "pip-compile requirements.in",
        "uv run pytest",
        "uv add requests",
        "uv lock",
        "uv venv",
        "uv pip compile requirements.in",
        "uv tool run ruff",
        "uvx ruff check",
        "poetry add requests",
        "poetry lock",
        "poetry run pytest",
        "pipenv run pytest",
        "pipenv lock",
        "pdm run pytest",
        "conda activate env",
        "conda list",
        "pre-commit install",
        "pre-commit --version",
        "tox list",
        "tox --version",
        "tox -l",
        "nox --list",
        "hatch build",
        "hatch version",
    ],
)
def test_python_near_misses(text: str) -> None:
    assert installs(text) == []


def test_pip_requirement_constraint_and_option_values() -> None:
    found = one(
        "pip install -r requirements.txt -rdev.txt --requirement=ci.txt --requirement extra.txt "
        "-c constraints.txt --constraint=c2.txt --index-url https://pypi.example/simple "
        "--only-binary :all: --find-links ./wheels --target /opt/lib --prefix /usr/local "
        "--no-deps -U requests"
    )
    assert found.requirement_files == ("requirements.txt", "dev.txt", "ci.txt", "extra.txt")
    assert found.constraint_files == ("constraints.txt", "c2.txt")
    assert found.packages == ("requests",)
    assert found.local_targets == ()
    assert ("--index-url", "https://pypi.example/simple") in found.option_values
    assert ("--only-binary", ":all:") in found.option_values
    assert ("--target", "/opt/lib") in found.option_values
    assert "--no-deps" in found.options and "-U" in found.options
    assert found.downloads_from_registry


def test_pip_short_option_cluster() -> None:
    found = one("pip install -qUr requirements.txt")
    assert found.options == ("-q", "-U", "-r")
    assert found.requirement_files == ("requirements.txt",)
    assert found.packages == ()


@pytest.mark.parametrize(
    ("text", "options", "no_cache"),
    [
        ("pip install --no-cache-dir x", ("--no-cache-dir",), True),
        ("pip install --no-cache x", ("--no-cache-dir",), True),
        ("pip install --no-cach x", ("--no-cache-dir",), True),
        ("pip --no-cache install x", ("--no-cache-dir",), True),
        ("pip install --no-c x", ("--no-c",), False),  # ambiguous: --no-clean, --no-color...
        ("pip install --force-re x", ("--force-reinstall",), False),
        ("pip install --upgr x", ("--upgrade",), False),  # --upgrade-strategy is longer
    ],
)
def test_pip_long_option_prefixes(text: str, options: tuple[str, ...], no_cache: bool) -> None:
    found = one(text)
    assert (found.options, found.no_cache, found.packages) == (options, no_cache, ("x",))


def test_pip_requirement_prefix_expands_when_unambiguous() -> None:
    found = one("pip install --requirem requirements.txt")
    assert found.options == ("--requirement",)
    assert found.requirement_files == ("requirements.txt",)
    # pip itself rejects --req as ambiguous (--require-hashes, --requirement, ...): kept as written
    assert one("pip install --req r.txt").options == ("--req",)
    assert one("pip install --requirement=r.txt --requi=x.txt").requirement_files == ("r.txt",)


def test_pip_editable_and_group() -> None:
    found = one("pip install -e . -e.[dev] --editable ./plugins/a --group test --group=lint")
    assert found.local_targets == (".", ".[dev]", "./plugins/a")
    assert found.groups == ("test", "lint")
    assert found.packages == ()
    assert found.downloads_from_registry


def test_pip_packages_vs_local_targets() -> None:
    found = one(
        "pip install requests 'flask[async]>=2' ./pkg ../other /abs/path dist/x.tar.gz "
        "'*.whl' file:///tmp/x sub/dir "
        "git+https://github.com/o/r@v1#egg=r 'name @ https://example.com/n.whl' "
        "https://example.com/remote.whl name@git+https://h/r .[dev]"
    )
    assert found.packages == (
        "requests",
        "flask[async]>=2",
        "git+https://github.com/o/r@v1#egg=r",
        "name @ https://example.com/n.whl",
        "https://example.com/remote.whl",
        "name@git+https://h/r",
    )
    assert found.local_targets == (
        "./pkg",
        "../other",
        "/abs/path",
        "dist/x.tar.gz",
        "*.whl",
        "file:///tmp/x",
        "sub/dir",
        ".[dev]",
    )


def test_pip_editable_vcs_is_a_package() -> None:
    assert one("pip install -e git+https://github.com/o/r.git#egg=r").packages == (
        "git+https://github.com/o/r.git#egg=r",
    )


@pytest.mark.parametrize(
    ("text", "registry"),
    [
        ("pip install --upgrade pip", False),
        ("python -m pip install -U pip setuptools wheel", False),
        ("pip install pip==24.0 Setuptools>=70 'wheel[x]'", False),
        ("pip install /wheels/*.whl", False),
        ("pip install --no-deps dist/pkg-1.0-py3-none-any.whl dist/pkg.tar.gz", False),
        ("pip install --no-index --find-links /wheels requests", False),
        ("pip install --no-ind --find-links /wheels -r requirements.txt", False),
        ("pip install .", True),
        ("pip install -e .", True),
        ("pip install -r requirements.txt", True),
        ("pip install --upgrade pip requests", True),
        ("pip install -U pip -r requirements.txt", True),
        ("pip install --group dev", True),
        ("pip install git+https://github.com/o/r", True),
        ("pip install https://example.com/x.whl", True),
        ("pip install $(cat requirements.txt)", True),
        ("cat requirements.txt | xargs pip install", True),
        ("uv pip install --upgrade pip", False),
        ("uv pip install -r requirements.txt", True),
        ("uv sync --offline", False),
        ("apt-get update", False),
        ("apk update", False),
        ("npm ci", True),
        ("npm install -g npm", False),
        ("npm install --global @angular/cli typescript", True),
        ("npm ci --offline", False),
    ],
)
def test_downloads_from_registry(text: str, registry: bool) -> None:
    assert one(text).downloads_from_registry is registry


@pytest.mark.parametrize(
    "text",
    [
        "PIP_NO_CACHE_DIR=1 pip install x",
        "PIP_NO_CACHE_DIR=0 pip install x",
        "PIP_NO_CACHE_DIR=false pip install x",
        "env PIP_NO_CACHE_DIR=off pip install x",
        "sudo PIP_NO_CACHE_DIR=1 python -m pip install x",
        "PIP_NO_CACHE_DIR=1 pipenv install --deploy",
        "PIP_NO_CACHE_DIR=1 tox -e py",
    ],
)
def test_pip_no_cache_env_any_value(text: str) -> None:
    assert one(text).no_cache


def test_pip_other_env_does_not_disable() -> None:
    assert not one("PIP_CACHE_DIR=/c UV_NO_CACHE=1 pip install x").no_cache


def test_uv_pip_install() -> None:
    found = one("uv pip install --system -r requirements.txt -c c.txt -e . --group dev pkg")
    assert (found.tool, found.action, found.cache_tool) == ("uv", "pip install", "uv")
    assert found.requirement_files == ("requirements.txt",)
    assert found.constraint_files == ("c.txt",)
    assert found.local_targets == (".",)
    assert found.packages == ("pkg",)
    assert found.groups == ("dev",)
    assert not found.no_cache


def test_uv_pip_sync_operands_are_requirement_files() -> None:
    found = one("uv pip sync requirements.txt dev.txt")
    assert (found.action, found.requirement_files, found.packages) == (
        "pip sync",
        ("requirements.txt", "dev.txt"),
        (),
    )


def test_uv_sync_options_and_implicit_inputs() -> None:
    found = one("uv sync --locked --no-dev --python 3.12 --extra test --group lint")
    assert found.action == "sync"
    assert "--locked" in found.options and "--no-dev" in found.options
    assert found.requirement_files == () and found.packages == ()
    assert found.groups == ("lint",)


def test_uv_tool_install() -> None:
    found = one("uv tool install ruff --with ruff-lsp --python 3.12")
    assert (found.action, found.packages) == ("tool install", ("ruff", "ruff-lsp"))


@pytest.mark.parametrize(
    ("text", "no_cache"),
    [
        ("uv --no-cache pip install x", True),
        ("uv pip install --no-cache x", True),
        ("uv -n sync", True),
        ("uv sync --no-cache-dir", True),
        ("UV_NO_CACHE=1 uv sync", True),
        ("UV_NO_CACHE=true uv sync", True),
        ("UV_NO_CACHE=0 uv sync", False),
        ("UV_NO_CACHE= uv sync", False),
        ("PIP_NO_CACHE_DIR=1 uv sync", False),
        ("uv --cache-dir /c sync", False),
    ],
)
def test_uv_no_cache(text: str, no_cache: bool) -> None:
    assert one(text).no_cache is no_cache


def test_uv_global_option_values_are_not_subcommands() -> None:
    found = one("uv --directory app --cache-dir /tmp/c sync --frozen")
    assert found.action == "sync"
    assert ("--directory", "app") in found.option_values


def test_poetry() -> None:
    found = one("poetry install --no-root --with dev,test --only-root --sync -E extra")
    assert (found.tool, found.action, found.cache_tool, found.groups) == (
        "poetry",
        "install",
        "poetry",
        ("dev,test",),
    )
    assert one("poetry --no-cache install").no_cache
    assert one("poetry -C app sync").action == "sync"
    assert not one("poetry -n install").no_cache  # -n is --no-interaction


def test_pipenv() -> None:
    found = one("pipenv install --deploy --system")
    assert (found.tool, found.action, found.cache_tool, found.options) == (
        "pipenv",
        "install",
        "pip",
        ("--deploy", "--system"),
    )
    assert one("pipenv sync --dev").action == "sync"
    assert one("pipenv install requests -e ./lib").packages == ("requests",)
    assert one("pipenv install -r requirements.txt").requirement_files == ("requirements.txt",)


def test_pdm() -> None:
    found = one("pdm install -G test --prod --frozen-lockfile")
    assert (found.tool, found.action, found.groups, found.cache_tool) == (
        "pdm",
        "install",
        ("test",),
        "pdm",
    )
    assert one("pdm sync --clean").action == "sync"


@pytest.mark.parametrize(
    ("text", "tool", "action", "packages", "files"),
    [
        ("conda install -y -c conda-forge numpy scipy", "conda", "install", ("numpy", "scipy"), ()),
        ("mamba install -n base --file r.txt", "mamba", "install", (), ("r.txt",)),
        ("micromamba install -y -n base -f env.yaml", "micromamba", "install", (), ("env.yaml",)),
        ("conda env create -f environment.yml", "conda", "env create", (), ("environment.yml",)),
        ("mamba env update -n ci -f env.yml", "mamba", "env update", (), ("env.yml",)),
        (
            "micromamba create -n ci python=3.12 pip",
            "micromamba",
            "create",
            ("python=3.12", "pip"),
            (),
        ),
    ],
)
def test_conda_family(
    text: str, tool: str, action: str, packages: tuple[str, ...], files: tuple[str, ...]
) -> None:
    found = one(text)
    assert (found.tool, found.action, found.packages, found.requirement_files) == (
        tool,
        action,
        packages,
        files,
    )
    assert found.cache_tool == "conda"


@pytest.mark.parametrize(
    ("text", "tool", "action"),
    [
        ("tox", "tox", "run"),
        ("tox -e py311,lint -p auto", "tox", "run"),
        ("tox run -e py", "tox", "run"),
        ("tox r -e py", "tox", "run"),
        ("tox p", "tox", "run-parallel"),
        ("python -m tox -e py", "tox", "run"),
        ("nox", "nox", "run"),
        ("nox -s tests-3.12", "nox", "run"),
        ("hatch run test:pytest", "hatch", "run"),
        ("hatch -e test run pytest", "hatch", "run"),
        ("hatch env create", "hatch", "env create"),
        ("hatch test -a", "hatch", "test"),
        ("pre-commit run --all-files", "pre-commit", "run"),
        ("pre-commit run -a", "pre-commit", "run"),
        ("pre-commit", "pre-commit", "run"),
        ("pre-commit install-hooks", "pre-commit", "install-hooks"),
        ("pre-commit install --install-hooks", "pre-commit", "install"),
        ("python -m pre_commit run", "pre-commit", "run"),
    ],
)
def test_environment_runners(text: str, tool: str, action: str) -> None:
    found = one(text)
    assert (found.tool, found.action, found.cache_tool) == (tool, action, "pip")
    assert found.downloads_from_registry


# --- install recognition: Node ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tool", "action", "packages"),
    [
        ("npm ci", "npm", "ci", ()),
        ("npm clean-install", "npm", "ci", ()),
        ("npm install", "npm", "install", ()),
        ("npm i", "npm", "install", ()),
        ("npm install express@4 @scope/pkg", "npm", "install", ("express@4", "@scope/pkg")),
        ("npm install -g npm@10", "npm", "install", ("npm@10",)),
        ("npm --prefix frontend ci", "npm", "ci", ()),
        ("npm ci --cache .npm --prefer-offline", "npm", "ci", ()),
        ("yarn", "yarn", "install", ()),
        ("yarn --frozen-lockfile", "yarn", "install", ()),
        ("yarn install --immutable", "yarn", "install", ()),
        ("yarn --cwd web install", "yarn", "install", ()),
        ("corepack yarn install", "yarn", "install", ()),
        ("pnpm install --frozen-lockfile", "pnpm", "install", ()),
        ("pnpm i", "pnpm", "install", ()),
        ("pnpm -C web install", "pnpm", "install", ()),
        ("pnpm fetch --prod", "pnpm", "fetch", ()),
    ],
)
def test_node_installs(text: str, tool: str, action: str, packages: tuple[str, ...]) -> None:
    found = one(text)
    assert (found.tool, found.action, found.packages, found.cache_tool, found.no_cache) == (
        tool,
        action,
        packages,
        tool,
        False,
    )


def test_npm_option_values() -> None:
    found = one("npm ci --cache .npm --prefer-offline")
    assert ("--cache", ".npm") in found.option_values
    assert found.options == ("--cache", "--prefer-offline")


def test_npm_local_targets() -> None:
    found = one("npm install ./local ../x.tgz file:../lib user/repo")
    assert found.local_targets == ("./local", "../x.tgz", "file:../lib")
    assert found.packages == ("user/repo",)


@pytest.mark.parametrize(
    "text",
    [
        "npm run build",
        "npm test",
        "npm --prefix web run lint",
        "npm config set cache .npm",
        "yarn build",
        "yarn run test",
        "yarn --version",
        "pnpm run build",
        "pnpm store path",
        "npx jest",
        "npm install --package-lock-only",
        "npm i --package-lock-only --ignore-scripts",
        "bun install --lockfile-only",
        "bun run build",
        "bunx tsc",
        "yarn workspaces foreach run build",
        "corepack enable",
        "corepack prepare pnpm@8 --activate",
    ],
)
def test_node_near_misses(text: str) -> None:
    assert installs(text) == []


# --- install recognition: system packages ----------------------------------------------------


def test_apt_install() -> None:
    found = one(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl git"
    )
    assert (found.tool, found.action, found.packages, found.no_cache, found.cache_tool) == (
        "apt",
        "install",
        ("curl", "git"),
        False,
        "apt",
    )
    assert found.options == ("-y", "--no-install-recommends")
    assert found.command.env == (("DEBIAN_FRONTEND", "noninteractive"),)


@pytest.mark.parametrize(
    ("text", "action", "packages"),
    [
        ("apt-get -y install x", "install", ("x",)),
        ("apt install -yq x=1.2*", "install", ("x=1.2*",)),
        (
            "apt-get -o Dpkg::Options::=--force-confold install -t bookworm-backports x",
            "install",
            ("x",),
        ),
        ("sudo apt-get -qq update", "update", ()),
        ("eatmydata apt-get install -y x", "install", ("x",)),
    ],
)
def test_apt_forms(text: str, action: str, packages: tuple[str, ...]) -> None:
    found = one(text)
    assert (found.tool, found.action, found.packages) == ("apt", action, packages)


def test_apt_local_deb() -> None:
    assert one("apt-get install -y ./pkg.deb").local_targets == ("./pkg.deb",)


def test_apt_near_misses() -> None:
    assert installs("apt-get clean && apt-cache search x && apt-get remove -y x") == []


def test_apk() -> None:
    found = one("apk add --no-cache --virtual .build-deps gcc musl-dev")
    assert (found.tool, found.action, found.packages, found.no_cache) == (
        "apk",
        "add",
        ("gcc", "musl-dev"),
        True,
    )
    assert ("--virtual", ".build-deps") in found.option_values
    assert not one("apk add -U curl").no_cache
    assert one("apk --no-cache add curl").no_cache
    assert one("apk update").action == "update"


# --- whole scripts ---------------------------------------------------------------------------


def test_dockerfile_run_script_installs_in_order() -> None:
    text = """\
        set -eux; \\
        apt-get update; \\
        apt-get install -y --no-install-recommends build-essential; \\
        python -m venv /opt/venv; \\
        /opt/venv/bin/pip install --no-cache-dir --upgrade pip; \\
        /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt; \\
        rm -rf /var/lib/apt/lists/*
    """
    found = find_installs(parse_script(dedent(text), start_line=4))
    assert [(i.line, i.tool, i.action, i.no_cache, i.downloads_from_registry) for i in found] == [
        (5, "apt", "update", False, False),
        (6, "apt", "install", False, True),
        (8, "pip", "install", True, False),
        (9, "pip", "install", True, True),
    ]


def test_gitlab_script_line_with_conditionals() -> None:
    text = 'if [ -n "$CI" ]; then pip install -q -r requirements-ci.txt; else pip install .; fi'
    found = installs(text)
    assert [(i.requirement_files, i.local_targets) for i in found] == [
        (("requirements-ci.txt",), ()),
        ((), (".",)),
    ]


def test_install_command_keeps_the_command() -> None:
    found = one("  sudo -H pip install x")
    assert found.command.wrappers == ("sudo",)
    assert found.line == 1
    assert found.command.text == "sudo -H pip install x"


def test_find_installs_on_hand_made_commands() -> None:
    cmds = [command("pip", "install", "x"), command(), command("npm"), command("npm", "ci")]
    assert [(i.tool, i.action) for i in find_installs(cmds)] == [("pip", "install"), ("npm", "ci")]


# --- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "echo 'unterminated && pip install x",
        'echo "unterminated && pip install x',
        "echo $(unterminated && pip install x",
        "echo `unterminated && pip install x",
        "echo ${unterminated && pip install x",
        "echo ${{ unterminated && pip install x",
        "cat <<",
        "cat <<EOF",
        ")))) ;;; &&& ||| <<< >>>",
        "\\",
        "a=(",
        "case",
        "case x in",
        "for",
        "if then fi done esac } {",
        "function",
        "\x00\x01\r\n\u2028",
        "bash -c",
        "sh -c ''",
        "xargs",
        "sudo --",
        "env -u",
    ],
)
def test_garbage_never_raises(text: str) -> None:
    cmds = parse_script(text)
    find_installs(cmds)
    assert all(1 <= c.line <= 1 + text.count("\n") for c in cmds)


def test_unterminated_quote_degrades_to_plain_words() -> None:
    assert argvs("pip install 'x y") == [("pip", "install", "'x", "y")]
    assert argvs('pip install "x y && npm ci') == [("pip", "install", '"x', "y"), ("npm", "ci")]


def test_large_hostile_input_stays_fast() -> None:
    hostile = [
        "$(" * 50_000,
        '"$(' * 30_000,
        "'" * 100_000,
        "a=(" * 30_000,
        "<(" * 50_000,
        "${" * 50_000,
        "pip install " + "x " * 50_000,
        "echo 'x\n" * 10_000,
    ]
    for text in hostile:
        started = time.perf_counter()
        find_installs(parse_script(text))
        assert time.perf_counter() - started < 10, text[:20]


def test_one_megabyte_line() -> None:
    text = " && ".join(f"pip install --no-cache-dir -r req{i}.txt" for i in range(25_000))
    assert len(text) > 1_000_000
    found = find_installs(parse_script(text))
    assert len(found) == 25_000
    assert found[-1].requirement_files == ("req24999.txt",)


_SHELLISH = st.lists(
    st.sampled_from(
        [
            *" \t\n\\'\"`$(){}[];&|<>#=-!*~EOFabcpi",
            "<<",
            "${{",
            "}}",
            "<<-",
            "$(",
            "bash -c ",
            "sh <<EOF\n",
            "pip install ",
            "\r\n",
            "case x in ",
            "for ",
        ]
    ),
    max_size=80,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_SHELLISH, st.text(max_size=200)), st.integers(min_value=1, max_value=10_000))
def test_property_never_raises_and_lines_in_range(text: str, start: int) -> None:
    cmds = parse_script(text, start_line=start)
    last = start + text.replace("\r\n", "\n").count("\n")
    for cmd in cmds:
        assert start <= cmd.line <= last
        assert isinstance(cmd.argv, tuple)
    for found in find_installs(cmds):
        assert isinstance(found.downloads_from_registry, bool)
        assert found.cache_tool


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            _SHELLISH,
            st.sampled_from(
                ["pip", "install", "-r", "sh", "-c", "sudo", "env", "uv", "-m", "python", "--", "-"]
            ),
        ),
        max_size=8,
    )
)
def test_property_exec_form_never_raises(argv: list[str]) -> None:
    for cmd in parse_exec_form(argv, line=3):
        assert cmd.line == 3
    find_installs(parse_exec_form(argv, line=3))


_WORDS = st.sampled_from(
    [
        "pip",
        "pip3",
        "python",
        "-m",
        "uv",
        "npm",
        "yarn",
        "pnpm",
        "apt-get",
        "apk",
        "conda",
        "tox",
        "hatch",
        "pre-commit",
        "poetry",
        "pipenv",
        "pdm",
        "install",
        "ci",
        "sync",
        "add",
        "env",
        "create",
        "pip",
        "tool",
        "run",
        "-r",
        "-c",
        "-e",
        "--no-cache",
        "-rfile",
        "--group",
        "-G",
        "--requirement=x",
        "-",
        "--",
        "",
        ".",
        "x.whl",
        "-Ur",
        "-n",
        "--virtual",
        "-f",
        "--with",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(_WORDS, st.text(max_size=10)), max_size=10),
    st.lists(
        st.tuples(st.sampled_from(["PIP_NO_CACHE_DIR", "UV_NO_CACHE", "X"]), st.text(max_size=5)),
        max_size=2,
    ),
)
def test_property_find_installs_never_raises(argv: list[str], env: list[tuple[str, str]]) -> None:
    for found in find_installs([command(*argv, env=tuple(env))]):
        assert found.tool and found.action
        assert isinstance(found.downloads_from_registry, bool)
        assert len(found.packages) + len(found.local_targets) <= len(argv)


# --- more downloads: pip wheel/download, add, workspaces focus, bun ----------------------------


@pytest.mark.parametrize(
    ("text", "tool", "action", "reqs", "packages"),
    [
        ("pip wheel --no-cache-dir --wheel-dir=/wheels -r requirements.txt", "pip", "wheel",
         ("requirements.txt",), ()),
        ("python -m pip wheel -w dist -r requirements.txt", "pip", "wheel",
         ("requirements.txt",), ()),
        ("pip download -d /tmp/pkgs requests==2.31", "pip", "download", (), ("requests==2.31",)),
        ("pnpm add -D typescript", "pnpm", "add", (), ("typescript",)),
        ("yarn add left-pad@1", "yarn", "add", (), ("left-pad@1",)),
        ("yarn workspaces focus --all --production", "yarn", "workspaces focus", (), ()),
        ("yarn workspaces focus --production @o/api @o/shared", "yarn", "workspaces focus", (),
         ()),
        ("bun install --frozen-lockfile", "bun", "install", (), ()),
        ("bun ci", "bun", "ci", (), ()),
        ("bun i", "bun", "install", (), ()),
        ("bun add zod", "bun", "add", (), ("zod",)),
    ],
)  # fmt: skip
def test_more_registry_downloads(
    text: str, tool: str, action: str, reqs: tuple[str, ...], packages: tuple[str, ...]
) -> None:
    found = one(text)
    assert (found.tool, found.action) == (tool, action)
    assert found.requirement_files == reqs
    assert found.packages == packages
    assert found.downloads_from_registry
    assert not found.bootstrap


def test_pip_wheel_value_options_are_not_packages() -> None:
    found = one("pip wheel -w /wheels --build-option x -r requirements.txt")
    assert found.packages == ()
    assert ("-w", "/wheels") in found.option_values


def test_bun_cache_owner_and_no_cache() -> None:
    found = one("bun install --no-cache")
    assert found.cache_tool == "bun"
    assert found.no_cache


# --- bootstraps: installing the installer or one global tool ---------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "pip install -U pip",
        "pip install --upgrade pip setuptools wheel",
        "python3 -m pip install --upgrade pip",
        "pip install uv",
        "npm i -g yarn",
        "npm install -g npm@10",
        "npm install --location=global pnpm@9",
        "sudo npm install --global @vercel/ncc",
        "pnpm add -g pnpm",
        "yarn global add serve",
        "bun add -g typescript",
    ],
)
def test_bootstraps(text: str) -> None:
    found = one(text)
    assert found.bootstrap
    assert not found.downloads_from_registry


@pytest.mark.parametrize(
    "text",
    [
        "pip install -U pip -r requirements.txt",
        "pip install --upgrade pip requests",
        "npm install -g",  # the project itself, with its dependencies
        "npm install --global @angular/cli typescript eslint",
        "npm install yarn",  # a local dependency, not a global tool
        "yarn add serve",
    ],
)
def test_bootstrap_near_misses(text: str) -> None:
    found = one(text)
    assert not found.bootstrap
    assert found.downloads_from_registry


# --- local wheels are not registry downloads -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry"),
    [
        ("pip install /wheels/*", False),
        ("pip install --no-cache /wheels/* && rm -rf /wheels", False),
        ("pip install --user dist/*.whl", False),
        ("pip install --no-cache-dir --find-links=/wheels -r requirements.txt", False),
        ("pip install --find-links ./wheelhouse -r requirements.txt", False),
        ("pip install --find-links https://download.pytorch.org/whl/torch -r r.txt", True),
        ("pip install --find-links /wheels -r requirements.txt gunicorn", True),
        ("pip install ./pkg", True),
        ("pip wheel --wheel-dir /wheels .", True),
    ],
)
def test_local_wheel_installs(text: str, registry: bool) -> None:
    assert one(text).downloads_from_registry is registry


# --- tox and nox: sessions install with pip, or uv when told ---------------------------------


@pytest.mark.parametrize(
    ("text", "tool", "cache_tool"),
    [
        ("tox -e py312", "tox", "pip"),
        ("tox run -e lint", "tox", "pip"),
        ("tox --runner uv-venv-lock-runner -e py", "tox", "uv"),
        ("nox -s tests", "nox", "pip"),
        ("nox -s tests -db uv", "nox", "uv"),
        ("nox --default-venv-backend=uv", "nox", "uv"),
        ("nox -fb uv -s lint", "nox", "uv"),
        ("NOX_DEFAULT_VENV_BACKEND=uv nox -s docs", "nox", "uv"),
        ("nox -db virtualenv", "nox", "pip"),
        ("uvx nox -s lint", "nox", "pip"),
        ("uvx --with tox-uv tox -e py312", "tox", "uv"),
        ("uv tool run --with=tox-uv tox", "tox", "uv"),
        ("pipx run nox -s tests", "nox", "pip"),
        ("uvx tox@4 -e py", "tox", "pip"),
    ],
)
def test_session_runners(text: str, tool: str, cache_tool: str) -> None:
    found = one(text)
    assert found.tool == tool
    assert found.cache_tool == cache_tool
    assert found.downloads_from_registry


@pytest.mark.parametrize(
    "text", ["uvx ruff check .", "pipx run black --check .", "uv tool run mypy", "uvx"]
)
def test_tool_runners_of_one_tool_are_not_installs(text: str) -> None:
    assert installs(text) == []


# --- image builds ----------------------------------------------------------------------------


def builds(text: str) -> list[ImageBuildCommand]:
    return find_image_builds(parse_script(dedent(text)))


@pytest.mark.parametrize(
    ("text", "kind", "dockerfile", "context"),
    [
        ("docker build -t app:1 .", "build", None, "."),
        ("docker build -f docker/Dockerfile.prod -t app docker", "build", "docker/Dockerfile.prod",
         "docker"),
        ("sudo docker build --file=Dockerfile .", "build", "Dockerfile", "."),
        ("docker buildx build --push -t x ./svc", "build", None, "./svc"),
        ("docker --log-level debug build .", "build", None, "."),
        ("docker image build -f Containerfile .", "build", "Containerfile", "."),
        ("podman build -t x .", "build", None, "."),
        ("buildah bud -f Containerfile -t x .", "build", "Containerfile", "."),
        ("buildah build --layers -t x .", "build", None, "."),
        ("docker build - < Dockerfile", "build", None, None),
        ("docker build https://github.com/o/r.git#main", "build", None, None),
        ("docker compose build", "compose", None, None),
        ("docker-compose -f docker-compose.ci.yml build api", "compose", None, None),
        ("docker compose up --build -d", "compose", None, None),
        ("docker buildx bake", "bake", None, None),
        ("/kaniko/executor --context $CI_PROJECT_DIR --dockerfile $CI_PROJECT_DIR/Dockerfile "
         "--destination x", "kaniko", "$CI_PROJECT_DIR/Dockerfile", "$CI_PROJECT_DIR"),
    ],
)  # fmt: skip
def test_image_builds(text: str, kind: str, dockerfile: str | None, context: str | None) -> None:
    (found,) = builds(text)
    assert (found.kind, found.dockerfile, found.context) == (kind, dockerfile, context)
    assert installs(text) == []


def test_image_build_target() -> None:
    assert [b.target for b in builds("docker buildx build --target test -f d/Dockerfile .")] == [
        "test"
    ]
    assert [b.target for b in builds("/kaniko/executor --context . --target=app")] == ["app"]
    assert [b.target for b in builds("docker build .")] == [None]


def test_image_build_cache_options() -> None:
    (build,) = builds("docker buildx build --cache-from type=gha --cache-to type=gha,mode=max .")
    assert build.cache_from == ("type=gha",)
    assert build.cache_to == ("type=gha,mode=max",)
    (bake,) = builds("docker buildx bake -f bake.hcl --set *.cache-from=type=gha app")
    assert (bake.files, bake.services, bake.cache_from) == (("bake.hcl",), ("app",), ("type=gha",))
    (compose,) = builds("docker compose -f a.yml -f b.yml build web worker")
    assert (compose.files, compose.services) == (("a.yml", "b.yml"), ("web", "worker"))
    (kaniko,) = builds("/kaniko/executor -c . -f Dockerfile --cache=true --destination r/x")
    assert kaniko.cache_from == ("kaniko",)
    (off,) = builds("/kaniko/executor -c . --cache=false")
    assert off.cache_from == ()


@pytest.mark.parametrize(
    "text",
    [
        "docker run --rm app pytest",
        "docker compose up -d",
        "docker compose run web pytest",
        "docker push app",
        "docker buildx create --use",
        "docker buildx imagetools inspect x",
        "echo docker build .",
        "make docker-build",
    ],
)
def test_image_build_near_misses(text: str) -> None:
    assert builds(text) == []

"""Shell text → commands → recognised dependency installs.

Shared by every analyzer: workflow ``run:``, GitLab ``script:``, Dockerfile ``RUN`` (shell form,
exec form, heredoc bodies). Pure functions, no I/O, and no input makes them raise.

Three steps. A lexer turns text into words (quotes removed; ``$(...)``, backticks and GitHub
``${{ ... }}`` kept verbatim inside one word) and operators, reading heredoc bodies when it meets
the newline that ends their line. A splitter cuts tokens into simple commands and drops shell
keywords and compound-command headers (``for x in ...``, ``case ... in``, case patterns).
:func:`_command` strips assignments and wrappers (``sudo``, ``env``, ``xargs``...) and re-parses
scripts handed to a shell (``bash -c '...'``, ``sh <<EOF``). :func:`find_installs` then reads each
argv with small per-tool option tables.

Robustness: an unterminated quote or substitution is read as a literal character; the cost of
such failed scans is budgeted, and once the budget is spent the rest of the text is split on
blanks and operators only, so time stays linear on hostile input.
"""

from cacheaudit.parsing.shell.builds import ImageBuildCommand, find_image_builds
from cacheaudit.parsing.shell.commands import Command, parse_exec_form, parse_script
from cacheaudit.parsing.shell.installs import InstallCommand, find_installs

__all__ = [
    "Command",
    "ImageBuildCommand",
    "InstallCommand",
    "find_image_builds",
    "find_installs",
    "parse_exec_form",
    "parse_script",
]

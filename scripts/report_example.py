"""Regenerate the example report shown in the README and in docs/report-example.svg.

    python scripts/report_example.py          # rewrite both
    python scripts/report_example.py --check  # exit 1 when either has drifted (the tests do this)

The report is the real console output for the fixture repository tests/fixtures/docker/apt-heavy,
audited from a copy (so no config file above it applies and paths read `Dockerfile:4:5`), at 100
columns: the SVG in colour, the README excerpt as plain text.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "src"))

from cacheaudit.audit import audit  # noqa: E402
from cacheaudit.config import build_config  # noqa: E402
from cacheaudit.report import console  # noqa: E402

FIXTURE = PROJECT / "tests" / "fixtures" / "docker" / "apt-heavy"
SVG = PROJECT / "docs" / "report-example.svg"
README = PROJECT / "README.md"
START, END = "<!-- report-example:start -->\n", "<!-- report-example:end -->"
WIDTH = 100
EXCERPT_LINES = 32


def render() -> tuple[str, str]:
    """(the SVG, the README block) for the fixture."""
    from rich.console import Console
    from rich.text import Text

    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "repo"
        shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("expected.txt"))
        report = audit(build_config(root, cwd=root))
        colored = console.render(report, color=True, width=WIDTH, base=str(root))
        plain = console.render(report, color=False, width=WIDTH, base=str(root))
    recorder = Console(record=True, width=WIDTH, force_terminal=True, file=io.StringIO())
    recorder.print(Text.from_ansi(colored), soft_wrap=True)
    svg = recorder.export_svg(title="cacheaudit", unique_id="cacheaudit-example")
    lines = plain.rstrip("\n").split("\n")
    excerpt = lines[:EXCERPT_LINES] + (["…"] if len(lines) > EXCERPT_LINES else [])
    block = "```text\n$ cacheaudit\n" + "\n".join(excerpt) + "\n```\n"
    return svg, block


def readme_with(block: str) -> str:
    text = README.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + START + block + END + tail


def main(argv: list[str]) -> int:
    svg, block = render()
    readme = readme_with(block)
    if "--check" in argv:
        stale = [p.name for p, new in ((SVG, svg), (README, readme))
                 if not p.exists() or p.read_text(encoding="utf-8") != new]  # fmt: skip
        if stale:
            print(f"out of date: {', '.join(stale)}; run: python scripts/report_example.py")
            return 1
        return 0
    SVG.write_text(svg, encoding="utf-8")
    README.write_text(readme, encoding="utf-8")
    print(f"wrote {SVG.relative_to(PROJECT)} and the README excerpt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Accuracy of cacheaudit on the real-world corpus (tests/realworld), against hand labels.

    python benchmarks/accuracy.py                 # precision, recall, per-rule table, every FP/miss
    python benchmarks/accuracy.py --json          # the same as JSON
    python benchmarks/accuracy.py --repo psf__black --repo pallets__flask
    python benchmarks/accuracy.py --write-known   # refresh tests/realworld/known.json
    python benchmarks/accuracy.py --scores docs/score-vs-coverage.md
    python benchmarks/accuracy.py --corpus tests/realworld-holdout   # the held-out set

Matching (tests/realworld/README.md): a finding is a true positive when a `[[file.expect]]` of
its file names its rule within ±2 lines, or in the same Dockerfile instruction or workflow step —
a label may point at the `RUN` line or at the install inside it, at a step's `uses:` line or at
its `key:` (line 0: anywhere in the file), neutral when an
`[[file.either]]` does, and a false positive otherwise — including every finding in a file with
no `[[file]]` entry. Recall counts the `expect` labels that at least one finding hits. Notices
(CA0xx) are not scored; an internal error (CA001 with subject `internal-error:…`) is a crash.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "realworld"
KNOWN = CORPUS / "known.json"
TOLERANCE = 2
META = {"SOURCE", "labels.toml"}


@dataclass(frozen=True)
class Label:
    rule: str
    line: int
    reason: str

    def matches(self, rule: str, line: int, spans: Sequence[tuple[int, int]] = ()) -> bool:
        if self.rule != rule:
            return False
        if self.line == 0 or abs(self.line - line) <= TOLERANCE:
            return True
        return any(a <= self.line <= b and a <= line <= b for a, b in spans)


@dataclass
class FileLabels:
    path: str
    clean: bool
    expect: list[Label] = field(default_factory=list)
    either: list[Label] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """One finding or one must-fire label, judged."""

    repo: str
    path: str
    rule: str
    line: int
    kind: str
    """``tp``, ``fp``, ``either`` (findings) or ``miss`` (labels)."""
    text: str
    """The finding's message, or the label's reason."""

    @property
    def key(self) -> str:
        return f"{self.repo}/{self.path}:{self.rule}:{self.line}"


@dataclass
class RepoResult:
    repo: str
    outcomes: list[Outcome]
    crashes: list[str]
    labelled_expect: int
    score: int | None = None
    coverage: float | None = None
    downloads: int = 0


def load_labels(repo_dir: Path) -> dict[str, FileLabels]:
    data = tomllib.loads((repo_dir / "labels.toml").read_text(encoding="utf-8"))
    labels: dict[str, FileLabels] = {}
    for entry in data.get("file", []):
        path = entry["path"]
        item = labels.setdefault(path, FileLabels(path, bool(entry.get("clean", False))))
        for kind in ("expect", "either"):
            for raw in entry.get(kind, []):
                getattr(item, kind).append(
                    Label(raw["rule"], int(raw.get("line", 0)), raw.get("reason", ""))
                )
    return labels


def step_spans(path: Path) -> list[tuple[int, int]]:
    """First and last line of each step of a GitHub workflow or composite action."""
    from cacheaudit.parsing.yaml import YamlError, item_line, load

    try:
        doc = load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YamlError):
        return []
    if not isinstance(doc, dict):
        return []
    step_lists = []
    for job in (doc.get("jobs") or {}).values() if isinstance(doc.get("jobs"), dict) else []:
        if isinstance(job, dict) and isinstance(job.get("steps"), list):
            step_lists.append(job["steps"])
    runs = doc.get("runs")
    if isinstance(runs, dict) and isinstance(runs.get("steps"), list):
        step_lists.append(runs["steps"])
    lines = path.read_text(encoding="utf-8").splitlines()
    spans = []
    for steps in step_lists:
        starts = [item_line(steps, i) for i in range(len(steps))]
        for i, start in enumerate(starts):
            if i + 1 < len(starts):
                spans.append((start, starts[i + 1] - 1))
                continue
            # The last step runs to the next line indented no deeper than its `-`.
            first = lines[start - 1]
            dash = len(first) - len(first.lstrip())
            end = start
            for number in range(start + 1, len(lines) + 1):
                text = lines[number - 1]
                if text.strip() and not text.lstrip().startswith("#"):
                    if len(text) - len(text.lstrip()) <= dash:
                        break
                    end = number
            spans.append((start, end))
    return spans


def instruction_spans(path: Path) -> list[tuple[int, int]]:
    """First and last line of each instruction of a Dockerfile, or of each step of a GitHub
    workflow (empty for other files)."""
    name = path.name.lower()
    if path.suffix in (".yml", ".yaml") and (
        "/.github/workflows/" in path.as_posix() or name in ("action.yml", "action.yaml")
    ):
        return step_spans(path)
    if "dockerfile" not in name and "containerfile" not in name:
        return []
    from cacheaudit.parsing.dockerfile import parse

    try:
        parsed = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []
    return [(i.line, i.end_line) for i in parsed.instructions]


def audit_repo(repo_dir: Path) -> object:
    """Audit a copy of the repository (with a `.git` so it is its own root), default config."""
    from cacheaudit.audit import audit
    from cacheaudit.config import build_config

    with tempfile.TemporaryDirectory(prefix="cacheaudit-accuracy-") as tmp:
        root = Path(tmp) / repo_dir.name
        shutil.copytree(repo_dir, root, ignore=shutil.ignore_patterns(*META), symlinks=True)
        (root / ".git").mkdir()
        return audit(build_config(root))


def judge(repo_dir: Path) -> RepoResult:
    labels = load_labels(repo_dir)
    report = audit_repo(repo_dir)
    repo = repo_dir.name
    outcomes: list[Outcome] = []
    hit: set[tuple[str, int]] = set()
    for finding in report.findings:  # type: ignore[attr-defined]
        path, rule, line = finding.location.path, finding.rule_id, finding.location.line
        file_labels = labels.get(path)
        kind = "fp"
        if file_labels is not None:
            spans = instruction_spans(repo_dir / path)
            for index, label in enumerate(file_labels.expect):
                if label.matches(rule, line, spans):
                    kind = "tp"
                    hit.add((path, index))
            if kind == "fp" and any(
                label.matches(rule, line, spans) for label in file_labels.either
            ):
                kind = "either"
        outcomes.append(Outcome(repo, path, rule, line, kind, finding.message))
    total_expect = 0
    for path, file_labels in labels.items():
        for index, label in enumerate(file_labels.expect):
            total_expect += 1
            if (path, index) not in hit:
                outcomes.append(Outcome(repo, path, label.rule, label.line, "miss", label.reason))
    crashes = [
        f"{n.location.path}: {n.message}"
        for n in report.notices  # type: ignore[attr-defined]
        if n.subject.startswith("internal-error")
    ]
    score = report.score  # type: ignore[attr-defined]
    cov = score.coverage
    return RepoResult(
        repo,
        sorted(outcomes, key=lambda o: (o.path, o.line, o.rule, o.kind)),
        crashes,
        total_expect,
        score.overall,
        cov.ratio if cov is not None else None,
        cov.downloads if cov is not None else 0,
    )


def repositories(names: Sequence[str], corpus: Path = CORPUS) -> list[Path]:
    dirs = sorted(p for p in corpus.iterdir() if (p / "labels.toml").is_file())
    if names:
        wanted = set(names)
        dirs = [d for d in dirs if d.name in wanted]
        missing = wanted - {d.name for d in dirs}
        if missing:
            raise SystemExit(f"no such corpus repository: {', '.join(sorted(missing))}")
    return dirs


def summarise(results: Iterable[RepoResult]) -> dict[str, object]:
    results = list(results)
    outcomes = [o for r in results for o in r.outcomes]
    kinds = Counter(o.kind for o in outcomes)
    tp, fp, miss = kinds["tp"], kinds["fp"], kinds["miss"]
    expect = sum(r.labelled_expect for r in results)
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        per_rule[o.rule][o.kind] += 1
    return {
        "repositories": len(results),
        "findings": tp + fp + kinds["either"],
        "tp": tp,
        "fp": fp,
        "either": kinds["either"],
        "must_fire_labels": expect,
        "missed": miss,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": (expect - miss) / expect if expect else 1.0,
        "crashes": sum(len(r.crashes) for r in results),
        "per_rule": {
            rule: {
                "tp": c["tp"],
                "fp": c["fp"],
                "either": c["either"],
                "missed": c["miss"],
                "precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None,
            }
            for rule, c in sorted(per_rule.items())
        },
    }


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation with average ranks for ties."""

    def ranks(values: Sequence[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


def scores_table(results: Sequence[RepoResult]) -> str:
    rows = [r for r in results if r.coverage is not None and r.score is not None]
    rho = spearman([r.score or 0 for r in rows], [r.coverage or 0.0 for r in rows])
    lines = [
        "# Score and traffic-weighted coverage on the real-world corpus",
        "",
        "Generated by `python benchmarks/accuracy.py --scores docs/score-vs-coverage.md`.",
        "Coverage: the share of package downloads per pipeline run served by an effective",
        'cache (see README "Scoring"). Repositories without install sites are left out.',
        "",
        f"Spearman rank correlation over {len(rows)} repositories: **ρ = {rho:.3f}**",
        "",
        "| repository | score | coverage | downloads per run |",
        "|---|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (-(r.coverage or 0), -(r.score or 0), r.repo)):
        lines.append(f"| {r.repo} | {r.score} | {100 * (r.coverage or 0):.0f}% | {r.downloads:,} |")
    return "\n".join(lines) + "\n"


def known_set(results: Iterable[RepoResult]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"fp": [], "miss": []}
    for r in results:
        for o in r.outcomes:
            if o.kind in out:
                out[o.kind].append(o.key)
    return {k: sorted(set(v)) for k, v in out.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", action="append", default=[], help="only this corpus directory")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--write-known", action="store_true", help=f"write {KNOWN.name}")
    parser.add_argument("--scores", metavar="FILE", help="write the score/coverage table")
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help="a corpus directory (default: tests/realworld)"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    results = [judge(d) for d in repositories(args.repo, args.corpus)]
    summary = summarise(results)
    if args.write_known and args.corpus != CORPUS:
        raise SystemExit(
            "--write-known is for the tuning corpus only: the held-out set stays blind"
        )
    if args.write_known:
        KNOWN.write_text(json.dumps(known_set(results), indent=1) + "\n", encoding="utf-8")
    if args.scores:
        Path(args.scores).write_text(scores_table(results), encoding="utf-8")
    if args.json:
        summary["outcomes"] = [o.__dict__ for r in results for o in r.outcomes if o.kind != "tp"]
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"corpus: {summary['repositories']} repositories, {summary['findings']} findings, "
        f"{summary['must_fire_labels']} must-fire labels"
    )
    print(
        f"precision {summary['precision']:.3f} (tp {summary['tp']}, fp {summary['fp']}, "
        f"either {summary['either']})   recall {summary['recall']:.3f} "
        f"(missed {summary['missed']})   crashes {summary['crashes']}"
    )
    print("\nrule    tp   fp  either  missed  precision")
    for rule, c in summary["per_rule"].items():  # type: ignore[attr-defined]
        p = "  -  " if c["precision"] is None else f"{c['precision']:.2f}"
        print(f"{rule}  {c['tp']:4} {c['fp']:4} {c['either']:6} {c['missed']:7}  {p}")
    for kind, title in (("fp", "False positives"), ("miss", "Misses")):
        print(f"\n{title}:")
        for r in results:
            for o in r.outcomes:
                if o.kind == kind:
                    print(f"  {o.repo}/{o.path}:{o.line} {o.rule}  {o.text[:150]}")
    for r in results:
        for crash in r.crashes:
            print(f"CRASH {r.repo}: {crash}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

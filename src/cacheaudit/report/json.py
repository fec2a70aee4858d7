"""JSON report, schema version 2 (documented in the README). The wire format is built here,
apart from the internal model, so the model can change without breaking consumers."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from cacheaudit.model import Coverage, Finding, Fix, InstallSite, Report
from cacheaudit.scoring import downloads, impact_line

SCHEMA_VERSION = 2


def finding_dict(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    return {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "severity": finding.severity.value,
        "category": finding.category.value,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "message": finding.message,
        "subject": finding.subject,
        "fingerprint": finding.fingerprint,
        "fix": fix_dict(finding.fix) if finding.fix else None,
        "weight": finding.weight,
        "security": finding.security,
    }


def fix_dict(fix: Fix) -> dict[str, Any]:
    """``kind`` is ``edit`` (``cacheaudit fix`` applies ``edits``; ``safe: false`` ones only with
    ``--unsafe-fixes``) or ``advice`` (``snippet`` is a suggestion for a person)."""
    return {
        "kind": fix.kind.value,
        "safe": fix.safe,
        "description": fix.description,
        "snippet": fix.snippet,
        "edits": [
            {
                "path": e.path,
                "start_line": e.start_line,
                "end_line": e.end_line,
                "replacement": e.replacement,
                "original": e.original,
            }
            for e in fix.edits
        ],
    }


def install_dict(site: InstallSite) -> dict[str, Any]:
    return {
        "path": site.location.path,
        "line": site.location.line,
        "platform": site.platform,
        "context": site.context,
        "tool": site.tool,
        "command": site.command,
        "inputs": list(site.inputs),
        "cached": site.cache_state.value == "effective",
        "cache": site.cache_state.value,
        "cache_reason": site.cache_reason,
        "explained_by": list(site.explained_by),
        "cache_key_inputs": list(site.cache_key_inputs),
        "runs_per_pipeline": site.runs_per_pipeline,
        "runs_note": site.runs_note,
        "packages": site.packages,
        "packages_exact": site.packages_exact,
        "packages_source": site.packages_source,
        "bytes": site.bytes,
        "downloads_per_pipeline": downloads(site),
    }


def coverage_dict(cov: Coverage | None) -> dict[str, Any] | None:
    if cov is None:
        return None
    return {
        "ratio": round(cov.ratio, 4),
        "ratio_if_fixed": round(cov.ratio_if_fixed, 4),
        "downloads": cov.downloads,
        "cached_downloads": cov.cached_downloads,
        "unknown_downloads": cov.unknown_downloads,
        "fixable_downloads": cov.fixable_downloads,
        "exact": cov.exact,
        "bytes_known": cov.bytes_known,
        "sites": cov.sites,
        "cached_sites": cov.cached_sites,
        "broken_sites": cov.broken_sites,
        "unknown_sites": cov.unknown_sites,
    }


def report_dict(report: Report) -> dict[str, Any]:
    score = report.score
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "cacheaudit", "version": report.version},
        "root": report.root,
        "exit_code": report.exit_code,
        "score": {
            "overall": score.overall,
            "grade": score.grade,
            "coverage": coverage_dict(score.coverage),
            "hygiene_penalty": score.hygiene_penalty,
            "hidden_findings": score.hidden_findings,
            "impact": impact_line(report),
            "categories": {
                cat.category.value: {
                    "applicable": cat.applicable,
                    "score": cat.score,
                    "coverage": coverage_dict(cat.coverage),
                    "deductions": [
                        {
                            "rule_id": d.rule_id,
                            "rule_name": d.rule_name,
                            "count": d.count,
                            "points": d.points,
                        }
                        for d in cat.deductions
                    ],
                }
                for cat in score.categories
            },
            "top_fixes": [
                {
                    "rule_id": g.rule_id,
                    "rule_name": g.rule_name,
                    "count": g.count,
                    "points": g.points,
                    "fix": g.fix,
                    "downloads": g.downloads,
                }
                for g in score.top_fixes
            ],
        },
        "summary": {
            "files_audited": len(report.files_audited),
            "findings": len(report.findings),
            "by_severity": dict(sorted(Counter(f.severity.value for f in report.findings).items())),
            "suppressed": len(report.suppressed),
            "notices": len(report.notices),
            "install_sites": len(report.installs),
            "cached_install_sites": sum(
                1 for i in report.installs if i.cache_state.value == "effective"
            ),
        },
        "findings": [finding_dict(f) for f in report.findings],
        "suppressed": [{**finding_dict(s.finding), "reason": s.reason} for s in report.suppressed],
        "notices": [finding_dict(n) for n in report.notices],
        "installs": [install_dict(i) for i in report.installs],
        "files_audited": list(report.files_audited),
    }


def render(report: Report, *, color: bool = False) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"

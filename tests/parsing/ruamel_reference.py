"""ruamel's own (pure Python) round-trip loader, with its errors turned into the loader's
:class:`YamlError`: the reference that ``test_yaml_loader`` compares our libyaml loader with."""

from __future__ import annotations

from typing import Any

from cacheaudit.parsing.yaml import YamlError


def load_ruamel(text: str) -> Any:
    """ruamel's own (pure Python) round-trip loader: the reference the tests compare with."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise YamlError(problem) from None
        raise YamlError(problem, mark.line + 1, mark.column + 1) from None
    except YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except RecursionError:
        raise YamlError("document is nested too deeply") from None
    except Exception as exc:  # ruamel raises assorted errors on hostile input
        raise YamlError(f"cannot parse: {type(exc).__name__}: {exc}") from None

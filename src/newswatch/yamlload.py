"""Strict YAML loading shared by the config and topics files.

PyYAML's safe loader silently keeps the last of two equal keys; a config file with a key written
twice is almost always a mistake, so this loader refuses it. Syntax errors are reported as one
line with the file, line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from newswatch.errors import ConfigError

#: libyaml's parser when PyYAML was built with it: about ten times faster than the pure-Python
#: one, which took most of the time of every command on a config with a thousand feeds.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that rejects duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mark = key_node.start_mark
        try:
            duplicate = key in mapping
        except TypeError:  # a list or mapping as a key (`? [a, b]`)
            raise yaml.constructor.ConstructorError(
                None, None, "a list or mapping cannot be a key", mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml_file(path: Path, *, what: str = "config file") -> Any:
    """Read and parse one YAML file strictly.

    Args:
        path: the file to read.
        what: how to name the file in messages ("config file", "topics file").

    Returns:
        The parsed document (``None`` for an empty file).

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8, or not valid YAML.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: {what} is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error: {exc}") from None

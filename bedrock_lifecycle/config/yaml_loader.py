"""Read YAML into plain Python values, refusing what PyYAML silently accepts.

PyYAML keeps the last of two equal keys in a mapping without a word; in a file
that decides which model answers production traffic that is a trap, so this
loader walks the composed node tree itself and reports duplicates with their
path and lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class YamlProblem:
    """One problem found while reading the file (path is a tuple of keys)."""

    path: tuple[str | int, ...]
    message: str


class _Reader:
    def __init__(self, text: str) -> None:
        self._loader = yaml.SafeLoader(text)
        self.problems: list[YamlProblem] = []

    def read(self) -> Any:
        try:
            node = self._loader.get_single_node()
        finally:
            self._loader.dispose()
        if node is None:
            return None
        return self._value(node, ())

    def _value(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, yaml.MappingNode):
            # Keys written in this mapping, before merge keys (<<) are flattened in.
            explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
            self._loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            # Merged pairs come first and may be overridden; explicit ones may not repeat.
            pairs = [p for p in node.value if id(p[0]) not in explicit]
            pairs += [p for p in node.value if id(p[0]) in explicit]
            for key_node, value_node in pairs:
                key = self._loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.problems.append(
                        YamlProblem(path, f"keys must be plain strings, got {key!r}")
                    )
                    continue
                key_text = str(key)
                if id(key_node) in explicit:
                    line = key_node.start_mark.line + 1
                    if key_text in first_line:
                        self.problems.append(
                            YamlProblem(
                                path,
                                f"duplicate key {key_text!r} at line {line} "
                                f"(first at line {first_line[key_text]}); each key may appear once",
                            )
                        )
                        continue
                    first_line[key_text] = line
                result[key_text] = self._value(value_node, (*path, key_text))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self._value(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._loader.construct_object(node, deep=True)


def read_yaml(text: str) -> tuple[Any, list[YamlProblem]]:
    """Parse ``text``; return the data and the duplicate-key problems found.

    Raises ``yaml.YAMLError`` when the text is not YAML at all.
    """
    reader = _Reader(text)
    data = reader.read()
    return data, reader.problems

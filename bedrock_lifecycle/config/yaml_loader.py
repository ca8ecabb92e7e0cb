"""Read YAML into plain Python values, refusing what PyYAML silently accepts.

PyYAML keeps the last of two equal keys in a mapping without a word; in a file
that decides which model answers production traffic that is a trap, so this
loader walks the composed node tree itself and reports duplicates with their
path and lines.

It is also bounded, whatever the text: a file is at most :data:`MAX_FILE_BYTES`
(checked by the caller before reading), nodes nest at most :data:`MAX_DEPTH`
deep, the file refers to anchors at most :data:`MAX_ALIAS_REFERENCES` times, and
the document it expands to (every alias counted each time it is used) has at most
:data:`MAX_NODES` nodes. So an alias bomb ("billion laughs"), a self-referencing
anchor or a ten-thousand-deep list is one line, in bounded time and memory, never
a ``RecursionError`` or gigabytes. Events come from libyaml when PyYAML has it
(about five times faster); composition is PyYAML's own, with the bounds added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.resolver import Resolver

# A lifecycle file of 200 aliases per environment is about 100 KB.
MAX_FILE_BYTES = 512 * 1024
# The schema's deepest path (families.f.versions.v.target.destination_regions[0]) is 7.
MAX_DEPTH = 32
MAX_ALIAS_REFERENCES = 1_000
# Values of the expanded document: a 512 KiB file of 3,500 families has about 40,000.
MAX_NODES = 100_000
# Digits of an integer scalar; Python's int() refuses more than 4,300 anyway.
MAX_INTEGER_DIGITS = 100

_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class YamlProblem:
    """One problem found while reading the file (path is a tuple of keys)."""

    path: tuple[str | int, ...]
    message: str


class YamlLimitError(yaml.YAMLError):
    """The text is past one of the loader's bounds; the message says which, in one line."""


def _parser_base() -> type:
    if yaml.__with_libyaml__:
        from yaml.cyaml import CParser

        return CParser
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class PythonParser(Reader, Scanner, Parser):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

    return PythonParser


_Parser: Any = _parser_base()


class _BoundedLoader(_Parser, Composer, SafeConstructor, Resolver):  # type: ignore[misc]
    """libyaml's (or PyYAML's) events, PyYAML's composer with depth and alias bounds."""

    def __init__(self, text: str) -> None:
        _Parser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0
        self._nodes = 0

    # The C parser brings its own composer; these keep PyYAML's, where the bounds are.
    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    check_node = Composer.check_node
    get_node = Composer.get_node

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIAS_REFERENCES:
                raise YamlLimitError(
                    f"refers to anchors more than {MAX_ALIAS_REFERENCES} times (line {line}); "
                    "write the values out"
                )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlLimitError(f"has more than {MAX_NODES:,} values (line {line})")
        if isinstance(event, CollectionStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(
                    f"nests deeper than {MAX_DEPTH} levels at line {line}, far deeper than "
                    "any lifecycle file needs"
                )
            try:
                return Composer.compose_node(self, parent, index)
            finally:
                self._depth -= 1
        return Composer.compose_node(self, parent, index)


def _merge_chain_depth(node: yaml.MappingNode) -> int:
    """How deep merge keys (<<) chain below ``node`` before PyYAML flattens them (its
    ``flatten_mapping`` recurses once per link): an explicit walk, longest path first,
    stopping one past :data:`MAX_DEPTH`."""
    deepest = 0
    stack: list[tuple[yaml.MappingNode, int]] = [(node, 0)]
    best: dict[int, int] = {}
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            return depth
        deepest = max(deepest, depth)
        for key_node, value_node in current.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if isinstance(source, yaml.MappingNode) and best.get(id(source), -1) < depth + 1:
                    best[id(source)] = depth + 1
                    stack.append((source, depth + 1))
    return deepest


def _source(node: yaml.Node) -> str:
    """How a scalar was written, shortened for a message."""
    text = str(node.value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Reader:
    def __init__(self, text: str) -> None:
        self._loader = _BoundedLoader(text)
        self.problems: list[YamlProblem] = []
        self._active: set[int] = set()  # nodes on the path being walked: a revisit is a cycle
        self._expanded = 0
        # The keys each mapping was written with, kept from its first visit: flattening
        # merges rewrites the node, and an alias visits it again.
        self._explicit: dict[int, set[int]] = {}

    def read(self) -> Any:
        try:
            node = self._loader.get_single_node()
        finally:
            self._loader.dispose()
        if node is None:
            return None
        return self._value(node, ())

    def _problem(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(YamlProblem(path, message))

    def _value(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        self._expanded += 1
        if self._expanded > MAX_NODES:
            raise YamlLimitError(
                f"expands to more than {MAX_NODES:,} values through its anchors and aliases"
            )
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            line = node.start_mark.line + 1
            self._problem(
                path,
                f"refers to the anchor it is inside (line {line}); a value cannot contain itself",
            )
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self._value(item, (*path, i)) for i, item in enumerate(node.value)]
            return None  # no other node kinds exist
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: tuple[str | int, ...]) -> Any:
        line = node.start_mark.line + 1
        if node.tag == _INT_TAG and len(str(node.value)) > MAX_INTEGER_DIGITS:
            self._problem(
                path,
                f"a number of {len(str(node.value))} digits at line {line}; at most "
                f"{MAX_INTEGER_DIGITS} are read",
            )
            return None
        try:
            return self._loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            what = "a valid date (YYYY-MM-DD)" if node.tag == _TIMESTAMP_TAG else "a valid value"
            self._problem(path, f"{_source(node)!r} at line {line} is not {what}")
            return None

    def _merges_itself(self, node: yaml.MappingNode) -> int | None:
        """The line of a merge key (<<) whose value is this mapping or one it is inside."""
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            if any(s is node or id(s) in self._active for s in sources):
                return int(key_node.start_mark.line + 1)
        return None

    def _key(self, key_node: yaml.Node, path: tuple[str | int, ...]) -> str | None:
        """The key as written, or None after a problem: keys are names, never values."""
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            self._problem(path, f"the key at line {line} is a mapping or a list; keys are names")
            return None
        if key_node.tag in (_BOOL_TAG, _NULL_TAG) and not key_node.style:
            kind = "a boolean" if key_node.tag == _BOOL_TAG else "null"
            self._problem(
                path,
                f"the key {_source(key_node)!r} at line {line} reads as {kind} in YAML; "
                f"quote it ('{_source(key_node)}') to use it as a name",
            )
            return None
        # Numbers and dates stay as written: 010 is the name "010", not 8.
        return str(key_node.value)

    def _mapping(self, node: yaml.MappingNode, path: tuple[str | int, ...]) -> dict[str, Any]:
        self_merge = self._merges_itself(node)
        if self_merge is not None:
            self._problem(
                path,
                f"the merge key (<<) at line {self_merge} merges the mapping it is inside; "
                "merge another anchor",
            )
            node.value = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        # Keys written in this mapping, before merge keys (<<) are flattened in.
        explicit = self._explicit.setdefault(
            id(node), {id(k) for k, _ in node.value if k.tag != _MERGE_TAG}
        )
        chain = _merge_chain_depth(node)
        if chain > MAX_DEPTH:
            raise YamlLimitError(
                f"chains merge keys (<<) more than {MAX_DEPTH} deep at line "
                f"{node.start_mark.line + 1}; merge fewer anchors into each other"
            )
        try:
            self._loader.flatten_mapping(node)
        except yaml.YAMLError as exc:
            self._problem(path, str(getattr(exc, "problem", None) or exc).splitlines()[0])
            return {}
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        # Merged pairs come first and may be overridden; explicit ones may not repeat.
        pairs = [p for p in node.value if id(p[0]) not in explicit]
        pairs += [p for p in node.value if id(p[0]) in explicit]
        for key_node, value_node in pairs:
            key = self._key(key_node, path)
            if key is None:
                continue
            if id(key_node) in explicit:
                line = key_node.start_mark.line + 1
                if key in first_line:
                    self._problem(
                        path,
                        f"duplicate key {key!r} at line {line} (first at line "
                        f"{first_line[key]}); each key may appear once",
                    )
                    continue
                first_line[key] = line
            result[key] = self._value(value_node, (*path, key))
        return result


def read_yaml(text: str) -> tuple[Any, list[YamlProblem]]:
    """Parse ``text``; return the data and the problems found (duplicate keys, keys that
    are not names, values that cannot be read, self-references).

    :raises yaml.YAMLError: when the text is not YAML at all, or is past a bound
        (:class:`YamlLimitError`).
    """
    reader = _Reader(text)
    data = reader.read()
    return data, reader.problems

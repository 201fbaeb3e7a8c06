"""Reading a YAML config file defensively: one clear error for whatever the file holds.

A config path may name something that is not a config at all (a directory,
``/dev/zero``, a FIFO nobody writes to), bytes that are not UTF-8, or YAML
built to hurt: nesting thousands deep (the composer recurses) or a few
hundred bytes of aliases that expand to millions of values (an "alias
bomb"). Each is refused with the file and, where there is one, the line,
before anything recursive or expanding touches it. Duplicate keys, which
PyYAML silently lets the later one win, are refused too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from townlet.core.errors import ConfigError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "compose_config",
    "construct_document",
    "load_yaml_value",
    "read_config_document",
    "read_config_text",
]

MAX_BYTES = 16 * 1024 * 1024
"""Largest config file read (real configs are a few KiB)."""
MAX_DEPTH = 100
"""Deepest nesting of mappings and lists (real configs nest about 6 deep)."""
MAX_VALUES = 1_000_000
"""Most values a config may hold once its aliases are expanded."""


def read_config_document(path: Path, what: str = "config") -> tuple[yaml.Node, object]:
    """The node tree and the data of the YAML file ``path`` (``what``: the kind of file,
    for messages), after every check of this module; an empty file is refused."""
    node = compose_config(read_config_text(path, what), path)
    if node is None:
        raise ConfigError(f"{path}: the {what} file is empty")
    data = construct_document(node, path)
    if data is None:
        raise ConfigError(f"{path}: the {what} file is empty")
    return node, data


def load_yaml_value(text: str, where: str) -> Any:
    """The YAML value ``text`` given on the command line (``where``: the option, for
    messages), with the same checks as a file; empty text is ``None``."""
    return construct_document(compose_config(text, where), where)


def construct_document(node: yaml.Node | None, where: Path | str) -> Any:
    """The Python data of a node tree from :func:`compose_config` (None for no document)."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, where) from exc
    finally:
        loader.dispose()


def read_config_text(path: Path, what: str = "config") -> str:
    """The text of the regular file ``path``; never blocks on a FIFO or reads a device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} file: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path}: is a directory, not a {what} file")
        raise ConfigError(f"{path}: not a regular file (a device, FIFO or socket)")
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: {what} file is larger than {MAX_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def compose_config(text: str, path: Path | str) -> yaml.Node | None:
    """The YAML node tree of ``text`` after the checks above (None: no document);
    ``path`` names where the text came from in messages."""
    _check_shape(text, path)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from exc
    finally:
        loader.dispose()
    if node is not None:
        _check_duplicate_keys(node, path)
    return node


def _at(path: Path | str, line: int) -> str:
    """``file:line`` for a file; a command-line option (a ``str``) is named alone."""
    return f"{path}:{line}" if isinstance(path, Path) else path


def _yaml_error(exc: yaml.YAMLError, path: Path | str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = _at(path, mark.line + 1) if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc)
    return ConfigError(f"{where}: invalid YAML: {problem}")


def _check_shape(text: str, path: Path | str) -> None:
    """Refuse deep nesting and alias bombs from the event stream (no recursion)."""
    depth = 0
    counts: list[int] = [0]
    """Values inside each open collection, aliases expanded."""
    anchors: list[str | None] = [None]
    sizes: dict[str, int] = {}
    """Values each anchor stands for."""
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(
                        f"{_at(path, line)}: nested more than {MAX_DEPTH} levels deep"
                    )
                counts.append(0)
                anchors.append(event.anchor)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                inner = counts.pop() + 1
                anchor = anchors.pop()
                if anchor is not None:
                    sizes[anchor] = inner
                counts[-1] += inner
            elif isinstance(event, yaml.ScalarEvent):
                counts[-1] += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                counts[-1] += sizes.get(event.anchor or "", 1)
            else:
                continue
            if counts[-1] > MAX_VALUES or sum(counts) > MAX_VALUES:
                raise ConfigError(
                    f"{_at(path, line)}: expands to more than {MAX_VALUES:,} values "
                    "(YAML aliases repeating aliases?)"
                )
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from exc


def _check_duplicate_keys(root: yaml.Node, path: Path | str) -> None:
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # an alias: checked where it was defined
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[object, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                line = key_node.start_mark.line + 1
                if key is not None and key != "<<":
                    if key in first:
                        raise ConfigError(
                            f"{_at(path, line)}: duplicate key {key!r} (first at line {first[key]})"
                        )
                    first[key] = line
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)

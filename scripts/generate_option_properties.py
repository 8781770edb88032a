#!/usr/bin/env python3
"""Write ``python/zmtrio/_option_properties.py`` from the option table in ``_options.py``.

Run it after adding or changing a row of the table (``.venv/bin/python
scripts/generate_option_properties.py``); ``tests/test_option_attributes.py`` fails while the
file is out of date. Each option becomes a typed property, lowercase and uppercase, so
``mypy --strict`` catches a misspelt option or a value of the wrong type.
"""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "python" / "zmtrio" / "_option_properties.py"

# The table's modules without the package's __init__, which imports the file written here
# (so a stale or missing file cannot stop its own regeneration).
if "zmtrio" not in sys.modules:
    _package = types.ModuleType("zmtrio")
    _package.__path__ = [str(TARGET.parent)]
    sys.modules["zmtrio"] = _package

from zmtrio._constants import SocketType  # noqa: E402 (needs the package above)
from zmtrio._options import OPTIONS, OptionSpec  # noqa: E402

#: Option names whose lowercase attribute is a method of ``Socket`` instead of a property
#: (``sock.subscribe(topic)``); their uppercase property still sets the option.
METHOD_NAMES = frozenset({"subscribe", "unsubscribe"})

_PYTHON_TYPES = {"int": "int", "bytes": "bytes", "str": "str"}

HEADER = '''\
"""Socket options as typed properties, generated from the option table in ``_options.py``.

Do not edit: ``scripts/generate_option_properties.py`` writes this file and
``tests/test_option_attributes.py`` fails when it is out of date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias, cast

from ._options import SocketOption

__all__ = ["BytesOption", "IntOption", "OptionProperties", "StrOption"]

_O = SocketOption
'''

CLASS_HEAD = '''

class OptionProperties:
    """Every libzmq option as a typed property, lowercase and uppercase (``sndhwm``,
    ``SNDHWM``). The class using it provides ``_get_option`` and ``_set_option``."""

    __slots__ = ()

    if TYPE_CHECKING:

        def _get_option(self, option: int) -> int | bytes | str: ...
        def _set_option(self, option: int, value: int | bytes) -> None: ...
'''


def _literal(name: str, options: list[str]) -> str:
    one_line = f"{name}: TypeAlias = Literal[{', '.join(f'SocketOption.{o}' for o in options)}]"
    if len(one_line) <= 100:
        return f"\n{one_line}\n"
    members = "".join(f"    SocketOption.{option},\n" for option in options)
    return f"\n{name}: TypeAlias = Literal[\n{members}]\n"


def _describe(spec: OptionSpec) -> str:
    parts = [f"``{spec.option.name}`` ({spec.kind}, default {spec.default!r})"]
    if not spec.readable:
        parts.append("write-only: reading it raises ``ZMQError(EINVAL)``, as in libzmq")
    if not spec.writable:
        parts.append("read-only")
    if not spec.built:
        parts.append("not implemented yet: setting it raises ``ZMQError(ENOTSUP)``")
    if spec.types != frozenset(SocketType):
        names = ", ".join(sorted(kind.name for kind in spec.types))
        parts.append(f"for {names} sockets")
    return "; ".join(parts) + "."


def _property(spec: OptionSpec) -> str:
    name = spec.option.name
    python_type = _PYTHON_TYPES[spec.kind]
    lower = name.lower()
    attribute = name if lower in METHOD_NAMES else lower
    docstring = textwrap.fill(
        f'"""{_describe(spec)}"""',
        width=100,
        initial_indent=" " * 8,
        subsequent_indent=" " * 8,
        break_on_hyphens=False,
    )
    text = f"""
    @property
    def {attribute}(self) -> {python_type}:
{docstring}
        return cast({python_type}, self._get_option(_O.{name}))
"""
    if spec.writable:
        text += f"""
    @{attribute}.setter
    def {attribute}(self, value: {python_type}) -> None:
        self._set_option(_O.{name}, value)
"""
    if attribute != name:
        text += f"\n    {name} = {attribute}\n"
    return text


def render() -> str:
    """The module's text, from the option table as it is now."""
    by_kind: dict[str, list[str]] = {"int": [], "bytes": [], "str": []}
    for spec in OPTIONS:
        by_kind[spec.kind].append(spec.option.name)
    text = HEADER
    text += _literal("IntOption", by_kind["int"])
    text += _literal("BytesOption", by_kind["bytes"])
    text += _literal("StrOption", by_kind["str"])
    text += CLASS_HEAD
    for spec in OPTIONS:
        text += _property(spec)
    return text


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")

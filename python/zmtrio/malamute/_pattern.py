"""Subject patterns (STREAM READ, SERVICE OFFER) with the semantics of CZMQ's ``zrex``.

``zrex`` searches for the expression anywhere in the subject (``^``/``$`` anchor it), and
``\\a``/``\\A`` stand for a letter / a non-letter; Python's ``re`` reads the rest of its
syntax the same way. A pattern ``zrex`` cannot compile matches every subject in the broker
(an invalid ``zrex`` matches anything), while ``mlm_client`` refuses to send one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["compile_pattern", "is_valid_pattern"]


def _translate(pattern: str) -> str:
    return pattern.replace("\\a", "[A-Za-z]").replace("\\A", "[^A-Za-z]")


def compile_pattern(pattern: str) -> Callable[[str], object]:
    """A matcher for ``pattern``: truthy for the subjects it matches."""
    try:
        return re.compile(_translate(pattern)).search
    except re.error:
        return lambda subject: True


def is_valid_pattern(pattern: str) -> bool:
    """Whether ``pattern`` compiles."""
    try:
        re.compile(_translate(pattern))
    except re.error:
        return False
    return True

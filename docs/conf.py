"""Sphinx configuration for zmtrio's documentation (built by .ci/run with warnings as
errors: ``sphinx-build -W -b html docs docs/_build/html``)."""

from __future__ import annotations

from typing import Any

import zmtrio

project = "zmtrio"
author = "the zmtrio authors"
release = zmtrio.__version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.viewcode"]
# No network in CI: intersphinx has no inventories to fetch, so links stay plain text.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"zmtrio {release}"


def _skip_option_aliases(
    app: Any, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """Every option is a lowercase property and an uppercase alias of it: document the
    lowercase one only."""
    if name.isupper() and isinstance(obj, property):
        return True
    return None


def setup(app: Any) -> None:
    app.connect("autodoc-skip-member", _skip_option_aliases)

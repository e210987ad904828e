"""Where a service finds the files it reads (SQL, pages): inside its installed package, or
in the checkout's top-level folder.

The design card keeps sql/ and frontend/ at the top of the tree; the wheel ships them
inside the package that reads them (setup.py, under ``<package>/_files/``). A checkout and
an editable install read the top-level folders themselves.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def folder(package: str, shipped: str, checkout: str) -> Path:
    """The folder ``<package>/_files/<shipped>`` of an installed wheel, else the folder
    ``checkout`` (relative to the tree's top) beside the package in a checkout."""
    installed = Path(str(files(package)))
    inside = installed / "_files" / shipped
    if inside.is_dir():
        return inside
    return installed.parent / checkout

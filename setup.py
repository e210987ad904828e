"""The one build step setuptools cannot be told in pyproject.toml: the design card keeps the
SQL and the Desk's pages in top-level folders (sql/, frontend/), and the wheel ships them
inside the packages that read them, where ``servicekit.resources.folder`` finds them.

A checkout or an editable install reads the top-level folders themselves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (folder in the checkout, where it goes in the wheel, the files it ships)
SHIPPED = (
    ("sql/ops", "vm122_ops/_files/sql", ("**/*.sql",)),
    ("sql/portal", "vm112_portal/_files/sql", ("**/*.sql",)),
    ("frontend", "vm122_ops/_files/frontend", ("*.html", "pages/*.html", "css/**/*", "js/**/*")),
)


class BuildWithFiles(build_py):
    """build_py, then the top-level folders copied into the built packages."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders
        for source, target, patterns in SHIPPED:
            for pattern in patterns:
                for path in sorted((ROOT / source).glob(pattern)):
                    if path.is_file():
                        copy = Path(self.build_lib) / target / path.relative_to(ROOT / source)
                        copy.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, copy)


setup(cmdclass={"build_py": BuildWithFiles})

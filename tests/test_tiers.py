"""The test tiers (tests/conftest.py): every place TIERS names exists, so a moved or
renamed test cannot silently leave its tier, and a place means what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import TIERS, in_tier

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("where", sorted(TIERS))
def test_every_place_in_the_tiers_exists(where: str) -> None:
    file, _, name = where.partition("::")
    path = ROOT / file
    assert path.is_dir() if file.endswith("/") else path.is_file(), f"{file} is gone"
    if name:
        text = path.read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {re.escape(name)}\(", text, re.M), f"{where} is gone"


def test_a_place_is_a_folder_a_file_or_one_test_with_its_cases() -> None:
    assert in_tier("tests/ops/test_x.py::test_a", "tests/ops/")
    assert in_tier("tests/ops/test_x.py::test_a", "tests/ops/test_x.py")
    assert not in_tier("tests/ops/test_x.py::test_a", "tests/ops/test_x")
    assert not in_tier("tests/ops/test_xy.py::test_a", "tests/ops/test_x.py")
    assert in_tier("tests/ops/test_x.py::test_a[3]", "tests/ops/test_x.py::test_a")
    assert not in_tier("tests/ops/test_x.py::test_ab", "tests/ops/test_x.py::test_a")

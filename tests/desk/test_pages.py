"""The Desk's static pages share their head and header: a test that they agree (each page
differs only in its title and in which navigation link is marked as the current page)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
PAGES = sorted(path.name for path in FRONTEND.glob("*.html"))
WITH_HEADER = [name for name in PAGES if name != "login.html"]
CURRENT = ' aria-current="page"'


def head(name: str) -> str:
    """The page up to its </head>, its title left out."""
    text = (FRONTEND / name).read_text(encoding="utf-8")
    return re.sub(r"<title>[^<]*</title>", "<title></title>", text.split("</head>")[0])


def header(name: str) -> str:
    """From <body> to </header>."""
    text = (FRONTEND / name).read_text(encoding="utf-8")
    return text[text.index("<body") : text.index("</header>")]


def test_there_are_seven_pages() -> None:
    assert len(PAGES) == 7, PAGES


@pytest.mark.parametrize("name", PAGES)
def test_every_head_is_the_same(name: str) -> None:
    assert head(name) == head("index.html")


@pytest.mark.parametrize("name", WITH_HEADER)
def test_every_header_is_the_same_but_the_current_page(name: str) -> None:
    assert header(name).replace(CURRENT, "") == header("index.html").replace(CURRENT, "")
    assert header(name).count("<main") == 0  # the header ends before the content
    assert '<a class="skip" href="#main"' in header(name)
    assert '<main id="main" tabindex="-1"' in (FRONTEND / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "current"),
    [
        ("index.html", '<a href="/" aria-current="page"'),
        ("tickets.html", '<a href="/tickets" aria-current="page"'),
    ],
)
def test_the_current_page_is_marked_in_the_navigation(name: str, current: str) -> None:
    assert header(name).count(CURRENT) == 1
    assert current in header(name)


@pytest.mark.parametrize("name", ["ticket.html", "session.html", "search.html", "cohort.html"])
def test_pages_outside_the_navigation_mark_none(name: str) -> None:
    assert CURRENT not in header(name)

"""The Desk's pages as Ops assembles them at start-up (vm122_ops/routes/pages.py): one
layout and one header for all, each page with its own title, body and current link, one
entry module and nothing the Content-Security-Policy (``script-src 'self'``, no inline
style) would block; and each route serves its assembled page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.desk.harness import login, user_command
from tests.support.apps import ops_in_process
from vm122_ops.routes.pages import ASSEMBLED, DESK_PAGES, FRONTEND, INCLUDED, assemble, include

TITLES = {
    "index": "Desk",
    "tickets": "Tickets",
    "ticket": "Ticket",
    "session": "Session",
    "search": "Search",
    "cohort": "Funnel sessions",
    "login": "Desk login",
}
ROUTES = {
    "/": "index",
    "/tickets": "tickets",
    "/tickets/7": "ticket",
    "/sessions/s-1": "session",
    "/search?q=loja": "search",
    "/funnel/sessions?step=dns_applied": "cohort",
    "/login": "login",
}
CURRENT = ' aria-current="page"'


def html(page: str) -> str:
    return ASSEMBLED[page].decode("utf-8")


def head(page: str) -> str:
    return html(page).split("</head>")[0] + "</head>"


def test_every_page_is_assembled_and_each_part_is_used() -> None:
    assert sorted(ASSEMBLED) == sorted(TITLES)
    parts = sorted(path.stem for path in (FRONTEND / "pages").glob("*.html"))
    assert parts == sorted(TITLES)
    assert sorted(path.name for path in FRONTEND.glob("*.html")) == [
        "body.html",
        "layout.html",
        "status-options.html",
    ]


@pytest.mark.parametrize("page", sorted(TITLES))
def test_each_page_has_the_shared_head_with_its_own_title(page: str) -> None:
    shared = (FRONTEND / "layout.html").read_text(encoding="utf-8").split("</head>")[0]
    assert head(page) == shared.replace("{{title}}", TITLES[page]) + "</head>"
    assert html(page).startswith('<!doctype html>\n<html lang="en">\n<head>\n')
    assert html(page).endswith("</body>\n</html>\n")
    assert html(page).count("<title>") == 1 and "{{" not in html(page)


@pytest.mark.parametrize("page", sorted(TITLES))
def test_each_page_loads_the_one_entry_module_and_nothing_csp_blocks(page: str) -> None:
    text = html(page)
    assert re.findall(r"<script[^>]*>", text) == ['<script type="module" src="/js/main.js">']
    assert "</script>" in text and text.count("</script>") == 1
    assert re.findall(r"<link[^>]*>", text) == ['<link rel="stylesheet" href="/css/desk.css">']
    assert "<style" not in text and " style=" not in text
    assert not re.search(r"\son[a-z]+=", text)  # no inline event handlers
    assert "javascript:" not in text


@pytest.mark.parametrize("page", sorted(DESK_PAGES))
def test_each_desk_page_has_the_shared_body_around_its_own_main(page: str) -> None:
    before, after = (FRONTEND / "body.html").read_text(encoding="utf-8").split("{{main}}\n")
    text = html(page).replace(CURRENT, "")
    assert text.count(before) == 1 and text.endswith(after + "</html>\n")
    main = text[text.index(before) + len(before) : -len(after + "</html>\n")]
    part = (FRONTEND / "pages" / f"{page}.html").read_text(encoding="utf-8")
    own = part.split("\n", 1)[1]  # the page's own part, after its title
    for name in INCLUDED:
        own = include(own, name, (FRONTEND / f"{name}.html").read_text(encoding="utf-8"))
    assert main == own
    assert main.startswith('<main id="main" tabindex="-1"') and main.count("<main") == 1
    assert before.startswith("<body data-live>\n") and before.count("<header") == 1


@pytest.mark.parametrize(
    ("page", "current"),
    [
        ("index", '<a href="/" aria-current="page"'),
        ("tickets", '<a href="/tickets" aria-current="page"'),
    ],
)
def test_the_current_page_is_marked_in_the_navigation(page: str, current: str) -> None:
    assert html(page).count(CURRENT) == 1
    assert current in html(page)


@pytest.mark.parametrize("page", ["ticket", "session", "search", "cohort", "login"])
def test_pages_outside_the_navigation_mark_none(page: str) -> None:
    assert CURRENT not in html(page)


def test_the_login_page_has_no_header_and_no_stream() -> None:
    text = html("login")
    assert "<header" not in text and "data-live" not in text
    assert '<body class="login-page">' in text and "data-login" in text


def test_a_part_without_its_title_or_with_a_stray_placeholder_is_refused(tmp_path: Path) -> None:
    for name in ("layout.html", "body.html", "status-options.html"):
        (tmp_path / name).write_text((FRONTEND / name).read_text(encoding="utf-8"))
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "login.html").write_text("<body>\n<main></main>\n</body>\n")
    with pytest.raises(ValueError, match="does not start with its <title>"):
        assemble(tmp_path, "login")
    (tmp_path / "pages" / "login.html").write_text("<title>X</title>\n<body>{{mian}}</body>\n")
    with pytest.raises(ValueError, match="placeholder"):
        assemble(tmp_path, "login")
    (tmp_path / "pages" / "index.html").write_text("<title>X</title>\n<main></main>\n")
    (tmp_path / "body.html").write_text("<body>\n{{main}}\n</body>\n")  # no navigation
    with pytest.raises(ValueError, match="no one navigation link to /"):
        assemble(tmp_path, "index")
    (tmp_path / "pages" / "login.html").write_text("<title>X</title>\n<body>\n</body>\n")
    assert assemble(tmp_path, "login").count("<title>X</title>") == 1


async def test_each_route_serves_its_assembled_page(tmp_path: Path) -> None:
    await user_command(tmp_path / "ops.db", "add", "ana")
    async with ops_in_process(tmp_path / "ops.db") as ops:
        assert (await ops.client.get("/login")).content == ASSEMBLED["login"]
        assert (await login(ops.client, "ana")).status_code == 303
        for path, page in ROUTES.items():
            response = await ops.client.get(path)
            assert response.status_code == 200, path
            assert response.content == ASSEMBLED[page], path
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            assert response.headers["cache-control"] == "no-store"


def test_the_status_choices_are_one_part_in_both_ticket_pages() -> None:
    part = (FRONTEND / "status-options.html").read_text(encoding="utf-8").splitlines()
    assert [line.split('"')[1] for line in part] == ["open", "pending", "resolved", "closed"]
    for page, indent in (("ticket", " " * 10), ("tickets", " " * 12)):
        assert "".join(f"{indent}{line}\n" for line in part) in html(page)

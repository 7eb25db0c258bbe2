"""The docs state what the code does: tables that are rules in the code are checked here."""

from __future__ import annotations

from pathlib import Path

import click

from kco_sandbox.domain.order_management.lifecycle import ALLOWED, OmAction, OmStatus

DOCS = Path(__file__).resolve().parents[1] / "docs"


def lifecycle_table() -> str:
    """The Order Management lifecycle as a Markdown table, from `om_lifecycle.ALLOWED`."""
    statuses = list(OmStatus)
    lines = [
        "| Action | " + " | ".join(s.value for s in statuses) + " |",
        "|---|" + "---|" * len(statuses),
    ]
    for action in OmAction:
        marks = ["yes" if s in ALLOWED[action] else "–" for s in statuses]  # noqa: RUF001
        lines.append(f"| `{action.value}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def test_the_order_management_lifecycle_table_is_the_codes() -> None:
    text = (DOCS / "order-management.md").read_text()
    # To regenerate: python -c "from tests.test_docs import lifecycle_table as t; print(t())"
    assert lifecycle_table() in text


def test_every_flag_of_serve_is_in_the_readme() -> None:
    from kco_sandbox.cli.serve import serve

    readme = (DOCS.parent / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `--")]
    for param in serve.params:
        if not isinstance(param, click.Option) or param.name == "help":
            continue
        flag = max(param.opts, key=len)
        row = next((r for r in rows if r.startswith(f"| `{flag}")), None)
        assert row is not None, f"{flag} has no row in the README's table of serve's flags"
        assert f"`{param.envvar}`" in row, f"{flag}: the README names another variable"


def test_every_document_the_landing_page_names_exists() -> None:
    from kco_sandbox.web.landing import DOCS as NAMED

    documents = {path.name for path in DOCS.glob("*.md")}
    assert [name for name, _ in NAMED if name.removeprefix("docs/") not in documents] == []
    # And the landing page names every document there is.
    assert documents == {name.removeprefix("docs/") for name, _ in NAMED}

"""docs/api/ is what ``make docs`` renders from the docstrings now."""

from __future__ import annotations

from tools.api_reference import OUTDIR, render


def test_the_committed_api_reference_is_current(tmp_path):
    render(tmp_path / "api")
    rendered = {
        p.relative_to(tmp_path / "api"): p.read_bytes()
        for p in (tmp_path / "api").rglob("*")
        if p.is_file()
    }
    committed = {p.relative_to(OUTDIR): p.read_bytes() for p in OUTDIR.rglob("*") if p.is_file()}
    assert sorted(rendered) == sorted(committed), "run `make docs` and commit docs/api"
    stale = [str(name) for name, body in rendered.items() if committed[name] != body]
    assert stale == [], "run `make docs` and commit docs/api"
    page = rendered[next(n for n in rendered if n.name == "constructs.html")].decode()
    assert 'id="RolloutPolicy"' in page and "Default: 10." in page

"""The committed tables and results pages are what `make tables` makes of the committed records:
generated, never edited by hand."""

import pytest

from benchmark import store
from benchmark.report import build_tables


@pytest.mark.parametrize("profile", ["quick", "standard", "spread"])
def test_committed_tables_are_regenerated_exactly(profile, tmp_path):
    build_tables(profile, store.REFERENCE_DIR / "runs", tmp_path)
    committed = store.REFERENCE_DIR / "tables" / profile
    made = sorted(p.name for p in (tmp_path / profile).iterdir())
    assert "results.md" in made and made == sorted(p.name for p in committed.iterdir())
    for name in made:
        assert (tmp_path / profile / name).read_text() == (committed / name).read_text(), name

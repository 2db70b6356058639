"""The committed tables and results pages are what `make tables` makes of the committed records:
generated, never edited by hand."""

import pandas as pd
import pytest

from benchmark import store
from benchmark.__main__ import main


@pytest.mark.parametrize("profile", ["quick", "standard", "spread"])
def test_committed_tables_are_regenerated_exactly(profile, tmp_path):
    runs = ["--runs", str(store.REFERENCE_DIR / "runs"), "--out", str(tmp_path)]
    assert main(["tables", "--profile", profile, *runs]) == 0  # the command `make tables` runs
    committed = store.REFERENCE_DIR / "tables" / profile
    made = sorted(p.name for p in (tmp_path / profile).iterdir())
    assert "results.md" in made and made == sorted(p.name for p in committed.iterdir())
    for name in made:
        new, old = tmp_path / profile / name, committed / name
        if name.endswith(".csv"):
            # Sums of floats end in other last digits on another CPU (its SIMD width changes
            # their order); every shown figure is rounded far above that.
            pd.testing.assert_frame_equal(pd.read_csv(new), pd.read_csv(old), rtol=1e-12)
        else:
            assert new.read_text() == old.read_text(), name

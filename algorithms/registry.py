"""Stand-in for the learner registry that main is writing: only what `benchmark.records` uses
(`LEARNERS[name].label` and the dict's order). Replaced by main's `algorithms/registry.py` at
merge; keep nothing else here."""

from types import SimpleNamespace

LEARNERS = {
    "bc": SimpleNamespace(label="BC"),
    "fem": SimpleNamespace(label="FEM"),
    "gtal": SimpleNamespace(label="GTAL"),
    "gail": SimpleNamespace(label="GAIL"),
}

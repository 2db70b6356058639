"""The reproduction report: cells beside the reference and the paper, with verdicts."""

from benchmark.reproduction import TOLERANCE, format_report, reproduction_table, summary
from tests.test_aggregate import PROFILE, write_run


def test_verdicts_and_summary(tmp_path):
    yours, reference = tmp_path / "yours", tmp_path / "reference"
    # cartpole: expert 500, random 20 (normalised = (R - 20) / 480)
    write_run(yours, "cartpole", "gail", 1, 0, [500.0, 500.0])
    write_run(reference, "cartpole", "gail", 1, 0, [500.0, 500.0])  # the same record
    write_run(yours, "cartpole", "bc", 1, 0, [260.0, 260.0])  # 0.50
    write_run(reference, "cartpole", "bc", 1, 0, [260.0 + 480 * (TOLERANCE - 0.01)] * 2)
    write_run(yours, "cartpole", "fem", 1, 0, [20.0, 20.0])  # 0.00
    write_run(reference, "cartpole", "fem", 1, 0, [500.0, 500.0])  # 1.00
    write_run(yours, "hopper", "gail", 4, 0, [3500.0])  # no reference cell
    write_run(reference, "hopper", "bc", 4, 0, [3500.0])
    table = reproduction_table(PROFILE, yours, reference)
    verdicts = {(r.task, r.algorithm): r.verdict for r in table.itertuples()}
    assert verdicts == {
        ("cartpole", "gail"): "identical",
        ("cartpole", "bc"): "agrees",
        ("cartpole", "fem"): "differs",
        ("hopper", "gail"): "no reference",
    }
    # The paper's cartpole n1: BC 0.28 (0.50 is not within 0.1), FEM and GAIL 1.00 (0.00: no,
    # 1.00: yes); hopper GAIL with 4 trajectories 1.01 (1.00: yes).
    assert summary(table).startswith("2 of 4 cells agree with the reference")
    assert "2 of 4 with a paper value are within 0.1 of the paper" in summary(table)
    assert format_report(PROFILE, table).count("\n| ") == 6  # header, rule and four cells

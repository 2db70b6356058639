"""The learner registry and profile settings: a new learner is one entry; settings reach the
record; bad settings and tampered files get one line."""

from dataclasses import dataclass

import pytest
import torch

from algorithms.policies import make_policy
from algorithms.registry import LEARNERS, Learner
from algorithms.rollout import env_spaces
from benchmark import store
from benchmark.__main__ import main
from benchmark.plots import build_figures
from benchmark.profiles import load_profile
from benchmark.report import build_tables
from benchmark.run import run
from benchmark.settings import build_config, defaults
from benchmark.tasks import TASKS


@dataclass(frozen=True)
class UntrainedConfig:
    iterations: int = 2
    """Iterations that do nothing."""


class Untrained:
    """A learner that never learns: its policy stays the initial one (a floor for tables)."""

    def __init__(self, task, expert, cfg: UntrainedConfig, seed: int, num_threads=None):
        obs_dim, action_space = env_spaces(task.env_id)
        torch.manual_seed(seed)
        self.policy, self.iteration = make_policy(obs_dim, action_space), 0
        self.iterations = cfg.iterations

    def iterate(self) -> dict:
        self.iteration += 1
        return {"iteration": self.iteration}

    def final_policy(self):
        return self.policy

    def state_dict(self) -> dict:
        return {"iteration": self.iteration}

    def load_state_dict(self, state: dict) -> None:
        self.iteration = state["iteration"]


def write_profile(tmp_path, text: str):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n' + text)
    return path


def test_a_learner_added_to_the_registry_runs_and_reaches_the_tables(tmp_path, monkeypatch):
    learner = Learner("untrained", "Untrained", UntrainedConfig, Untrained, group="modern")
    monkeypatch.setitem(LEARNERS, "untrained", learner)
    path = write_profile(
        tmp_path,
        '[learners.untrained]\niterations = 3\n[[grid]]\ntasks = ["cartpole"]\n'
        'algorithms = ["untrained", "bc"]\nsizes = "smallest"\nseeds = 1\n'
        "[budget.classic]\nbc_steps = 20\nbc_validate_every = 10\n",
    )
    profile = load_profile(str(path))
    runs = tmp_path / "runs"
    for spec in profile.runs():
        run(TASKS[spec.task], spec.algo, spec.n_traj, spec.seed, profile, runs, show_progress=False)
    config, evaluation = store.read_record(runs / "mine" / "cartpole" / "untrained" / "n1" / "s0")
    assert config["settings"] == {"iterations": 3} and config["label"] == "Untrained"
    assert evaluation["episodes"] == 50
    tables = build_tables("mine", runs, tmp_path / "tables")
    assert "Untrained" in (tmp_path / "tables" / "mine" / "comparison.md").read_text()
    assert set(tables["comparison"]["algorithm"]) == {"untrained", "bc"}
    assert build_figures("mine", runs, tmp_path / "figures")


def test_settings_reach_the_config_by_name_or_path(tmp_path):
    path = write_profile(
        tmp_path,
        '[learners.gail]\nreward = "log(D)"\nmax_kl = 0.02\n[learners.gail.loop]\n'
        'causal_entropy = 0.001\n[learners.loud]\nalgorithm = "gail"\nlr = 0.1\n'
        '[[grid]]\ntasks = ["hopper"]\nalgorithms = ["gail", "loud"]\n',
    )
    profile = load_profile(str(path))
    gail = profile.config("gail", TASKS["hopper"])
    assert gail.reward == "log(D)" and gail.loop.trpo.max_kl == 0.02
    assert gail.loop.causal_entropy == 0.001 and gail.loop.iterations == 500
    loud = profile.config("loud", TASKS["hopper"])
    assert loud.lr == 0.1 and loud.reward == "auto" and profile.learner("loud").name == "gail"


@pytest.mark.parametrize(
    "table, message",
    [
        ("[learners.gail]\nrewards = 1\n", "'rewards' is not a setting of GAILConfig"),
        ('[learners.gail]\nreward = "log D"\n', "reward = 'log D'; expected one of"),
        ('[learners.gail]\nlr = "fast"\n', "lr = 'fast'; expected a float"),
        ("[learners.gail]\niterations = 2.5\n", "loop.iterations = 2.5; expected a int"),
        ("[learners.other]\nlr = 0.1\n", "needs algorithm = one of"),
        ('[learners.fem]\nalgorithm = "gail"\n', "cannot be a variant of gail"),
        ('[learners.gail]\nreward_actions = "both"\n', "reward_actions = 'both'"),
        ("[learners.gail]\niterations = 0\n", "loop.iterations = 0; expected an integer of at"),
        ("[learners.gail]\npairs_per_iteration = -5\n", "pairs_per_iteration = -5; expected"),
        ("[learners.bc]\nvalidate_every = 0\n", "validate_every = 0; expected an integer of"),
        ("[learners.gail_ppo]\ndisc_updates = 0\n", "disc_updates = 0; expected an integer"),
        ("[learners.airl]\nnum_envs = 0\n", "num_envs = 0; expected an integer of at least 1"),
        ("[learners.dagger]\nsteps_per_round = 0\n", "steps_per_round = 0; expected an"),
        ("[learners.gail]\ngamma = 1.5\n", "loop.trpo.gamma = 1.5; expected a number from 0"),
        ("[learners.gail_ppo.tasks.hopper]\nlr = -0.1\n", "ppo.lr = -0.1; expected a number"),
        ("[learners.fem]\nstd_floor = 0\n", "std_floor = 0; expected a number above 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(tmp_path, capsys, table, message):
    path = write_profile(tmp_path, table)
    assert main(["reproduce", "--profile", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_every_default_is_a_setting_in_range():
    for learner in LEARNERS.values():
        settings = defaults(learner)
        budget = {name: settings[path] for name, path in learner.budget.items()}
        build_config(learner, budget, settings, f"learners.{learner.name}")


def test_a_tampered_file_is_refused_in_one_line(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    experts = tmp_path / "experts" / "cartpole"
    experts.mkdir(parents=True)
    torch.save({"algorithm": "trpo", "config": {}, "state_dict": Payload()}, experts / "expert.pt")
    code = main(
        ["expert", "evaluate", "--task", "cartpole", "--experts", str(tmp_path / "experts")]
    )
    out, err = capsys.readouterr()
    assert code == 2 and "this ran" not in out
    assert len(err.strip().splitlines()) == 1 and "refused to load it" in err

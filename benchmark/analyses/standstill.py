"""Does a run's policy walk or stand still? One episode on gymnasium: length, return, distance.

Rolls one episode of a MuJoCo run's final policy (deterministic actions, reset seeded like the
first evaluation episode: 10,000 + the run's seed) and prints its length, its return, how far
the body moved along x (`qpos[0]`) and the return's terms as the environment reports them (its
`info["reward_*"]`, summed over the episode: forward progress, control cost, survival bonus...).
A walker that stands still collects the survival bonus of every step and moves nowhere; one that
stays up while flailing pays the control cost of every step.
"""

import gymnasium as gym
import numpy as np

from benchmark.analyses import _common
from benchmark.tasks import get_task


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("standstill", __doc__)
    parser.add_argument("run", nargs="?", default="walker/fem/n11", help="task/algo/nN[/sS]")
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    name, algo, n_traj, seed, folder = _common.named_record(args, args.run)
    task = get_task(name)
    act = _common.load_policy(folder, task).actor(None)
    env = gym.make(task.env_id)
    obs, _ = env.reset(seed=10_000 + seed)
    x0 = float(env.unwrapped.data.qpos[0])
    steps, total, done = 0, 0.0, False
    terms: dict[str, float] = {}
    while not done:
        action = np.asarray(act(obs[None].astype(np.float32))).reshape(-1)
        # As every rollout of the suite does (`algorithms/rollout.py`): the simulator clamps an
        # out-of-bounds action itself, but the control cost would be charged on the raw one.
        action = np.clip(action, env.action_space.low, env.action_space.high)
        obs, reward, terminated, truncated, info = env.step(action)
        steps, total, done = steps + 1, total + float(reward), terminated or truncated
        for key, value in info.items():
            if key.startswith("reward_"):
                term = key.removeprefix("reward_")
                terms[term] = terms.get(term, 0.0) + value
    moved = float(env.unwrapped.data.qpos[0]) - x0
    env.close()
    run = f"{name}/{algo}/n{n_traj}/s{seed}"
    split = ", ".join(f"{key} {value:.1f}" for key, value in terms.items())
    print(f"{run}: {steps} steps, return {total:.1f}, moved {moved:.2f} along x; terms: {split}")

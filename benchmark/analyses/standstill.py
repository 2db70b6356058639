"""Does a run's policy walk or stand still? One episode on gymnasium: length, return, distance.

Rolls one episode of a MuJoCo run's final policy (deterministic actions, reset seeded like the
first evaluation episode: 10,000 + the run's seed) and prints its length, its return and how far
the body moved along x (`qpos[0]`). A walker that stands still collects the healthy bonus of every
step and moves nowhere.
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
    while not done:
        action = np.asarray(act(obs[None].astype(np.float32))).reshape(-1)
        obs, reward, terminated, truncated, _ = env.step(action)
        steps, total, done = steps + 1, total + float(reward), terminated or truncated
    moved = float(env.unwrapped.data.qpos[0]) - x0
    env.close()
    run = f"{name}/{algo}/n{n_traj}/s{seed}"
    print(f"{run}: {steps} steps, return {total:.1f}, moved {moved:.2f} along x")

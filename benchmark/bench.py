"""Speed benchmarks that print one JSON line (the suite's measured numbers come from here)."""

import os
import sys
import time

import gymnasium as gym
import mujoco
import numpy as np
from tqdm import tqdm

from algorithms.errors import UserInputError
from algorithms.policies import make_policy
from algorithms.rollout import Sampler, TimedActor
from benchmark.tasks import get_task


def raw_simulator_rate(env_id: str, steps: int, seed: int = 0) -> float:
    """Environment steps per second of bare MuJoCo (mj_step x frame_skip) on one core.

    Same conditions as a sampler with a fresh policy: random actions, and a reset whenever the
    task would end the episode, so the simulator sees the same kind of states (falls, contacts).
    """
    env = gym.make(env_id)
    env.reset(seed=seed)
    sim = env.unwrapped
    low, high = env.action_space.low, env.action_space.high
    controls = np.random.default_rng(seed).uniform(low, high, size=(steps, len(low)))
    time_limit = env.spec.max_episode_steps
    t_in_episode = 0
    start = time.perf_counter()
    for k in range(steps):
        sim.data.ctrl[:] = controls[k]
        mujoco.mj_step(sim.model, sim.data, nstep=sim.frame_skip)
        t_in_episode += 1
        if not getattr(sim, "is_healthy", True) or t_in_episode == time_limit:
            sim.reset_model()
            t_in_episode = 0
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def sampler_rate(sampler: Sampler, steps: int, seed: int = 0) -> float:
    """Steps per second of whole episodes collected by the suite's sampler, with the paper's
    100-100 policy acting stochastically (only steps of recorded episodes count)."""
    policy = make_policy(sampler.observation_space.shape[0], sampler.action_space)
    act = policy.actor(np.random.default_rng(seed))
    start = time.perf_counter()
    collected = sampler.collect(act, min_steps=steps).num_steps
    return collected / (time.perf_counter() - start)


def gymnasium_rate(env_id: str, num_envs: int, steps: int, seed: int = 0) -> float:
    """Steps per second of gymnasium's SyncVectorEnv in a plain loop with the same policy."""
    envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * num_envs)
    policy = make_policy(envs.single_observation_space.shape[0], envs.single_action_space)
    act = policy.actor(np.random.default_rng(seed))
    obs, _ = envs.reset(seed=seed)
    low, high = envs.single_action_space.low, envs.single_action_space.high
    start = time.perf_counter()
    for _ in range(steps // num_envs):
        obs, *_ = envs.step(np.clip(act(obs.astype(np.float32)), low, high))
    rate = (steps // num_envs) * num_envs / (time.perf_counter() - start)
    envs.close()
    return rate


def bench_rollout(task_name: str, num_envs: int, steps: int, rounds: int = 5) -> dict:
    """Medians over `rounds` rounds, each timing the three in turn: on a shared machine the
    speed drifts by tens of percent from one minute to the next, and interleaving keeps
    the ratios fair."""
    task = get_task(task_name)
    if not task.is_mujoco:
        raise UserInputError(f"bench rollout measures MuJoCo tasks; {task.name} is not one")
    cores = os.cpu_count() or 1
    raw, sampled, gymnasium = [], [], []
    with Sampler(task.env_id, num_envs=num_envs, seed=0) as sampler:
        sampler_rate(sampler, num_envs * 10)  # warm-up
        for _ in tqdm(range(rounds), desc="bench rollout", unit="round"):
            raw.append(raw_simulator_rate(task.env_id, steps // rounds // 4))
            sampled.append(sampler_rate(sampler, steps // rounds))
            gymnasium.append(gymnasium_rate(task.env_id, num_envs, steps // rounds // 4))
    raw_, sampled_, gymnasium_ = (float(np.median(x)) for x in (raw, sampled, gymnasium))
    fractions = np.array(sampled) / (cores * np.array(raw))
    return {
        "task": task.env_id,
        "cores": cores,
        "num_envs": num_envs,
        "rounds": rounds,
        "raw_steps_per_s_per_core": round(raw_),
        "sampler_steps_per_s": round(sampled_),
        "gymnasium_steps_per_s": round(gymnasium_),
        "fraction_of_limit": round(float(np.median(fractions)), 3),
        "fraction_of_limit_range": [round(float(f), 3) for f in (fractions.min(), fractions.max())],
        "speedup_vs_gymnasium": round(float(np.median(np.array(sampled) / gymnasium)), 2),
    }


class _TimedEnvs:
    """A sampler's environments, with the seconds spent in them counted and the actions sent kept
    (in synchronous mode `recv` waits for the simulator's step, so send + recv is its cost)."""

    def __init__(self, envs):
        self.envs, self.seconds, self.sent = envs, 0.0, []

    def _timed(self, call, *args):
        tick = time.perf_counter()
        out = call(*args)
        self.seconds += time.perf_counter() - tick
        return out

    def reset(self):
        return self._timed(self.envs.reset)

    def send(self, actions):
        self.sent.append(actions.copy())
        return self._timed(self.envs.send, actions)

    def recv(self):
        return self._timed(self.envs.recv)

    def close(self):
        self.envs.close()


def _replay_seconds(env_id: str, seed: int, sent: list[np.ndarray]) -> float:
    """Seconds for a bare EnvPool pool, seeded as the sampler's was, to step the same actions:
    the same states and contacts, so the same simulator work, with no suite code around it."""
    import envpool

    pool = envpool.make_gymnasium(
        env_id, num_envs=len(sent[0]), batch_size=len(sent[0]), num_threads=1, seed=seed
    )
    tick = time.perf_counter()
    pool.async_reset()
    pool.recv()
    for actions in sent:
        pool.send(actions)
        pool.recv()
    seconds = time.perf_counter() - tick
    pool.close()
    return seconds


def sampling_overhead(
    task_name: str, rounds: int = 5, seed: int = 0, policy_kind: str = "fresh"
) -> dict:
    """What the imitation loop's sampling costs against the bare simulator, as a sweep's
    single-threaded worker samples: a fresh 16-environment pool per iteration (ImitationLoop's
    way of seeding by iteration), the quick profile's pairs per iteration, the paper's 100-100
    policy acting stochastically (`policy_kind="expert"`: the committed expert instead, whose
    episodes are the ones a learner near the expert samples). The bare simulator is a plain
    EnvPool pool replaying the actions the sampler sent, so both do the same simulator work.
    Medians over rounds, each timing both, because this machine's speed drifts from minute to
    minute.

    `loop_over_bare`: the suite's own cost on the same simulated steps (the policy, the step
    log, pool creation, the final arrays). `unrecorded_fraction`: the share of simulated steps
    that no recorded episode used (environments stepping while the last recorded episodes
    finish). `per_recorded_step_over_bare` counts both. `bare_mj_step_us` is MuJoCo's own
    mj_step x frame_skip on uniform random controls, for scale."""
    from algorithms.rollout import derived_seed, env_spaces
    from benchmark.experts import load_expert
    from benchmark.profiles import load_profile

    task = get_task(task_name)
    if not task.is_mujoco:
        raise UserInputError(f"bench overhead measures MuJoCo tasks; {task.name} is not one")
    if policy_kind not in ("fresh", "expert"):
        raise UserInputError(f"unknown policy {policy_kind!r}; use fresh or expert")
    pairs = load_profile("quick").budget(task).pairs_per_iteration
    policy = load_expert(task) if policy_kind == "expert" else make_policy(*env_spaces(task.env_id))
    rows = []
    for k in tqdm(range(rounds), desc=f"bench overhead {task.name}", unit="round"):
        pool_seed = derived_seed(seed, k)
        actor = TimedActor(policy.actor(np.random.default_rng(k)))
        tick = time.perf_counter()
        with Sampler(task.env_id, 16, pool_seed, num_threads=1) as sampler:
            sampler.envs = timed = _TimedEnvs(sampler.envs)
            recorded = sampler.collect(actor, min_steps=pairs).num_steps
        policy_s = actor.seconds
        loop = time.perf_counter() - tick
        simulated = sum(len(actions) for actions in timed.sent)
        bare = _replay_seconds(task.env_id, pool_seed, timed.sent)
        rows.append(
            {
                "loop_over_bare": loop / bare,
                "per_recorded_step_over_bare": (loop / recorded) / (bare / simulated),
                "unrecorded": 1 - recorded / simulated,
                "bare_us": bare / simulated * 1e6,
                "loop_us": loop / recorded * 1e6,
                "simulator_us": timed.seconds / recorded * 1e6,
                "policy_us": policy_s / recorded * 1e6,
                "bookkeeping_us": (loop - timed.seconds - policy_s) / recorded * 1e6,
                "mj_step_us": 1e6 / raw_simulator_rate(task.env_id, pairs // 4, seed=k),
            }
        )
    median = {key: float(np.median([row[key] for row in rows])) for key in rows[0]}
    spread = [row["per_recorded_step_over_bare"] for row in rows]
    return {
        "task": task.env_id,
        "policy": policy_kind,
        "rounds": rounds,
        "pairs_per_iteration": pairs,
        "bare_mj_step_us": round(median["mj_step_us"], 1),
        "bare_envpool_us_per_step": round(median["bare_us"], 1),
        "loop_us_per_recorded_step": round(median["loop_us"], 1),
        "loop_split_us_per_recorded_step": {
            key: round(median[f"{key}_us"], 1) for key in ("simulator", "policy", "bookkeeping")
        },
        "unrecorded_fraction": round(median["unrecorded"], 3),
        "loop_over_bare": round(median["loop_over_bare"], 2),
        "per_recorded_step_over_bare": round(median["per_recorded_step_over_bare"], 2),
        "per_recorded_step_over_bare_range": [round(min(spread), 2), round(max(spread), 2)],
    }


def time_to_expert(
    task_name: str,
    n_traj: int,
    profile_name: str = "quick",
    threshold: float = 0.9,
    eval_every: int = 5,
    eval_episodes: int = 10,
    seed: int = 0,
    algo: str = "gail",
) -> dict:
    """A learner (GAIL by default) at a profile's budget, evaluated (deterministic) every few
    iterations: when does its normalised return first reach `threshold`, and where does the
    time go? Single-threaded, as a run is, so that the same seed gives the same curve on any
    machine.

    `cpu_s_to_<threshold>`: CPU seconds of this process spent training up to that evaluation,
    the evaluations' own CPU left out (they are the measurement's cost, not the learner's;
    `wall_s_to_<threshold>` keeps them in, as before). CPU time is what a busy machine changes
    least."""
    from benchmark.training import single_threaded

    with single_threaded():
        return _time_to_expert(
            task_name, n_traj, profile_name, threshold, eval_every, eval_episodes, seed, algo
        )


def _time_to_expert(
    task_name, n_traj, profile_name, threshold, eval_every, eval_episodes, seed, algo
):
    from benchmark.datasets import load_dataset
    from benchmark.experts import evaluate
    from benchmark.profiles import load_profile
    from benchmark.run import make_trainer

    task, profile = get_task(task_name), load_profile(profile_name)
    if algo not in profile.algorithms:
        raise UserInputError(f"unknown algorithm {algo!r}; known: {', '.join(profile.algorithms)}")
    dataset = load_dataset(task, profile.datasets_dir)
    cpu_start = time.process_time()
    learner = make_trainer(task, algo, dataset, n_traj, seed, profile)
    reached, curve, eval_s, eval_cpu_s = None, [], 0.0, 0.0
    split: dict[str, float] = {}
    bar = tqdm(range(learner.iterations), desc=f"{algo} {task.name} n{n_traj}", unit="iter")
    for _ in bar:
        metrics = learner.iterate()
        for key in (k for k in metrics if k.startswith("time/")):
            split[key[5:]] = split.get(key[5:], 0.0) + metrics[key]
        if learner.iteration % eval_every and learner.iteration != learner.iterations:
            continue
        tick, tick_cpu = time.perf_counter(), time.process_time()
        mean = evaluate(
            learner.final_policy(), task, eval_episodes, seed=10_000 + seed, deterministic=True
        )["mean_return"]
        eval_s += time.perf_counter() - tick
        eval_cpu_s += time.process_time() - tick_cpu
        normalized = dataset.normalize(mean)
        env_steps = metrics.get("env_steps", 0)
        curve.append((env_steps, round(normalized, 3)))
        # A measurement of an hour shows its curve as it goes, on stderr (stdout ends in JSON).
        bar.write(
            f"iteration {learner.iteration}: {env_steps:,} env steps, normalised {normalized:.3f}",
            file=sys.stderr,
        )
        if reached is None and normalized >= threshold:
            cpu_s = time.process_time() - cpu_start - eval_cpu_s
            reached = (env_steps, metrics["wall_s"] + eval_s, cpu_s)
    key = f"{threshold:g}"
    return {
        "task": task.env_id,
        "algo": algo,
        "n_traj": n_traj,
        "profile": profile.name,
        f"env_steps_to_{key}": reached[0] if reached else None,
        f"wall_s_to_{key}": round(reached[1], 1) if reached else None,
        f"cpu_s_to_{key}": round(reached[2], 1) if reached else None,
        "final_normalized_return": curve[-1][1],
        "env_steps": metrics.get("env_steps", 0),
        "wall_s": round(metrics["wall_s"] + eval_s, 1),
        "cpu_s": round(time.process_time() - cpu_start - eval_cpu_s, 1),
        "time_split_s": {k: round(v, 1) for k, v in split.items()}
        | {"evaluation_s": round(eval_s, 1)},
        "curve": curve,
    }


def rates_from_records(runs_dir) -> dict[str, dict[str, tuple[float, int]]]:
    """Per task and rate group (`Learner.rate_group`: "loop" for FEM, GTAL and GAIL, else the
    learner's name): the CPU seconds per env step of the finished runs under `runs_dir` (every
    profile), pooled (their CPU seconds over their env steps, so the long runs a sweep's cost is
    made of weigh most), and how many runs that is.

    A real run's episodes are long once its policy stands; `throughput`'s fresh policy falls within
    a few steps on Hopper, Walker2d, Ant and Humanoid, so it pays a reset every few steps and
    overstates a sweep's cost (Hopper about 2x), while it leaves out GAIL (PPO)'s and AIRL's own
    updates, which cost more than the shared loop's (their estimates were 1.2-1.6x low).
    """
    from algorithms.registry import LEARNERS
    from benchmark import store

    totals: dict[str, dict[str, list[float]]] = {}
    for folder in store.done_records(runs_dir):
        config, evaluation = store.read_record(folder)
        # Records made before the registry name their learner by `algo` only.
        learner = LEARNERS.get(config.get("learner", config.get("algo", "")))
        if learner is None or learner.rate_group is None:
            continue
        if not evaluation.get("env_steps") or "cpu_s" not in evaluation:
            continue  # early records timed wall-clock only
        task = totals.setdefault(config["task"], {})
        cpu_s, steps, runs = task.get(learner.rate_group, [0.0, 0, 0])
        task[learner.rate_group] = [
            cpu_s + evaluation["cpu_s"],
            steps + evaluation["env_steps"],
            runs + 1,
        ]
    return {
        task: {group: (cpu_s / steps, runs) for group, (cpu_s, steps, runs) in groups.items()}
        for task, groups in totals.items()
    }


def throughput(task_name: str, iterations: int = 3, bc_steps: int = 300, seed: int = 0) -> dict:
    """Seconds per env step (imitation loop, evaluation) and per BC step of one single-threaded
    run, as a sweep's worker runs it: the figures behind `make reproduce DRY_RUN=1`'s estimates.

    The loop samples the quick profile's pairs per iteration with GAIL (FEM and GTAL cost about
    the same: the reward fit is a few percent of an iteration). The first iteration is left out
    (it warms the caches).
    """
    from algorithms import bc
    from algorithms.data import Pairs
    from algorithms.gail import GAILReward
    from algorithms.imitation import ImitationLoop, LoopConfig
    from algorithms.rollout import env_spaces
    from benchmark.datasets import random_actor
    from benchmark.profiles import load_profile
    from benchmark.run import single_threaded

    task = get_task(task_name)
    # Synthetic expert pairs of the smallest dataset's size: the cost does not depend on their
    # values, and tasks without an expert yet can be measured too.
    obs_dim, action_space = env_spaces(task.env_id)
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal(
        (task.dataset_sizes[0] * task.time_limit // task.subsample_every, obs_dim)
    ).astype(np.float32)
    expert = Pairs(obs, random_actor(action_space, rng)(obs))
    pairs = load_profile("quick").budget(task).pairs_per_iteration
    loop_cfg = LoopConfig(iterations=iterations + 1, pairs_per_iteration=pairs)
    with single_threaded():
        learner = ImitationLoop(
            task.env_id,
            task.time_limit,
            task.ends_on_success,
            expert,
            GAILReward,
            loop_cfg,
            seed,
            num_threads=1,
        )
        learner.iterate()
        steps, wall = learner.env_steps, learner.wall_s
        for _ in range(iterations):
            learner.iterate()
        loop_s = (learner.wall_s - wall) / (learner.env_steps - steps)

        # Evaluation as run.py does it: 16 environments, deterministic actions.
        with Sampler(task.env_id, num_envs=16, seed=seed, num_threads=1) as sampler:
            tick = time.perf_counter()
            evaluated = sampler.collect(learner.policy.actor(None), min_episodes=16).num_steps
            eval_s = (time.perf_counter() - tick) / evaluated

        cfg = bc.BCConfig(steps=bc_steps, validate_every=bc_steps)
        tick = time.perf_counter()
        bc.train(make_policy(obs_dim, action_space), expert, cfg, np.random.default_rng(seed))
        bc_s = (time.perf_counter() - tick) / bc_steps
    return {"loop_s_per_step": loop_s, "eval_s_per_step": eval_s, "bc_s_per_step": bc_s}

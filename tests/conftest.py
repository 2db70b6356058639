import os

# One thread for torch and BLAS, as every run has: a test's time then does not depend on how busy
# the machine is, and threads do not fight the simulator's.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

# EnvPool builds float64 Box spaces that gymnasium warns about on every creation.
warnings.filterwarnings("ignore", message=".*precision lowered by casting.*")
# Tests track with the real W&B client, offline: they must never upload, whatever the key.
os.environ["WANDB_MODE"] = "offline"


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def iterations_run(monkeypatch):
    """`watch(cls)`: the `iteration` of every `cls.iterate` call from then on, in order; what
    tells a resumed run from one that started again (both end with the same record)."""

    def watch(cls) -> list[int]:
        ran, iterate = [], cls.iterate

        def counted(self):
            ran.append(self.iteration)
            return iterate(self)

        monkeypatch.setattr(cls, "iterate", counted)
        return ran

    return watch

import os
import warnings

import numpy as np
import pytest
import torch

# EnvPool builds float64 Box spaces that gymnasium warns about on every creation.
warnings.filterwarnings("ignore", message=".*precision lowered by casting.*")
# Tests track with the real W&B client, offline: they must never upload, whatever the key.
os.environ["WANDB_MODE"] = "offline"


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)

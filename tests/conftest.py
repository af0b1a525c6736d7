import numpy as np
import pytest
import torch

# Keep each xdist worker to one thread: two workers share two cores.
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return np.random.default_rng(0)

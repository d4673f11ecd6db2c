"""`precision`: fp32 on a CPU unless bf16 is asked for; bf16 refused on a CPU without native bf16;
bf16 training on a CPU that has it repeats exactly and is not the fp32 arithmetic."""

import numpy as np
import pytest
import torch

from maskutils.modeling import fit as fitting
from maskutils.modeling.models import build_cnn
from tests.modeling.test_fit import _cfg

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_auto_is_bf16_on_a_gpu_only_and_fp32_never(monkeypatch):
    monkeypatch.setattr(fitting, "cpu_has_bf16", lambda: True)
    assert not fitting.uses_bf16("auto", CPU) and fitting.uses_bf16("auto", CUDA)
    assert not fitting.uses_bf16("fp32", CPU) and not fitting.uses_bf16("fp32", CUDA)
    assert fitting.uses_bf16("bf16", CPU) and fitting.uses_bf16("bf16", CUDA)


def test_bf16_on_a_cpu_without_it_is_an_error_naming_the_key(monkeypatch):
    monkeypatch.setattr(fitting, "cpu_has_bf16", lambda: False)
    with pytest.raises(ValueError, match="precision is bf16.*no native bf16"):
        fitting.uses_bf16("bf16", CPU)
    assert not fitting.uses_bf16("auto", CPU)


def _train(precision: str):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (64, 3, 32, 32), dtype=np.uint8)
    y = np.arange(64) % 4
    torch.manual_seed(0)  # the same initial weights
    res = fitting.fit(
        build_cnn("small", 4, 32), x, y, x[:16], y[:16], _cfg(precision=precision), 4, False
    )
    return [p.detach().clone() for p in res.model.parameters()]


@pytest.mark.skipif(not fitting.cpu_has_bf16(), reason="this CPU has no native bf16")
def test_bf16_training_on_a_cpu_repeats_exactly_and_differs_from_fp32():
    a, b, fp32 = _train("bf16"), _train("bf16"), _train("fp32")
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not all(torch.equal(u, v) for u, v in zip(a, fp32))

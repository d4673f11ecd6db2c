import pytest
import torch

from maskutils.modeling.models import PRESETS, build_cnn


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("size", [32, 48, 64, 128])
def test_every_preset_at_several_sizes(preset, size):
    model = build_cnn(preset, 5, size).eval()
    assert model(torch.zeros(2, 3, size, size)).shape == (2, 5)


def test_overrides_change_the_network():
    model = build_cnn(
        "small",
        3,
        32,
        {"channels": [8, 16], "pool_after": [0], "fc": [10], "activation": "leaky_relu"},
    )
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16]
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in model.modules())


def test_params_name_the_same_presets():
    from maskutils.modeling import params

    assert set(params.PRESETS) == set(PRESETS)

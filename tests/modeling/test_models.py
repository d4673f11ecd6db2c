import pytest
import torch

from maskutils.modeling.models import BACKBONES, PRESETS, build_cnn, build_transfer, head_parameters


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


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_backbone_gets_a_new_head(name):
    model = build_transfer(name, 3).eval()
    with torch.no_grad():
        for size in (64, 96):
            assert model(torch.zeros(1, 3, size, size)).shape == (1, 3)
    heads = head_parameters(model)
    assert heads and sum(p.numel() for p in heads) < sum(p.numel() for p in model.parameters())


def test_inception_trains_with_its_aux_head():
    model = build_transfer("inception_v3", 2).train()
    out = model(torch.zeros(2, 3, 64, 64))
    assert isinstance(out, tuple) and out[0].shape == out[1].shape == (2, 2)


def test_pretrained_weights_load_from_a_local_file(tmp_path):
    import torchvision

    reference = torchvision.models.mobilenet_v3_small(weights=None)
    torch.save(reference.state_dict(), tmp_path / "w.pth")
    model = build_transfer("mobilenet_v3_small", 4, str(tmp_path / "w.pth"))
    assert torch.equal(model.features[0][0].weight, reference.features[0][0].weight)


def test_missing_pretrained_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build_transfer("resnet50", 2, str(tmp_path / "resnet50.pth"))
    assert str(tmp_path / "resnet50.pth") in str(err.value) and "Nothing is downloaded" in str(
        err.value
    )
    with pytest.raises(FileNotFoundError, match="checkpoints"):
        build_transfer("densenet121", 2, "cache")


def test_params_name_the_same_presets_and_backbones():
    from maskutils.modeling import params

    assert set(params.PRESETS) == set(PRESETS)
    assert set(params.BACKBONES) == set(BACKBONES) | {"none"}

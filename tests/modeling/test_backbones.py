import pytest
import torch
from torch.nn import functional as F

from maskutils.modeling.augment import to_float
from maskutils.modeling.backbones import BACKBONES, IMAGENET_MEAN, IMAGENET_STD, build_transfer


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_backbone_gets_a_new_head(name):
    model = build_transfer(name, 3, input_size=64).eval()
    with torch.no_grad():
        for size in (32, 64):  # any cached size in, the backbone's own side inside
            assert model(torch.zeros(1, 3, size, size)).shape == (1, 3)
    assert model.head.out_features == 3
    assert model.size == (299 if name == "inception_v3" else 64)


def test_inputs_reach_the_backbone_in_its_own_normalisation():
    model = build_transfer("mobilenet_v2", 2, input_size=40).eval()
    seen = []
    model.net.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    x = torch.randint(0, 256, (2, 3, 20, 20), dtype=torch.uint8)
    model(to_float(x))
    own = (x.float() / 255 - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(
        IMAGENET_STD
    )[:, None, None]
    expected = F.interpolate(own, size=(40, 40), mode="bilinear", align_corners=False)
    assert seen[0].shape == (2, 3, 40, 40)
    assert torch.allclose(seen[0], expected, atol=1e-5)


def test_inception_trains_with_its_aux_head():
    model = build_transfer("inception_v3", 2).train()
    out = model(torch.zeros(2, 3, 64, 64))
    assert isinstance(out, tuple) and out[0].shape == out[1].shape == (2, 2)


def test_pretrained_weights_load_from_a_local_file(tmp_path):
    import torchvision

    reference = torchvision.models.mobilenet_v3_small(weights=None)
    torch.save(reference.state_dict(), tmp_path / "w.pth")
    model = build_transfer("mobilenet_v3_small", 4, str(tmp_path / "w.pth"))
    assert torch.equal(model.net.features[0][0].weight, reference.features[0][0].weight)


def test_missing_pretrained_file_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build_transfer("resnet50", 2, str(tmp_path / "resnet50.pth"))
    assert str(tmp_path / "resnet50.pth") in str(err.value) and "Nothing is downloaded" in str(
        err.value
    )


def test_imagenet_is_refused_for_a_backbone_without_shipped_weights():
    with pytest.raises(ValueError, match="mobilenet_v2, efficientnet_lite0 only.*densenet121"):
        build_transfer("densenet121", 2, "imagenet")


def test_a_checkpoint_that_needs_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    torch.save({"w": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="evil.pth is not a plain state dict"):
        build_transfer("mobilenet_v3_small", 2, str(tmp_path / "evil.pth"))


def test_params_name_the_same_backbones():
    from maskutils.modeling import params

    assert set(params.BACKBONES) == set(BACKBONES) | {"none"}

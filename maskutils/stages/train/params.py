"""Params of the train stage (params/train.yaml): the training recipe (`modeling.params`), then
the baseline, evaluation and report (external test sets: the external stage). Defaults and
meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param, Schema, bootstrap, confidence
from maskutils.modeling.params import RECIPE
from maskutils.modeling.pretrained import SHIPPED

SCHEMA = Schema(
    "train",
    [
        *RECIPE,
        Param(
            "compare.random_init",
            True,
            "also train `transfer.backbone` from random init like the CNN (every layer at `lr`): "
            "what ImageNet pretraining buys",
        ),
        Param(
            "compare.random_init_epochs",
            4,
            "its epochs (about the compute of the pretrained model's two phases)",
            range=(1, 1000),
        ),
        Param(
            "compare.backbones",
            [],
            "more backbones trained from their shipped ImageNet weights with the transfer "
            "recipe, e.g. [efficientnet_lite0]",
            check=lambda v: isinstance(v, list) and all(b in SHIPPED for b in v),
            must=f"a list of backbones with shipped weights ({', '.join(SHIPPED)})",
        ),
        Param("baseline.enabled", True, "train the PCA + SVM baseline"),
        Param(
            "baseline.components", 60, "PCA components (randomized PCA, whitened)", range=(2, 2000)
        ),
        Param(
            "baseline.image_size",
            32,
            "images are area-downscaled to this side (px) first: the SVM's cost grows with pixels",
            range=(8, 128),
        ),
        bootstrap("evaluate.bootstrap", what="test images"),
        confidence("evaluate.confidence"),
        Param(
            "evaluate.positive",
            "no_mask",
            "binary task: the positive class for sensitivity, specificity, precision, NPV",
        ),
        Param("report.gallery", 12, "misclassified images shown", range=(1, 100)),
        Param("report.dpi", 90, "figure resolution (dots per inch)", range=(30, 300)),
    ],
)

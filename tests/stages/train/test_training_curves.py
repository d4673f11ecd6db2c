"""The train report's curves for every history the trainers write."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from maskutils.stages.train.report import training_curves  # noqa: E402


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_head_only_history_draws_what_it_has():
    # `transfer.epochs: 0`: only the head phase, which records no validation loss or accuracy
    head = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "phase": "head",
            "train_loss": [1.2, 0.8, 0.6],
            "val_macro_f1": [0.7, 0.8, 0.85],
            "best_val_macro_f1": [0.7, 0.8, 0.85],
        }
    )
    full = head.assign(val_loss=[1.3, 0.9, 0.7], train_accuracy=[0.5, 0.7, 0.8])
    fig = training_curves({"head only": head, "cnn": full})
    (loss_a, f1_a), (loss_b, f1_b) = fig.axes[0:2], fig.axes[2:4]
    assert _labels(loss_a) == ["train"]
    assert _labels(f1_a) == ["validation macro-F1"]
    assert _labels(loss_b) == ["train", "validation"]
    assert _labels(f1_b) == ["train accuracy", "validation macro-F1"]

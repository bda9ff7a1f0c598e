"""Classification figures for a results file: accuracy, precision/recall/F1 per label, a confusion matrix.

Plain Python over label lists, so the figures are the same whatever trained the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def confusion_matrix(truth: Sequence[int], predicted: Sequence[int], num_labels: int) -> list[list[int]]:
    """rows = true label, columns = predicted label.

    >>> confusion_matrix([0, 0, 1], [0, 1, 1], 2)
    [[1, 1], [0, 1]]
    """
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    matrix = [[0] * num_labels for _ in range(num_labels)]
    for t, p in zip(truth, predicted, strict=True):
        matrix[t][p] += 1
    return matrix


def classification_report(truth: Sequence[int], predicted: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-label precision/recall/F1/support, macro F1 and the confusion matrix.

    >>> report = classification_report([0, 0, 1, 1], [0, 1, 1, 1], ["neg", "pos"])
    >>> report["accuracy"], report["per_label"]["pos"]["f1"], report["macro_f1"]
    (0.75, 0.8, 0.7333)
    """
    matrix = confusion_matrix(truth, predicted, len(labels))
    per_label: dict[str, dict[str, float | int]] = {}
    for k, name in enumerate(labels):
        true_positive = matrix[k][k]
        predicted_k = sum(row[k] for row in matrix)
        support = sum(matrix[k])
        precision = true_positive / predicted_k if predicted_k else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    total = len(truth)
    correct = sum(matrix[k][k] for k in range(len(labels)))
    present = [per_label[name]["f1"] for name in labels if per_label[name]["support"]]
    return {
        "accuracy": round(correct / total, 4) if total else None,
        "macro_f1": round(sum(present) / len(present), 4) if present else None,
        "per_label": per_label,
        "labels": list(labels),
        "confusion_matrix": matrix,
        "examples": total,
    }

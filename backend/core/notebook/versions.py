"""The one place where the notebook's package versions are pinned.

Two known-good sets, because Unsloth and the CPU fallback cannot share one: Unsloth 2026.10.x caps
transformers at 5.17.0 and TRL at 1.15.0, while TRL 1.15.0 fails on CPU (its fused LM head needs
triton/CUDA) and 1.16.0 trains there. The `test` extra in pyproject.toml pins the CPU set exactly
(a test keeps the two in step), so the notebook's install cell finds everything in place in CI.
PyTorch is not installed by the notebook: Colab ships it, and elsewhere it is the user's choice of
CUDA or CPU build.
"""

from __future__ import annotations

UNSLOTH_VERSION = "2026.10.9"

# GPU runtime (Colab T4): Unsloth and the versions it accepts.
GPU_PACKAGES: dict[str, str] = {
    "unsloth": UNSLOTH_VERSION,
    "unsloth_zoo": UNSLOTH_VERSION,
    "trl": "1.15.0",
    "transformers": "5.17.0",
    "datasets": "4.3.0",
}

# No GPU or no Unsloth: transformers + PEFT + TRL on CPU, checked by executing the notebook in CI.
CPU_PACKAGES: dict[str, str] = {
    "trl": "1.16.0",
    "transformers": "5.24.0",
    "peft": "0.21.2",
    "datasets": "5.2.0",
    "accelerate": "1.15.0",
}

TORCH_VERSION = "2.13.0"  # the CPU wheel the test extra pins; the notebook itself uses what is installed


def pinned_requirements(packages: dict[str, str]) -> list[str]:
    """`name==version` lines in a stable order.

    >>> pinned_requirements({"trl": "1.16.0", "peft": "0.21.2"})
    ['peft==0.21.2', 'trl==1.16.0']
    """
    return [f"{name}=={version}" for name, version in sorted(packages.items())]

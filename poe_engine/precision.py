"""The precision of the experts' matrix products, chosen by measurement.

Machines of one kind differ: one CPU runs bfloat16 products several times faster than
float32 (AMX, AVX-512 BF16), another emulates them and runs them ~90x slower. So
`auto` never trusts a CPU's name: a short probe times the experts' own kind of product
(a batch of three (M, 256) @ (256, 256) products and a SiLU) in both precisions on the
device at hand, once per process and device. Only the experts' products change
precision; rewards, log-weights, ESS, resampling and the combination of scores stay in
float32 or float64.
"""

from __future__ import annotations

import functools
import time

import torch

from .errors import InputError

PRECISIONS = ("auto", "fp32", "bf16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# bf16 must beat fp32 by this much to be chosen: it costs some accuracy.
MIN_SPEEDUP = 1.2
# Rows of the probe's product: small on a CPU (an emulated bf16 product must not take
# long), large on a GPU (a small one measures only the kernel launch).
_PROBE_ROWS = {"cpu": 1024}
_PROBE_ROWS_ACCELERATOR = 65536
_PROBE_REPEATS = 3


def resolve_precision(name: str, device: torch.device | str) -> str:
    """'auto' | 'fp32' | 'bf16' -> 'fp32' or 'bf16' for `device`."""
    if name not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if name != "auto":
        return name
    return "bf16" if bf16_speedup(str(torch.device(device))) >= MIN_SPEEDUP else "fp32"


@functools.cache
def bf16_speedup(device: str) -> float:
    """How many times faster the experts' products run in bf16 than in fp32 on `device`
    (measured once per process). The two precisions are timed in turn, best of each, so
    that a load which comes and goes meanwhile weighs on both alike. A device where bf16
    is emulated stops the probe after one slow try, so the probe stays short (well under
    a second) everywhere."""
    fp32 = [_product_seconds(torch.float32, device)]
    bf16 = [_product_seconds(torch.bfloat16, device)]
    if bf16[0] > 2 * fp32[0]:
        return fp32[0] / bf16[0]
    for _ in range(_PROBE_REPEATS - 1):
        fp32.append(_product_seconds(torch.float32, device))
        bf16.append(_product_seconds(torch.bfloat16, device))
    return min(fp32) / min(bf16)


def _product_seconds(dtype: torch.dtype, device: str) -> float:
    """Time of one batched layer of the experts' size, after a warm-up call."""
    g = torch.Generator(device=device).manual_seed(0)
    rows = _PROBE_ROWS.get(torch.device(device).type, _PROBE_ROWS_ACCELERATOR)
    h = torch.randn(3, rows, 256, generator=g, device=device).to(dtype)
    w = torch.randn(3, 256, 256, generator=g, device=device).to(dtype) / 16
    b = torch.zeros(3, 1, 256, device=device, dtype=dtype)

    def layer() -> None:
        torch.nn.functional.silu(torch.baddbmm(b, h, w))

    layer()
    _sync(device)
    start = time.perf_counter()
    layer()
    _sync(device)
    return time.perf_counter() - start


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)

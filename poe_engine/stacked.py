"""Several axis experts evaluated as one computation (docs/speed.md: grouped evaluation).

The three axis experts read the same input (a point's xyz and the level t) through the
same architecture, so a product evaluates them together over stacked weights. The time
features are the same for every point of a level: their share of the first layer is
folded into its bias once per level instead of being concatenated to every point.

How the layers then run depends on the device, and where it matters on a measurement:

- CUDA: one batched product per layer over all experts (few kernel launches). With
  `graphs`, those launches are captured once per row count in a CUDA graph and replayed
  with new inputs: on a GPU a default level is small enough that launching kernels, not
  computing them, is most of its time.
- CPU: one product per expert per layer over chunks of points that stay in cache (there
  a batched fp32 product ran at half the speed of separate ones, and large unchunked
  batches at a third). Where oneDNN's fused linear+SiLU with prepacked weights measures
  faster than a product followed by SiLU (once per process and precision), that is used:
  the SiLU then runs on the product's output while it is still in cache. The two agree
  to rounding, not bit for bit, so a run records the path it took (`resolve_layers`, a
  configuration's `layers`) and its replay takes that path without measuring.

None of this changes what an expert computes: every layout agrees with the experts
evaluated one by one to the products' rounding (tests/test_grouped_evaluation.py).
"""

from __future__ import annotations

import functools
import logging
import time

import torch
from torch import nn

from .errors import InputError
from .experts import AxisFlowExpert, time_features
from .world import NOISE, XYZ

log = logging.getLogger(__name__)

CHUNK_ROWS = 4096  # CPU layouts: points per chunk
_PROBE_REPEATS = 5  # of `fused_layers_pay`: a few milliseconds each on a CPU
MAX_GRAPHS = 4  # CUDA: row counts captured per stack; others run without a graph
# How the CPU layers run: measured (auto), oneDNN's fused linear+SiLU, or a product then SiLU.
LAYERS = ("auto", "fused", "plain")


class AxisFlowStack:
    """Axis experts evaluated together. `dtype` is the precision of the products
    (float32 or bfloat16); velocities come back in float32.

    `fused` (CPU): True or False forces a layout, None asks `fused_layers_pay`.
    `graphs` (CUDA): capture the layers in CUDA graphs; ignored on the CPU."""

    def __init__(self, experts: list[AxisFlowExpert], dtype: torch.dtype = torch.float32,
                 fused: bool | None = None, graphs: bool = True):
        linears = [[m for m in e.net.mlp if isinstance(m, nn.Linear)] for e in experts]
        self.experts = tuple(experts)
        self.dtype = dtype
        with torch.no_grad():
            first = [layers[0] for layers in linears]
            # nn.Linear stores (out, in); products want (in, out).
            self.w_xyz = torch.stack([f.weight[:, :3].T for f in first]).to(dtype)
            self.w_time = torch.stack([f.weight[:, 3:].T for f in first]).float()
            self.b_first = torch.stack([f.bias for f in first]).float().unsqueeze(1)
            self.layers = [
                (torch.stack([ls[i].weight.T for ls in linears]).to(dtype).contiguous(),
                 torch.stack([ls[i].bias for ls in linears]).to(dtype).unsqueeze(1))
                for i in range(1, len(linears[0]))
            ]
        self.device = self.w_xyz.device
        on_cpu = self.device.type == "cpu"
        self.fused = on_cpu and (fused_layers_pay(dtype) if fused is None else bool(fused))
        self._packed = self._pack() if self.fused else None
        self.graphs = CudaGraphs(self._batched) if graphs and self.device.type == "cuda" else None
        self._bias_at: tuple[float, torch.Tensor] | None = None

    def _first_bias(self, t: float) -> torch.Tensor:
        """The first layer's bias with the time features of level t folded in: (E, 1, H)."""
        cached = self._bias_at  # read once: another thread may replace it meanwhile
        if cached is None or cached[0] != t:
            tt = torch.full((1, 1), float(t), device=self.w_time.device)
            bias = self.b_first + torch.matmul(time_features(tt), self.w_time)
            cached = self._bias_at = (t, bias.to(self.dtype))
        return cached[1]

    @torch.inference_mode()
    def velocities(self, cloud: torch.Tensor, t: float) -> torch.Tensor:
        """(..., N, 6) -> (E, ..., N, 1): each expert's velocity on its own axis."""
        xyz = cloud[..., XYZ].reshape(-1, 3)
        centred = ((xyz - NOISE.position_mean) / NOISE.position_std).to(self.dtype)
        bias = self._first_bias(t)
        if self.device.type != "cpu":
            out = (self.graphs or self._batched)(centred, bias)
        else:
            one = self._one_fused if self.fused else self._one
            out = torch.empty(len(self.experts), len(centred), 1, dtype=self.dtype)
            for start in range(0, len(centred), CHUNK_ROWS):
                rows = slice(start, start + CHUNK_ROWS)
                for e in range(len(self.experts)):
                    out[e, rows] = one(e, centred[rows], bias[e])
        return out.float().reshape(len(self.experts), *cloud.shape[:-1], 1)

    def _batched(self, centred: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = torch.baddbmm(bias, centred.expand(len(self.experts), -1, -1), self.w_xyz)
        for weight, b in self.layers:
            h = torch.baddbmm(b, torch.nn.functional.silu(h, inplace=True), weight)
        return h

    def _one(self, e: int, centred: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = torch.addmm(bias, centred, self.w_xyz[e])
        for weight, b in self.layers:
            h = torch.addmm(b[e], torch.nn.functional.silu(h, inplace=True), weight[e])
        return h

    def _pack(self) -> list[tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]]:
        """Per expert, the first layer's xyz weights and the hidden layers with their
        biases in oneDNN's layout ((out, in); the hidden ones prepacked for chunks of
        CHUNK_ROWS). The last layer (one output) stays a plain product."""
        return [(self.w_xyz[e].T.contiguous(),
                 [(_prepack(weight[e].T.contiguous()), b[e, 0].contiguous())
                  for weight, b in self.layers[:-1]])
                for e in range(len(self.experts))]

    def _one_fused(self, e: int, centred: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        w_first, hidden = self._packed[e]
        h = _linear_silu(centred, w_first, bias[0])
        for weight, b in hidden:
            h = _linear_silu(h, weight, b)
        weight, b = self.layers[-1]
        return torch.addmm(b[e], h, weight[e])


# --------------------------------------------------------------------------- CPU: fused layers


def _linear_silu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """SiLU(x @ weight.T + bias) in one oneDNN call (the op torch's own compiler emits)."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "swish", [], "")


def _prepack(weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._reorder_linear_weight(weight, CHUNK_ROWS)


def resolve_layers(name: str, device: torch.device | str, dtype: torch.dtype) -> str:
    """'auto' | 'fused' | 'plain' -> the CPU layer path a run on `device` takes: 'fused' or
    'plain'. 'auto' measures (`fused_layers_pay`); off the CPU, and where this torch has
    no fused layers, it is 'plain' (a 'fused' replay there computes a little differently:
    a warning says so)."""
    if name not in LAYERS:
        raise InputError(f"layers must be one of {', '.join(LAYERS)}, got {name!r}")
    if torch.device(device).type != "cpu":
        return "plain"
    if name == "auto":
        return "fused" if fused_layers_pay(dtype) else "plain"
    if name == "fused" and not fused_layers_available():
        log.warning("the run used oneDNN's fused layers, which this torch lacks: plain "
                    "layers instead (the numbers differ in the last digits)")
        return "plain"
    return name


def fused_layers_available() -> bool:
    """Whether this torch build has oneDNN's fused linear layers (CPU builds with mkldnn)."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


@functools.cache
def fused_layers_pay(dtype: torch.dtype) -> bool:
    """Whether oneDNN's fused linear+SiLU runs the experts' hidden layer faster than a
    product followed by SiLU on this CPU in `dtype`, and agrees with it. Measured once per
    process and precision (well under a tenth of a second); False where the op is missing
    or fails."""
    if not fused_layers_available():
        return False
    g = torch.Generator().manual_seed(0)
    x = torch.randn(CHUNK_ROWS, 256, generator=g).to(dtype)
    weight = (torch.randn(256, 256, generator=g) / 16).to(dtype)
    bias = torch.zeros(256, dtype=dtype)
    w_in_out = weight.T.contiguous()

    def plain() -> torch.Tensor:
        return torch.nn.functional.silu(torch.addmm(bias, x, w_in_out), inplace=True)

    try:
        packed = _prepack(weight)

        def fused() -> torch.Tensor:
            return _linear_silu(x, packed, bias)

        tolerance = 1e-4 if dtype == torch.float32 else 5e-2
        if not torch.allclose(fused().float(), plain().float(), atol=tolerance, rtol=tolerance):
            log.warning("oneDNN's fused layer disagrees with a plain one; not used")
            return False
        fused(), plain()  # oneDNN builds its kernels on the first calls
        # In turn, best of each: a load that comes and goes weighs on both alike.
        times = [(_seconds(plain), _seconds(fused)) for _ in range(_PROBE_REPEATS)]
    except (RuntimeError, AttributeError, NotImplementedError) as error:
        log.info("oneDNN's fused layer is not available here (%s)", error)
        return False
    return min(p for p, _ in times) > min(f for _, f in times)


def _seconds(layer) -> float:
    start = time.perf_counter()
    layer()
    return time.perf_counter() - start


# --------------------------------------------------------------------------- CUDA graphs


class CudaGraphs:
    """`layers(centred, bias)` captured once per row count as a CUDA graph and replayed.

    A graph replays the kernels it recorded on the buffers it recorded them with, so each
    call copies its inputs into those buffers and clones the output (the next replay
    overwrites it). Weights never change inside a stack: a steering change that switches
    experts uses another stack, with graphs of its own. After MAX_GRAPHS row counts, or if
    a capture fails, calls run the layers directly."""

    def __init__(self, layers):
        self.layers = layers
        self.captured: dict[int, tuple] = {}  # rows -> (graph, centred, bias, out)
        self.failed = False
        self._pool = None

    def __call__(self, centred: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        entry = self.captured.get(len(centred))
        if entry is None and not self.failed and len(self.captured) < MAX_GRAPHS:
            entry = self._capture(centred, bias)
        if entry is None:
            return self.layers(centred, bias)
        graph, static_centred, static_bias, out = entry
        static_centred.copy_(centred)
        static_bias.copy_(bias)
        graph.replay()
        return out.clone()

    def _capture(self, centred: torch.Tensor, bias: torch.Tensor):
        static_centred, static_bias = centred.clone(), bias.clone()
        try:
            # Warm up on a side stream first, as torch asks: lazy initialisations (cuBLAS
            # handles, workspaces) must not happen inside the capture.
            side = torch.cuda.Stream(device=centred.device)
            side.wait_stream(torch.cuda.current_stream(centred.device))
            with torch.cuda.stream(side):
                for _ in range(2):
                    self.layers(static_centred, static_bias)
            torch.cuda.current_stream(centred.device).wait_stream(side)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            # thread_local: the app's GUI thread may use CUDA while the sampler captures
            with torch.cuda.graph(graph, pool=self._pool, capture_error_mode="thread_local"):
                out = self.layers(static_centred, static_bias)
        except Exception as error:  # noqa: BLE001 - graphs only save time: never fail a run
            log.warning("CUDA graph capture failed, running without graphs: %s", error)
            self.failed = True
            return None
        entry = (graph, static_centred, static_bias, out)
        self.captured[len(centred)] = entry
        return entry

"""An AudioSet tagger (YAMNet) in onnxruntime: log-mel patches in, class probabilities out.

The input and output quantisation and whether the output is already a probability are read
from the model file itself (`onnx_graph`); the class names from its class map CSV, whose
length must equal the model's output width."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.media.errors import ConfigError
from pipeline.media.events.frontend import MEL_BANDS, PATCH_FRAMES
from pipeline.media.events.onnx_graph import OnnxFormatError, Quantisation, read_graph
from pipeline.media.resources import available_cores

Floats = NDArray[np.float32]


def read_class_map(path: Path) -> tuple[str, ...]:
    """Display names in output order from a CSV of `index,mid,display_name` rows."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    try:
        if [int(r["index"]) for r in rows] != list(range(len(rows))):
            raise ConfigError("The audio event class map is out of order.", detail=f"{path}: indices are not 0..n-1")
        return tuple(r["display_name"] for r in rows)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError("The audio event class map cannot be read.",
                          detail=f"{path}: needs columns index, mid, display_name ({exc})") from exc


def group_indices(names: tuple[str, ...], groups: dict[str, list[str]]) -> dict[str, NDArray[np.intp]]:
    """The class indices of each group; every name must be one of the map's."""
    where = {name: i for i, name in enumerate(names)}
    unknown = sorted({c for classes in groups.values() for c in classes if c not in where})
    if unknown:
        raise ConfigError("audio_events.groups names classes the model does not have.",
                          detail=f"{', '.join(unknown)} (names as in the class map's display_name column)")
    return {g: np.array([where[c] for c in classes], dtype=np.intp) for g, classes in groups.items()}


def event_threads(configured: int) -> int:
    """0 means half the cores this process may use: the tagger runs beside ASR and the other
    pool stages."""
    return configured or max(1, available_cores() // 2)


@dataclass(frozen=True)
class _Io:
    input_name: str
    input_type: str
    rank: int
    batch: int           # patches per run: the model's fixed batch size, 0 when free
    in_q: Quantisation | None
    out_q: Quantisation | None
    probabilities: bool  # the model ends in a sigmoid already


class Tagger:
    """Loads the model once; call it with (n, 96, 64) log-mel patches."""

    def __init__(self, onnx_path: Path, class_map: Path, threads: int):
        import onnxruntime as ort

        try:
            graph = read_graph(onnx_path)
            in_q, out_q = graph.input_quantisation(), graph.output_quantisation()
        except (OnnxFormatError, OSError) as exc:
            raise ConfigError("The audio event model cannot be read.", detail=f"{onnx_path}: {exc}") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning threads only burn cores the other stages need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ConfigError("The audio event model cannot be loaded.", detail=f"{onnx_path}: {exc}") from exc
        inp = self._session.get_inputs()[0]
        shape: list[Any] = list(inp.shape)
        if len(shape) not in (3, 4) or shape[-2:] != [PATCH_FRAMES, MEL_BANDS]:
            raise ConfigError("The audio event model does not take YAMNet log-mel patches.",
                              detail=f"input {inp.name} has shape {shape}, expected [n, 1, 96, 64]")
        self.names = read_class_map(class_map)
        width = self._session.get_outputs()[0].shape[-1]
        if width != len(self.names):
            raise ConfigError("The audio event model and its class map disagree.",
                              detail=f"{width} outputs, {len(self.names)} classes in {class_map}")
        self.io = _Io(inp.name, inp.type, len(shape), shape[0] if isinstance(shape[0], int) else 0,
                      in_q, out_q, graph.output_op() == "Sigmoid")
        self.threads = threads

    def _feed(self, x: Floats) -> NDArray[Any]:
        q = self.io.in_q
        if q is None:
            return x.astype(np.float32)
        lo, hi = (0, 255) if "uint8" in self.io.input_type else (-128, 127)
        quantised: NDArray[Any] = np.clip(np.rint(x / q.scale + q.zero_point), lo, hi)
        return quantised.astype(np.uint8 if lo == 0 else np.int8)

    def __call__(self, patches: Floats) -> Floats:
        """(n, classes) probabilities 0..1."""
        n = len(patches)
        x = patches.reshape(n, 1, PATCH_FRAMES, MEL_BANDS) if self.io.rank == 4 else patches
        step = self.io.batch or max(1, n)
        outs = [np.asarray(self._session.run(None, {self.io.input_name: self._feed(x[i:i + step])})[0])
                for i in range(0, n, step)]
        raw = (np.concatenate(outs).reshape(n, -1) if outs else np.zeros((0, len(self.names)))).astype(np.float64)
        q = self.io.out_q
        scores = q.scale * (raw - q.zero_point) if q is not None else raw
        probs = scores if self.io.probabilities else 1.0 / (1.0 + np.exp(-scores))
        out: Floats = probs.astype(np.float32)
        return out


@functools.lru_cache(maxsize=2)
def load_tagger(onnx_path: str, class_map: str, threads: int) -> Tagger:
    """Loaded once per process and kept."""
    return Tagger(Path(onnx_path), Path(class_map), threads)

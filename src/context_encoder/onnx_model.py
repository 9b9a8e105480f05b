"""Models outside Python: a generator exported to ONNX (:func:`export_onnx`) and run by
ONNX Runtime (:class:`OnnxGenerator`), which :class:`~context_encoder.inference.Inpainter`
takes in place of the PyTorch generator, so everything around it (windows, resampling,
compositing, feathering, ``auto``) is unchanged.

The graph is the generator itself, exported by PyTorch's dynamo exporter (``torch.onnx.export
(..., dynamo=True)``, opset :data:`OPSET`), weights in fp32, inside the one file. Its inputs
and output, each with a dynamic batch dimension ``batch`` (``S``: the model's image size,
in the file's metadata):

``image``   float32 ``(batch, 3, S, S)``, RGB in [-1, 1], the hole's pixels set to the mean
            colour (:data:`~context_encoder.config.MEAN_RGB`, the paper's fill)
``mask``    float32 ``(batch, 1, S, S)``, 1 in the hole, else 0 (models with any hole)
``sketch``  float32 ``(batch, 1, S, S)``, 1 on a stroke (sketch-guided models; zeros for none)
``output``  float32, the prediction in [-1, 1] (Tanh): ``(batch, 3, S, S)`` for a model with
            any hole, ``(batch, 3, S/2, S/2)`` (the center square) for the paper's center model

The file's metadata (``custom_metadata_map`` in ONNX Runtime) holds what the
``.safetensors`` export holds: ``format``, ``version``, ``step``, ``model_config`` (JSON: task,
image size, bottleneck, widths, conv, guide, refine width) and ``train_config``, plus
``inputs``, the line above for each input. Export needs the ``onnx`` extra
(``pip install "context-encoder[onnx]"``: onnx, onnxscript, onnxruntime); running needs
``onnxruntime`` only.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .checkpoint import RunConfig, load_generator, model_name
from .errors import CheckpointError, UsageError
from .io.files import atomic_path
from .runtime import usable_cores

__all__ = ["INPUTS", "ONNX_SUFFIX", "OPSET", "OnnxGenerator", "export_onnx", "input_names"]

logger = logging.getLogger(__name__)

ONNX_SUFFIX = ".onnx"
#: The ONNX opset of exported graphs (the dynamo exporter's default in torch 2.13).
OPSET = 20
#: What each input holds (also written into the file's metadata).
INPUTS = {
    "image": "float32 (batch, 3, S, S): RGB in [-1, 1], hole pixels at the mean colour",
    "mask": "float32 (batch, 1, S, S): 1 in the hole, else 0",
    "sketch": "float32 (batch, 1, S, S): 1 on a stroke to follow inside the hole",
}
_INSTALL = 'pip install "context-encoder[onnx]"'


def input_names(config: Any) -> list[str]:
    """The graph's inputs for a model config: ``image`` (center model), ``+ mask`` (any
    hole), ``+ sketch`` (sketch-guided)."""
    names = ["image"]
    if config.task == "full":
        names.append("mask")
        if config.guide == "sketch":
            names.append("sketch")
    return names


def export_onnx(src: str | os.PathLike, out: str | os.PathLike, *, which: str = "best") -> Path:
    """Export the generator of ``src`` (a shipped name, an exported ``.safetensors`` file or
    a run folder) to the ONNX file ``out`` (atomically: a failure leaves no file). Raises
    :class:`CheckpointError` when the graph cannot be exported, naming why."""
    out = Path(out)
    if out.suffix.lower() != ONNX_SUFFIX:
        raise UsageError(f"output {str(out)!r}: an ONNX model is a {ONNX_SUFFIX} file")
    try:
        import onnx  # noqa: F401  (the exporter needs onnx and onnxscript)
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise UsageError(f"ONNX export needs onnx and onnxscript: {_INSTALL} ({e})") from e
    gen, info = load_generator(src, device="cpu", which=which)
    config = info["config"]
    gen = gen.float().eval()
    s = config.image_size
    names = input_names(config)
    shapes = {"image": (2, 3, s, s), "mask": (2, 1, s, s), "sketch": (2, 1, s, s)}
    args = tuple(torch.zeros(shapes[n]) for n in names)
    batch = torch.export.Dim("batch", min=1, max=65536)
    try:
        with _quiet_exporter():
            program = torch.onnx.export(gen, args, dynamo=True, opset_version=OPSET,
                                        input_names=names, output_names=["output"],
                                        dynamic_shapes=tuple({0: batch} for _ in names),
                                        verbose=False)
    except Exception as e:  # the exporter raises many kinds; say it in one line
        raise CheckpointError(f"cannot export {model_name(src)!r} to ONNX: "
                              f"{type(e).__name__}: {str(e).splitlines()[0][:300]}") from e
    proto = program.model_proto
    meta = RunConfig(config, {}).metadata(int(info.get("step", 0)))
    meta["inputs"] = json.dumps({n: INPUTS[n] for n in names})
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_path(out) as tmp:
        Path(tmp).write_bytes(proto.SerializeToString())
    return out


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's progress lines and its warnings about packages it does not need
    (torchvision) kept off the terminal; errors still raise."""
    torch_logger = logging.getLogger("torch.onnx")
    level = torch_logger.level
    torch_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        torch_logger.setLevel(level)


class OnnxGenerator(torch.nn.Module):
    """An exported generator run by ONNX Runtime on the CPU, called like the PyTorch one:
    ``gen(x, mask=None, sketch=None)`` with tensors ``(B, C, S, S)`` in, the prediction
    out (a float32 CPU tensor). ``config``: its model config (from the file's metadata);
    ``path``; ``step``. It has no parameters: it cannot be trained or adapted."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise CheckpointError(f"running an ONNX model needs onnxruntime: {_INSTALL}") from e
        self.path = Path(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = usable_cores()
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # a corrupt or foreign file
            raise CheckpointError(f"model file {str(self.path)!r} is not a readable ONNX "
                                  f"model: {str(e).splitlines()[0][:300]}") from e
        meta = self.session.get_modelmeta().custom_metadata_map
        run, self.step = RunConfig.from_metadata(meta, repr(str(self.path)))
        self.config = run.model
        self.inputs = [i.name for i in self.session.get_inputs()]
        if self.inputs != input_names(self.config):
            raise CheckpointError(f"{str(self.path)!r}: inputs {self.inputs} do not match its "
                                  f"model config (expected {input_names(self.config)})")

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                sketch: torch.Tensor | None = None) -> torch.Tensor:
        feeds = {"image": x.detach().float().contiguous().cpu().numpy()}
        if "mask" in self.inputs:
            if mask is None:
                raise ValueError("this model needs a mask input")
            feeds["mask"] = mask.detach().float().contiguous().cpu().numpy()
        if "sketch" in self.inputs:
            feeds["sketch"] = (torch.zeros_like(mask) if sketch is None else sketch
                               ).detach().float().contiguous().cpu().numpy()
        return torch.from_numpy(self.session.run(["output"], feeds)[0])

    def extra_repr(self) -> str:
        return f"path={str(self.path)!r}, task={self.config.task!r}"

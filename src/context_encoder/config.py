"""Configuration: the model's shape and geometry, and the training options.

A model is rebuilt from its config alone: checkpoints store ``asdict(config)`` and loading
is ``Generator(ModelConfig(**d))``. The center model's geometry (the predicted square, the
blanked square inside it, the overlap ring) is derived here once, from ``image_size`` and
``overlap``; training, inference, evaluation and the losses read it from these properties.
"""

from __future__ import annotations

import math
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError
from .masks import NO_HOLE, TRAIN_MASK_KINDS, center_span

__all__ = [
    "BOTTLENECKS",
    "CONVS",
    "GUIDES",
    "IMAGE_SIZES",
    "MEAN_RGB",
    "TASKS",
    "ModelConfig",
    "TrainConfig",
    "center_span",
]

#: Dataset mean colour used by the paper to fill the hole (R, G, B of 255).
MEAN_RGB: tuple[int, int, int] = (117, 104, 123)




Task = Literal["center", "full"]
Bottleneck = Literal["fc", "conv", "channelwise"]
Conv = Literal["plain", "gated"]
Guide = Literal["none", "sketch"]
TASKS: tuple[str, ...] = typing.get_args(Task)
BOTTLENECKS: tuple[str, ...] = typing.get_args(Bottleneck)
CONVS: tuple[str, ...] = typing.get_args(Conv)
GUIDES: tuple[str, ...] = typing.get_args(Guide)
IMAGE_SIZES: tuple[int, ...] = (64, 128, 256)




def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a generator / discriminator pair.

    The defaults are the paper's 128 px center-region model: the generator reads a
    128x128 image whose central 56x56 is filled with the mean colour and predicts the
    64x64 center; a 4000-wide fully-connected bottleneck; the discriminator sees only the
    64x64 patch.

    ``task="full"`` is the arbitrary-region variant: the generator reads the masked image
    plus a mask channel and predicts the whole image; its discriminator sees the whole image.

    ``bottleneck``:
      * ``"fc"``: the paper's 4x4 -> ``bottleneck_dim`` layer, computed as a matrix multiply
        (identical outputs to the 4x4 convolution form, much faster backward pass).
      * ``"conv"``: the same layer written as a 4x4 convolution, as the original code does.
      * ``"channelwise"``: the paper's channel-wise fully-connected layer (each feature map
        connected only to itself, m*n^4 weights) followed by a 1x1 convolution; no
        ``bottleneck_dim``-wide layer, so the model is ~12x smaller.

    ``conv`` and ``guide`` (``task="full"`` only; DeepFill v2, Yu et al., ICCV 2019):
      * ``conv="gated"``: the generator's convolutions are gated (``models.layers.GatedConv``).
      * ``guide="sketch"``: the generator and the discriminator read one more input
        channel, a sketch of the lines wanted inside the hole (1 = a stroke).
    ``refine_width`` (``task="full"`` only; the project's, after DeepFill v2's coarse-to-fine
    design): 0 = the paper's single stage; more = a second, full-resolution stage of that
    width (``models.refiner``) that corrects the first one's output.
    Checkpoints written before these fields existed load with the defaults.
    """

    image_size: int = 128
    task: Task = "center"
    bottleneck: Bottleneck = "fc"
    bottleneck_dim: int = 4000
    enc_width: int = 64
    dec_width: int = 64
    disc_width: int = 64
    in_channels: int = 3
    overlap: int = 4
    conv: Conv = "plain"
    guide: Guide = "none"
    refine_width: int = 0

    def __post_init__(self) -> None:
        _check_choice("image_size", self.image_size, IMAGE_SIZES)
        _check_choice("task", self.task, TASKS)
        _check_choice("bottleneck", self.bottleneck, BOTTLENECKS)
        for name in ("bottleneck_dim", "enc_width", "dec_width", "disc_width", "in_channels"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if int(self.refine_width) < 0:
            raise ConfigError(f"refine_width must be >= 0, got {self.refine_width!r}")
        if self.refine_width and self.task != "full":
            raise ConfigError(f"refine_width={self.refine_width} is only for task='full', got "
                              f"task={self.task!r}")
        if not 0 <= self.overlap < self.image_size // 4:
            raise ConfigError(
                f"overlap must be in [0, {self.image_size // 4}), got {self.overlap}")
        for name, allowed in (("conv", CONVS), ("guide", GUIDES)):
            value = getattr(self, name)
            _check_choice(name, value, allowed)
            if value != allowed[0] and self.task != "full":
                raise ConfigError(f"{name}={value!r} is only for task='full', got "
                                  f"task={self.task!r}")

    # The center model's geometry ------------------------------------------------------
    @property
    def hole_size(self) -> int:
        """Side of the predicted center square (half the image side: 64 at 128 px)."""
        return self.image_size // 2

    @property
    def center_span(self) -> tuple[int, int]:
        """``[start, end)`` of the predicted center square on each axis (32, 96)."""
        return center_span(self.image_size)

    @property
    def blank_span(self) -> tuple[int, int]:
        """``[start, end)`` of the square blanked in the input: the predicted square less
        the ``overlap`` ring that overlaps the visible context (36, 92)."""
        return center_span(self.image_size, self.overlap)

    @property
    def blank_size(self) -> int:
        """Side of the blanked square (56 at 128 px with a 4 px overlap)."""
        start, end = self.blank_span
        return end - start

    # Shapes ------------------------------------------------------------------------------
    @property
    def output_size(self) -> int:
        return self.hole_size if self.task == "center" else self.image_size

    @property
    def num_down(self) -> int:
        """Stride-2 convolutions from the input down to the 4x4 feature map."""
        return int(math.log2(self.image_size // 4))

    @property
    def gen_in_channels(self) -> int:
        """Image, then the mask (``task="full"``), then the sketch (``guide="sketch"``)."""
        mask = 1 if self.task == "full" else 0
        return self.in_channels + mask + (1 if self.guide == "sketch" else 0)

    @property
    def disc_in_channels(self) -> int:
        """Image, then the sketch (``guide="sketch"``)."""
        return self.in_channels + (1 if self.guide == "sketch" else 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**d)


# ---------------------------------------------------------------------------------------
# Training options
# ---------------------------------------------------------------------------------------
def _opt(default: Any, help: str = "", **extra: Any) -> Any:  # noqa: A002 - argparse's word
    """A training option: its default and the help text ``context-encoder train`` shows."""
    return field(default=default, metadata={"help": help, **extra})


#: Training options whose change on --resume makes a run differ from an uninterrupted one.
REPRODUCIBILITY_KEYS = ("data", "mask", "batch_size", "lr", "g_lr_mult", "refine_lr_mult",
                        "beta1", "lambda_rec", "lambda_adv", "overlap_weight", "context_weight",
                        "seed", "load_size")


@dataclass
class TrainConfig:
    """Options of ``context-encoder train``; defaults reproduce the paper's center model.

    The paper: joint loss 0.999 / 0.001, overlap ring weighted 10x, mean-colour fill,
    Adam lr 2e-4 with beta1 0.5, batch 64, and (as the original code does when training
    jointly) a 10x learning rate for the generator (``g_lr_mult``). Every field is a
    ``--flag`` of ``context-encoder train`` (``cli=False`` ones only in config files).
    """

    data: str = _opt("facades", "'facades' (the embedded procedural dataset) or an image folder")
    val_data: str | None = _opt(None, "validation images (default: the facades val split, "
                                      "or --data)")
    init: str | None = _opt(None, "start the generator from this shipped or exported model "
                                  "(fine-tuning; the same model options are needed, except "
                                  "that a plain model can start a gated and/or guided one, "
                                  "and a single-stage one a --refine-width one)")
    mask: str = _opt("center", "hole kind; center = the paper's center model, others train "
                               "the full-image model; none = no hole, the autoencoder "
                               "baseline (with --lambda-adv 0)", choices="train_mask_kinds")
    image_size: int = _opt(128, choices=IMAGE_SIZES)
    load_size: int | None = _opt(None, "shorter side before the random crop (image folders)")
    bottleneck: str = _opt("fc", choices=BOTTLENECKS)
    bottleneck_dim: int = _opt(4000)
    width: int = _opt(64, "base channel width (paper: 64)")
    conv: str = _opt("plain", "full-image model: gated = DeepFill v2's gated convolutions "
                              "(the paper's plain ones are the default)", choices=CONVS)
    guide: str = _opt("none", "full-image model: sketch = DeepFill v2's user guidance, a "
                              "sketch input trained on edges of the hidden region",
                      choices=GUIDES)
    refine_width: int = _opt(0, "full-image model: width of a second, full-resolution "
                                "refinement stage after DeepFill v2's (0 = the paper's single "
                                "stage)")
    batch_size: int = _opt(64)
    steps: int = _opt(10_000)
    epochs: float | None = _opt(None, "train this many passes over --data instead of --steps")
    lr: float = _opt(2e-4)
    g_lr_mult: float = _opt(10.0, "generator learning rate multiplier (paper: 10)")
    refine_lr_mult: float = _opt(1.0, "--refine-width: the refinement stage's learning rate "
                                      "over the rest of the generator's (a new stage fine-tuned "
                                      "on a trained one can learn faster)")
    beta1: float = _opt(0.5)
    lambda_rec: float = _opt(0.999)
    lambda_adv: float = _opt(0.001, "adversarial weight; 0 = reconstruction only (D is then "
                                    "neither run nor trained: the paper's feature-learning "
                                    "setting)")
    overlap: int = _opt(4, "center model: px of the predicted square left visible (paper: 4)")
    overlap_weight: float = _opt(10.0)
    context_weight: float = _opt(0.1, "full-image model: L2 weight of the known pixels")
    precision: str = _opt("auto", choices="precisions")
    channels_last: bool | None = _opt(None, cli=False)
    device: str = _opt("auto", "auto, cpu, cuda or mps")
    workers: int | None = _opt(None, "data-loading processes (default: on CUDA up to 8, one "
                                     "core left per rank; else 1)")
    compile: str = _opt("none", "torch.compile G and D for the training step (for CUDA; the "
                                "first steps compile): default, reduce-overhead (adds CUDA "
                                "graphs) or max-autotune",
                        choices=("none", "default", "reduce-overhead", "max-autotune"))
    seed: int = _opt(0)
    out: str = _opt("runs/context-encoder", cli=False)
    log_every: int = _opt(50)
    check_every: int | None = _opt(None, "read the losses back from the device every N steps "
                                         "to stop on a non-finite one (default: --log-every; "
                                         "logging, validation and checkpoints check first)")
    val_every: int = _opt(500)
    ckpt_every: int = _opt(500)
    sample_every: int = _opt(500)
    keep_last: int = _opt(3)
    val_count: int = _opt(100)
    progress: bool = _opt(True, cli=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value}")
            choices = self.choices(f.name)
            if choices is not None:
                _check_choice(f.name, value, choices)
        from .runtime import check_device_name

        check_device_name(self.device)
        for name in ("batch_size", "steps", "log_every", "val_every", "ckpt_every",
                     "sample_every", "val_count"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.g_lr_mult <= 0 or self.refine_lr_mult <= 0:
            raise ConfigError("lr, g_lr_mult and refine_lr_mult must be positive, got "
                              f"{self.lr}, {self.g_lr_mult}, {self.refine_lr_mult}")
        if self.epochs is not None and self.epochs <= 0:
            raise ConfigError(f"epochs must be positive, got {self.epochs}")
        if self.check_every is not None and self.check_every < 1:
            raise ConfigError(f"check_every must be >= 1, got {self.check_every}")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"workers must be >= 0, got {self.workers}")
        if self.lambda_rec < 0 or self.lambda_adv < 0:
            raise ConfigError("lambda_rec and lambda_adv must be >= 0")
        if self.refine_lr_mult != 1.0 and not self.refine_width:
            raise ConfigError(f"refine_lr_mult={self.refine_lr_mult} sets the refinement "
                              "stage's learning rate: give --refine-width too (there is no "
                              "such stage without it)")
        if self.mask == NO_HOLE and self.lambda_adv > 0:
            raise ConfigError("mask='none' (the autoencoder) has no hole for the adversarial "
                              "loss to judge: give --lambda-adv 0")
        if not 0 <= self.beta1 < 1:
            raise ConfigError(f"beta1 must be in [0, 1), got {self.beta1}")
        defaults = {f.name: f.default for f in fields(self)}
        for name in ("conv", "guide", "refine_width"):
            if self.mask == "center" and getattr(self, name) != defaults[name]:
                raise ConfigError(f"{name}={getattr(self, name)!r} is for the full-image model: "
                                  "give a mask other than center (e.g. mixed)")
        self.model_config()  # validates image size, widths, overlap, ...

    @staticmethod
    def choices(name: str) -> tuple | None:
        """The allowed values of option ``name`` (None: any value of its type)."""
        spec = next(f for f in fields(TrainConfig) if f.name == name).metadata.get("choices")
        if spec == "train_mask_kinds":
            return TRAIN_MASK_KINDS
        if spec == "precisions":
            from .runtime import PRECISIONS

            return PRECISIONS
        return spec

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            image_size=self.image_size,
            task="center" if self.mask == "center" else "full",
            bottleneck=self.bottleneck,  # type: ignore[arg-type]
            bottleneck_dim=self.bottleneck_dim,
            enc_width=self.width,
            dec_width=self.width,
            disc_width=self.width,
            overlap=self.overlap,
            conv=self.conv,  # type: ignore[arg-type]
            guide=self.guide,  # type: ignore[arg-type]
            refine_width=self.refine_width,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> TrainConfig:
        """Options from a mapping (a config file's, a checkpoint's): unknown keys and values
        of the wrong type raise :class:`ConfigError` naming ``source`` and the key."""
        d = {str(k).replace("-", "_"): v for k, v in d.items()}
        types = typing.get_type_hints(cls)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
        values = {k: _typed(source, k, v, types[k]) for k, v in d.items()}
        try:
            return cls(**values)
        except ConfigError as e:
            raise ConfigError(f"{source}: {e}") from e

    @classmethod
    def from_file(cls, path: str | Path, base: dict[str, Any] | None = None) -> TrainConfig:
        """Options from a YAML or TOML file, over ``base`` (e.g. a resumed run's options)."""
        return cls.from_dict({**(base or {}), **read_config_file(path)}, source=str(path))


def _typed(source: str, key: str, value: Any, annotation: Any) -> Any:
    """``value`` checked against a field's annotation (ints accepted for floats)."""
    allowed = typing.get_args(annotation) or (annotation,)
    if value is None and type(None) in allowed:
        return None
    for t in allowed:
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool) and isinstance(value, t):
            return value
    names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
    raise ConfigError(f"{source}: {key} must be {names}, got {type(value).__name__} {value!r}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML (safe loader: no ``!!python`` tags) or TOML file; syntax errors
    raise :class:`ConfigError` naming the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"config file {str(path)!r}: use .yaml, .yml or .toml")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {str(path)!r} is unreadable: {e}") from e
    if suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {str(path)!r}: TOML syntax error: {e}") from e
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(
                f"config file {str(path)!r}: YAML error: {' '.join(str(e).split())}") from e
        data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of options, "
                          f"not a {type(data).__name__}")
    return data

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture
def tiny_center_config():
    from context_encoder import ModelConfig

    return ModelConfig(image_size=64, bottleneck="fc", bottleneck_dim=32, enc_width=8,
                       dec_width=8, disc_width=8)


def load_bench(name: str = "load_test"):
    """A script of bench/ as a module (the server tests use load_test's tiny model and
    in-thread server)."""
    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random full-image model file, shared by the server tests."""
    return load_bench().make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.safetensors")

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture
def tiny_center_config():
    from context_encoder import ModelConfig

    return ModelConfig(image_size=64, bottleneck="fc", bottleneck_dim=32, enc_width=8,
                       dec_width=8, disc_width=8)

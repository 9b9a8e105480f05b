import json

import pytest
import torch

from context_encoder import Discriminator, Generator, ModelConfig
from context_encoder.models import ChannelwiseFC


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_paper_parameter_counts():
    cfg = ModelConfig()
    assert n_params(Generator(cfg)) == 71_124_544
    assert n_params(Discriminator(cfg)) == 2_765_568


def test_no_biases_and_paper_init():
    g = Generator(ModelConfig(bottleneck_dim=256))
    for name, m in g.named_modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            assert m.bias is None, name
            assert abs(m.weight.std().item() - 0.02) < 0.005, name
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)):
            assert torch.all(m.bias == 0)
            assert abs(m.weight.mean().item() - 1.0) < 0.01


@pytest.mark.parametrize("size", [64, 128, 256])
@pytest.mark.parametrize("task", ["center", "full"])
@pytest.mark.parametrize("bottleneck", ["fc", "conv", "channelwise"])
def test_shapes_and_no_nans(size, task, bottleneck):
    cfg = ModelConfig(image_size=size, task=task, bottleneck=bottleneck, bottleneck_dim=16,
                      enc_width=4, dec_width=4, disc_width=4)
    g, d = Generator(cfg), Discriminator(cfg)
    x = torch.randn(2, 3, size, size)
    mask = torch.zeros(2, 1, size, size)
    y = g(x, mask) if task == "full" else g(x)
    out = size // 2 if task == "center" else size
    assert y.shape == (2, 3, out, out)
    assert torch.isfinite(y).all() and y.abs().max() <= 1
    logits = d(y)
    assert logits.shape == (2,) and torch.isfinite(logits).all()


def test_full_generator_needs_mask():
    g = Generator(ModelConfig(image_size=64, task="full", bottleneck_dim=8, enc_width=4,
                              dec_width=4))
    with pytest.raises(ValueError, match="mask"):
        g(torch.randn(1, 3, 64, 64))


@pytest.mark.parametrize("bottleneck", ["fc", "conv", "channelwise"])
def test_every_parameter_gets_a_gradient(bottleneck):
    cfg = ModelConfig(image_size=64, bottleneck=bottleneck, bottleneck_dim=16, enc_width=4,
                      dec_width=4, disc_width=4)
    g, d = Generator(cfg), Discriminator(cfg)
    loss = d(g(torch.randn(3, 3, 64, 64))).sum()
    loss.backward()
    for name, p in [*g.named_parameters(), *d.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fc_bottleneck_equals_the_4x4_convolution_form():
    torch.manual_seed(0)
    kw = dict(image_size=64, bottleneck_dim=24, enc_width=8, dec_width=8)
    conv = Generator(ModelConfig(bottleneck="conv", **kw)).eval()
    fc = Generator(ModelConfig(bottleneck="fc", **kw)).eval()
    sd = conv.state_dict()
    # Same encoder / decoder; bottleneck weights copied across layouts.
    fc.encoder.load_state_dict(conv.encoder.state_dict())
    fc.decoder.load_state_dict(conv.decoder.state_dict())
    down, up = fc.bottleneck[0], fc.bottleneck[1]
    down.load_conv_weight(sd["bottleneck.0.weight"])
    up.load_convtranspose_weight(sd["bottleneck.3.weight"])
    for src, dst in ((1, down.norm), (4, up.norm)):
        dst.load_state_dict({k[len(f"bottleneck.{src}."):]: v for k, v in sd.items()
                             if k.startswith(f"bottleneck.{src}.")})
    x = torch.randn(4, 3, 64, 64)
    torch.testing.assert_close(fc(x), conv(x), rtol=1e-4, atol=1e-5)
    # and in training mode (batch statistics), with gradients
    conv.train(), fc.train()
    torch.testing.assert_close(fc(x), conv(x), rtol=1e-4, atol=1e-5)


def test_channelwise_fc_is_a_grouped_convolution():
    torch.manual_seed(0)
    m, n = 6, 4
    layer = ChannelwiseFC(m, n)
    torch.nn.init.normal_(layer.weight)
    assert layer.weight.numel() == m * n**4
    x = torch.randn(2, m, n, n)
    conv = torch.nn.Conv2d(m, m * n * n, n, groups=m, bias=False)
    with torch.no_grad():  # (m*n*n out, 1, n, n): out j of group c reads weight[c, :, j]
        conv.weight.copy_(layer.weight.permute(0, 2, 1).reshape(m * n * n, 1, n, n))
    ref = conv(x).reshape(2, m, n, n)
    torch.testing.assert_close(layer(x), ref, rtol=1e-4, atol=1e-4)


def test_config_round_trip_and_validation(tmp_path):
    cfg = ModelConfig(image_size=256, task="full", bottleneck="channelwise")
    p = tmp_path / "cfg.json"
    p.write_text(json.dumps(cfg.to_dict()))
    again = ModelConfig.from_dict(json.loads(p.read_text()))
    assert again == cfg
    g1, g2 = Generator(cfg), Generator(again)
    g2.load_state_dict(g1.state_dict())
    with pytest.raises(ValueError, match="image_size"):
        ModelConfig(image_size=100)
    with pytest.raises(ValueError, match="bottleneck"):
        ModelConfig(bottleneck="dense")
    with pytest.raises(ValueError, match="unknown model config keys: colour"):
        ModelConfig.from_dict({"colour": 1})

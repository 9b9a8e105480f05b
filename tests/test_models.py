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


# -- DeepFill v2 options: gated convolutions, sketch guidance, warm start -----------------

def tiny_full(**kw):
    return ModelConfig(**{**dict(image_size=64, task="full", bottleneck="channelwise",
                                 bottleneck_dim=16, enc_width=4, dec_width=4, disc_width=4),
                          **kw})


def test_conv_and_guide_options_validated():
    with pytest.raises(ValueError, match="conv must be one of"):
        ModelConfig(task="full", conv="partial")
    with pytest.raises(ValueError, match="guide must be one of"):
        ModelConfig(task="full", guide="edges")
    with pytest.raises(ValueError, match="conv='gated' is only for task='full'"):
        ModelConfig(conv="gated")
    with pytest.raises(ValueError, match="guide='sketch' is only for task='full'"):
        ModelConfig(guide="sketch")
    cfg = ModelConfig(task="full", guide="sketch")
    assert (cfg.gen_in_channels, cfg.disc_in_channels) == (5, 4)
    assert (ModelConfig(task="full").gen_in_channels, ModelConfig().gen_in_channels) == (4, 3)


def test_configs_saved_before_the_options_load_with_the_defaults():
    old = ModelConfig(task="full", bottleneck="channelwise").to_dict()
    del old["conv"], old["guide"]
    cfg = ModelConfig.from_dict(old)
    assert (cfg.conv, cfg.guide) == ("plain", "none")


def _gated_count(c_in, c_out, k, norm=True):
    """conv (c_in -> 2 c_out) + gate bias + BatchNorm on the feature half."""
    return c_in * 2 * c_out * k * k + c_out + (2 * c_out if norm else 0)


def test_gated_parameter_count_from_the_formula():
    from context_encoder.models.generator import decoder_channels, encoder_channels

    cfg = tiny_full(conv="gated", guide="sketch", enc_width=8, dec_width=8)
    enc, dec, top = encoder_channels(cfg), decoder_channels(cfg), cfg.dec_width * 8
    expected = _gated_count(5, enc[0], 4, norm=False)  # RGB, mask, sketch
    expected += sum(_gated_count(a, b, 4) for a, b in zip(enc[:-1], enc[1:], strict=True))
    expected += enc[-1] * 4**4 + 2 * enc[-1]  # channel-wise FC (m n^4) + BatchNorm
    expected += _gated_count(enc[-1], top, 1)  # the 1x1 mixing convolution
    # every decoder layer reads the sketch as one more input channel
    expected += sum(_gated_count(a + 1, b, 4) for a, b in zip([top, *dec[:-1]], dec, strict=True))
    expected += (dec[-1] + 1) * 3 * 4 * 4  # plain output layer
    assert n_params(Generator(cfg)) == expected == 200_944
    # the discriminator's first convolution reads the sketch too: disc_width * 4 * 4 more
    assert n_params(Discriminator(cfg)) == n_params(Discriminator(tiny_full())) + 4 * 4 * 4


def test_shipped_width_parameter_counts():
    kw = dict(task="full", bottleneck="channelwise", enc_width=64, dec_width=64, disc_width=64)
    assert n_params(Generator(ModelConfig(**kw))) == 6_041_472
    assert n_params(Generator(ModelConfig(**kw, conv="gated"))) == 11_945_856
    # the sketch: one more input channel of the first and of every decoder layer
    assert n_params(Generator(ModelConfig(**kw, conv="gated", guide="sketch"))) == 11_964_336
    # facades-guided-128: the same with a refinement stage 16 wide (tests/test_refiner.py)
    assert n_params(Generator(ModelConfig(**kw, conv="gated", guide="sketch",
                                          refine_width=16))) == 11_964_336 + 108_560
    assert n_params(Discriminator(ModelConfig(**kw))) == 6_960_896
    assert n_params(Discriminator(ModelConfig(**kw, guide="sketch"))) == 6_960_896 + 64 * 16


def _full_batch(b=3, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    mask = (torch.rand(b, 1, size, size, generator=g) > 0.5).float()
    sketch = (torch.rand(b, 1, size, size, generator=g) > 0.8).float() * mask
    return x * (1 - mask), mask, sketch


@pytest.mark.parametrize("bottleneck", ["fc", "conv", "channelwise"])
@pytest.mark.parametrize("guide", ["none", "sketch"])
def test_gated_models_shapes_and_every_parameter_gets_a_gradient(bottleneck, guide):
    cfg = tiny_full(bottleneck=bottleneck, conv="gated", guide=guide)
    g, d = Generator(cfg), Discriminator(cfg)
    x, mask, sketch = _full_batch()
    kw = {"sketch": sketch} if guide == "sketch" else {}
    y = g(x, mask, **kw)
    assert y.shape == (3, 3, 64, 64) and torch.isfinite(y).all() and y.abs().max() <= 1
    logits = d(y, **kw)
    assert logits.shape == (3,) and torch.isfinite(logits).all()
    logits.sum().backward()
    for name, p in [*g.named_parameters(), *d.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_sketch_argument():
    x, mask, sketch = _full_batch(b=2)
    plain_g, plain_d = Generator(tiny_full()), Discriminator(tiny_full())
    with pytest.raises(ValueError, match="no sketch input"):
        plain_g(x, mask, sketch)
    with pytest.raises(ValueError, match="no sketch input"):
        plain_d(x, sketch)
    with pytest.raises(ValueError, match="no sketch input"):
        Generator(ModelConfig(image_size=64, bottleneck_dim=8, enc_width=4, dec_width=4))(
            x, sketch=sketch)
    cfg = tiny_full(conv="gated", guide="sketch")
    g, d = Generator(cfg).eval(), Discriminator(cfg).eval()
    with pytest.raises(ValueError, match=r"sketch must have shape \(B, 1, H, W\) = \(2, 1, 64, 64\)"):
        g(x, mask, sketch[:, :, :32])
    with pytest.raises(ValueError, match="sketch must have shape"):
        d(x, sketch[0])
    with torch.no_grad():
        none, empty = g(x, mask), g(x, mask, torch.zeros_like(mask))
        torch.testing.assert_close(none, empty, rtol=0, atol=0)  # no sketch = an empty one
        outside = (torch.rand_like(mask) > 0.5).float() * (1 - mask)
        torch.testing.assert_close(g(x, mask, sketch + outside), g(x, mask, sketch))  # ignored
        assert not torch.equal(g(x, mask, sketch), none)
        torch.testing.assert_close(d(x), d(x, torch.zeros_like(mask)), rtol=0, atol=0)


@pytest.mark.parametrize("conv", ["plain", "gated"])
def test_every_decoder_layer_reads_the_sketch(conv):
    """The sketch reaches the output through the decoder too, not only through the 4x4
    bottleneck: with the first layer's sketch weights zeroed, each decoder layer's own
    sketch channel still changes the output."""
    x, mask, sketch = _full_batch(b=2)
    g = Generator(tiny_full(conv=conv, guide="sketch")).eval()
    first = g.encoder[0].conv if conv == "gated" else g.encoder[0][0]
    layers = [m if isinstance(m, torch.nn.ConvTranspose2d) else m.conv if conv == "gated" else m[0]
              for m in g.decoder[:-1]]  # the up blocks' convolutions and the output layer
    with torch.no_grad():
        first.weight[:, -1] = 0
        saved = [layer.weight[-1].clone() for layer in layers]  # (in, out, k, k): sketch = in[-1]
        for layer, weight in zip(layers, saved, strict=True):
            for other in layers:
                other.weight[-1] = 0
            layer.weight[-1] = weight
            assert not torch.equal(g(x, mask, sketch), g(x, mask)), layer


def _randomise_batchnorm(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.normal_(0, 0.1, generator=g)
            m.running_var.uniform_(0.5, 2.0, generator=g)
            m.bias.data.normal_(0, 0.1, generator=g)


@pytest.mark.parametrize("bottleneck", ["fc", "conv", "channelwise"])
@pytest.mark.parametrize(("conv", "guide"), [("gated", "sketch"), ("gated", "none"),
                                             ("plain", "sketch")])
def test_warm_start_computes_the_plain_function(bottleneck, conv, guide):
    from context_encoder.models import gated_from_plain

    plain = Generator(tiny_full(bottleneck=bottleneck))
    _randomise_batchnorm(plain)
    state = {k: v.clone() for k, v in plain.state_dict().items()}
    cfg = tiny_full(bottleneck=bottleneck, conv=conv, guide=guide)
    rng_before = torch.random.get_rng_state()
    converted = gated_from_plain(state, cfg, gate=0.7)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the caller's stream kept
    warm = Generator(cfg)
    warm.load_state_dict(converted)
    x, mask, sketch = _full_batch()
    kw = {"sketch": sketch} if guide == "sketch" else {}  # zero sketch weights: no effect yet
    with torch.no_grad():
        for mode in (False, True):  # eval (running stats), then train (batch stats)
            plain.train(mode), warm.train(mode)
            torch.testing.assert_close(warm(x, mask, **kw), plain(x, mask), rtol=0, atol=1e-5)


def test_warm_start_from_the_shipped_model():
    from context_encoder.checkpoint import load_generator
    from context_encoder.models import gated_from_plain

    plain, _ = load_generator("facades-freeform-128")
    cfg = ModelConfig(**{**plain.config.to_dict(), "conv": "gated", "guide": "sketch"})
    warm = Generator(cfg)
    warm.load_state_dict(gated_from_plain(plain.state_dict(), cfg))
    warm.eval()
    x, mask, _ = _full_batch(b=4, size=128)
    with torch.no_grad():
        torch.testing.assert_close(warm(x, mask, torch.zeros_like(mask)), plain(x, mask),
                                   rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="not those of a plain model"):
        gated_from_plain(plain.state_dict(), ModelConfig(**{**cfg.to_dict(), "enc_width": 32}))
    with pytest.raises(ValueError, match=r"gate must be in \(0, 1\)"):
        gated_from_plain(plain.state_dict(), cfg, gate=1.0)


def test_discriminator_warm_start_ignores_the_sketch_at_first():
    from context_encoder.models import discriminator_from_plain

    plain = Discriminator(tiny_full()).eval()
    cfg = tiny_full(guide="sketch")
    d = Discriminator(cfg).eval()
    d.load_state_dict(discriminator_from_plain(plain.state_dict(), cfg))
    x, _, sketch = _full_batch()
    with torch.no_grad():
        torch.testing.assert_close(d(x, sketch), plain(x), rtol=0, atol=1e-6)

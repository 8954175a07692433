"""Shapes through every network, table-driven over tiny configurations."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from generator.braing3n.config import TokenizerConfig, load_config
from generator.braing3n.models import (
    BrainG3N,
    ClinicalCrossAttention,
    ClinicalEncoder,
    DualPathTokenizer,
    GenerativeDecoder,
    LatentDenoiser,
)

TINY = load_config("tiny").tokenizer
CASES = {
    "tiny": TINY,
    "single_path": dataclasses.replace(TINY, dual_path=False),
    "pooled_context": dataclasses.replace(TINY, context_pool=2),
    "no_extra_downsampling": dataclasses.replace(
        TINY,
        generative_downsample_levels=0,
        decoder_channels=(32, 16),
        decoder_attention=(True, False),
        cross_attention_levels=(True, True),
    ),
    "anisotropic": dataclasses.replace(TINY, volume_shape=(32, 48, 32)),
    "no_label_conditioning": dataclasses.replace(TINY, label_conditioning=False),
    "no_sequence_conditioning": dataclasses.replace(TINY, sequence_conditioning=False),
}


def _fractions(config: TokenizerConfig, batch: int) -> torch.Tensor | None:
    """Random label fractions on the volume grid (None when the decoder takes none)."""
    return torch.rand(batch, 4, *config.volume_shape) if config.label_conditioning else None


def _sequence(config: TokenizerConfig, batch: int) -> torch.Tensor | None:
    return torch.arange(batch) % 4 if config.sequence_conditioning else None


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("config", CASES.values(), ids=CASES.keys())
def test_tokenizer_shapes(config: TokenizerConfig) -> None:
    x = torch.rand(2, 1, *config.volume_shape)
    out = DualPathTokenizer(config)(
        x,
        fractions=_fractions(config, 2),
        sequence=_sequence(config, 2),
        drop_context=torch.tensor([True, False]),
    )
    assert out.reconstruction.shape == x.shape
    assert out.generative.shape == (2, config.generative_embedding_dim, *config.latent_shape)
    if config.dual_path:
        assert out.clinical.shape == (2, config.clinical_embedding_dim, *config.clinical_shape)
    else:
        assert out.clinical is None
    assert out.vq_loss.ndim == 0


@pytest.mark.parametrize("config", CASES.values(), ids=CASES.keys())
def test_encoder_and_decoder_shapes(config: TokenizerConfig) -> None:
    features = ClinicalEncoder(config)(torch.rand(1, 1, *config.volume_shape))
    assert features.shape == (1, config.encoder_channels[-1], *config.clinical_shape)
    decoder = GenerativeDecoder(config)
    z = torch.rand(1, config.generative_embedding_dim, *config.latent_shape)
    context = torch.rand(1, 10, config.clinical_embedding_dim) if config.dual_path else None
    shape = (1, 2, 5) if config.dual_path else None
    image = decoder(z, context, shape, _fractions(config, 1), _sequence(config, 1))
    assert image.shape == (1, 1, *config.volume_shape)


def test_label_conditioned_decoder_needs_and_reads_the_label_map() -> None:
    """The label map reaches the full-resolution output: moving a tumour moves the change."""
    config = dataclasses.replace(TINY, dual_path=False, sequence_conditioning=False)
    decoder = GenerativeDecoder(config).eval()
    z = torch.rand(1, config.generative_embedding_dim, *config.latent_shape)
    with pytest.raises(ValueError, match="fractions: the label-conditioned decoder"):
        decoder(z)
    brain = torch.zeros(1, 4, *config.volume_shape)
    brain[:, 0] = 1.0
    tumour = brain.clone()
    tumour[:, 3, 4:8, 4:8, 4:8] = 1.0  # enhancing tumour in one corner
    with torch.no_grad():
        change = (decoder(z, fractions=tumour) - decoder(z, fractions=brain)).abs()[0, 0]
    assert change[4:8, 4:8, 4:8].mean() > 5 * change[20:, 20:, 20:].mean()


def test_dual_path_decoder_needs_clinical_tokens() -> None:
    z = torch.rand(1, TINY.generative_embedding_dim, *TINY.latent_shape)
    with pytest.raises(ValueError, match="needs clinical tokens"):
        GenerativeDecoder(TINY)(z, fractions=_fractions(TINY, 1), sequence=_sequence(TINY, 1))


def test_cross_attention_reads_the_clinical_tokens() -> None:
    block = ClinicalCrossAttention(32, 16, num_heads=2, norm_groups=8)
    x = torch.rand(1, 32, 4, 4, 4)
    a = block(x, torch.rand(1, 64, 16), (4, 4, 4))
    b = block(x, torch.rand(1, 64, 16), (4, 4, 4))
    assert a.shape == x.shape
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("name", ["tiny", "single_path_tiny"])
def test_denoiser_shapes(name: str) -> None:
    config = load_config(name)
    denoiser = LatentDenoiser(config.diffusion, config.tokenizer.generative_embedding_dim)
    z = torch.randn(2, config.tokenizer.generative_embedding_dim, *config.tokenizer.latent_shape)
    eps = denoiser(
        z,
        torch.tensor([0, 999]),
        torch.rand(2, 4, *config.tokenizer.latent_shape),
        torch.tensor([0, 3]),
        torch.randn(2, 3),
    )
    assert eps.shape == z.shape


def test_denoiser_depends_on_sequence_and_covariates() -> None:
    config = load_config("tiny")
    torch.manual_seed(0)
    denoiser = LatentDenoiser(config.diffusion, 16).eval()
    with torch.no_grad():  # MONAI zero-initialises output layers; give every weight a value
        for p in denoiser.parameters():
            p.normal_(0.0, 0.05)
    z = torch.randn(1, 16, 8, 8, 8)
    cond = torch.rand(1, 4, 8, 8, 8)
    t = torch.tensor([500])
    base = denoiser(z, t, cond, torch.tensor([0]), torch.zeros(1, 3))
    assert not torch.allclose(base, denoiser(z, t, cond, torch.tensor([2]), torch.zeros(1, 3)))
    assert not torch.allclose(base, denoiser(z, t, cond, torch.tensor([0]), torch.ones(1, 3)))
    assert not torch.allclose(base, denoiser(z, t, cond * 0, torch.tensor([0]), torch.zeros(1, 3)))


def test_tiny_model_is_small() -> None:
    assert BrainG3N(load_config("tiny")).num_parameters() < 5_000_000  # <= 20 MB as float32


def test_dead_codes_are_reseeded_from_the_batch_in_training_only() -> None:
    from generator.braing3n.models.quantizer import RestartingEMAQuantizer

    quantizer = RestartingEMAQuantizer(
        3, num_embeddings=8, embedding_dim=4, embedding_init="kaiming_uniform", ddp_sync=False
    )
    inputs = torch.randn(1, 4, 4, 4, 4) + 10.0  # far from every initial code
    quantizer.eval()
    before = quantizer.embedding.weight.clone()
    quantizer(inputs)
    assert torch.equal(before, quantizer.embedding.weight)
    quantizer.train()
    quantizer(inputs)
    codes = quantizer.embedding.weight
    flat = inputs.permute(0, 2, 3, 4, 1).reshape(-1, 4)
    # every code is now (a copy of) some input vector or its EMA: all sit near the data
    assert float(codes.mean()) > 5.0
    assert any(torch.equal(codes[k], row) for k in range(8) for row in flat)
    assert int(quantizer.restart_step) == 1


def test_sequence_conditioned_decoder_needs_and_reads_the_sequence() -> None:
    config = dataclasses.replace(TINY, dual_path=False)
    decoder = GenerativeDecoder(config).eval()
    z = torch.rand(1, config.generative_embedding_dim, *config.latent_shape)
    fractions = _fractions(config, 1)
    with pytest.raises(ValueError, match="sequence: the sequence-conditioned decoder"):
        decoder(z, fractions=fractions)
    with torch.no_grad():
        for film in decoder.sequence_film:  # trained embeddings are not zero
            film.weight.normal_(0.0, 0.5)
        t1n, t2f = (decoder(z, fractions=fractions, sequence=torch.tensor([q])) for q in (0, 3))
    assert not torch.allclose(t1n, t2f)

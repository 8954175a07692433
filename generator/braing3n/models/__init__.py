"""BrainG3N networks, one per file (as in MONAI ``networks/nets`` and diffusers ``models``)."""

from generator.braing3n.models.braing3n import BrainG3N
from generator.braing3n.models.clinical_encoder import ClinicalEncoder
from generator.braing3n.models.cross_attention import ClinicalCrossAttention
from generator.braing3n.models.generative_decoder import GenerativeDecoder
from generator.braing3n.models.latent_denoiser import ConditionEncoder, LatentDenoiser
from generator.braing3n.models.tokenizer import DualPathTokenizer, TokenizerOutput

__all__ = [
    "BrainG3N",
    "ClinicalCrossAttention",
    "ClinicalEncoder",
    "ConditionEncoder",
    "DualPathTokenizer",
    "GenerativeDecoder",
    "LatentDenoiser",
    "TokenizerOutput",
]

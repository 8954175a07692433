"""Shared fixtures for the generator tests: MNI152 anatomy at 2 mm and spherical tumours."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from generator.corpus import TemplateAnatomy, load_mni152_anatomy


def spherical_tumour(
    anatomy: TemplateAnatomy,
    centre_mm: tuple[float, float, float],
    radius_mm: float,
    *,
    necrosis_ratio: float = 0.4,
    enhancing_ratio: float = 1.0,
    oedema_ratio: float = 1.6,
) -> np.ndarray:
    """Concentric BraTS labels around a world-space centre: 1 core, 3 rim, 2 oedema shell."""
    shape = anatomy.brain_mask.shape
    ijk = np.indices(shape, dtype=np.float32).reshape(3, -1)
    xyz = anatomy.affine[:3, :3] @ ijk + anatomy.affine[:3, 3:4]
    r_mm = np.linalg.norm(xyz - np.asarray(centre_mm)[:, None], axis=0).reshape(shape)
    labels = np.zeros(shape, dtype=np.uint8)
    labels[r_mm < radius_mm * oedema_ratio] = 2
    labels[r_mm < radius_mm * enhancing_ratio] = 3
    labels[r_mm < radius_mm * necrosis_ratio] = 1
    labels[~anatomy.brain_mask] = 0
    return labels


#: Deep right-hemisphere white matter (centrum semiovale) and a left frontal site, MNI mm.
RIGHT_WM_MM = (28.0, -10.0, 28.0)
LEFT_FRONTAL_MM = (-30.0, 30.0, 10.0)


@pytest.fixture(scope="session")
def spherical() -> Callable[..., np.ndarray]:
    """``spherical(anatomy, centre_mm, radius_mm, ...)`` on any anatomy's grid."""
    return spherical_tumour


@pytest.fixture(scope="session")
def sites() -> dict[str, tuple[float, float, float]]:
    return {"right_wm": RIGHT_WM_MM, "left_frontal": LEFT_FRONTAL_MM}


@pytest.fixture(scope="session")
def anatomy() -> TemplateAnatomy:
    return load_mni152_anatomy(2)


@pytest.fixture(scope="session")
def make_tumour(anatomy: TemplateAnatomy) -> Callable[..., np.ndarray]:
    def make(centre_mm=RIGHT_WM_MM, radius_mm: float = 12.0, **kwargs) -> np.ndarray:
        return spherical_tumour(anatomy, centre_mm, radius_mm, **kwargs)

    return make


@pytest.fixture(scope="session")
def tumour(make_tumour) -> np.ndarray:
    return make_tumour()


@pytest.fixture(scope="session")
def no_tumour(anatomy: TemplateAnatomy) -> np.ndarray:
    return np.zeros(anatomy.brain_mask.shape, dtype=np.uint8)

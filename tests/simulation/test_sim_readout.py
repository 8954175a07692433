import numpy as np
import pytest

from simulation.readout import (
    ENHANCING,
    NECROSIS,
    label_map,
    measure_lesions,
    sum_of_products_mm2,
    volumes,
)


def ellipse(shape, centre, a, b, z_range):
    x, y = np.ogrid[: shape[0], : shape[1]]
    disc = ((x - centre[0]) / a) ** 2 + ((y - centre[1]) / b) ** 2 <= 1
    labels = np.zeros(shape, np.uint8)
    for z in z_range:
        labels[:, :, z][disc] = ENHANCING
    return labels


def test_label_map_thresholds_and_priorities():
    visible = np.array([0.1, 0.2, 0.85, 0.99, 0.5], np.float32).reshape(5, 1, 1)
    necrosis = np.array([0, 0, 0, 1, 0], np.uint8).reshape(5, 1, 1)
    labels = label_map(visible, necrosis, enhancing_density=0.8, flair_density=0.16)
    assert labels.ravel().tolist() == [0, 2, 3, 1, 2]


def test_volumes_in_ml():
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[:5, :5, :5] = ENHANCING  # 125 voxels of 8 mm^3 = 1 mL
    labels[5, 5, 5] = NECROSIS
    vol = volumes(labels, 2.0)
    assert vol.enhancing_ml == pytest.approx(1.0)
    assert vol.necrosis_ml == pytest.approx(0.008)
    assert vol.edema_ml == 0


def test_bidimensional_measurement_of_an_ellipse():
    labels = ellipse((80, 80, 5), (40, 40), 15, 8, range(1, 4))
    lesions = measure_lesions(labels, 1.0)
    assert len(lesions) == 1
    lesion = lesions[0]
    assert lesion.longest_mm == pytest.approx(31, abs=1.5)
    assert lesion.perpendicular_mm == pytest.approx(17, abs=1.5)


def test_spd_counts_only_measurable_lesions_and_at_most_five():
    labels = np.zeros((200, 200, 3), np.uint8)
    for n in range(7):
        labels += ellipse((200, 200, 3), (20 + 25 * n, 100), 8, 8, [1])
    labels += ellipse((200, 200, 3), (100, 180), 3, 3, [1])  # 7 mm: not measurable
    lesions = measure_lesions(labels, 1.0)
    assert len(lesions) == 8
    spd = sum_of_products_mm2(lesions, measurable_mm=10, max_lesions=5)
    assert spd == pytest.approx(5 * lesions[0].product_mm2, rel=0.01)


def test_necrotic_core_is_measured_with_its_enhancing_rim_but_not_alone():
    labels = ellipse((60, 60, 3), (30, 30), 10, 10, [1])
    core = ellipse((60, 60, 3), (30, 30), 6, 6, [1]) > 0
    labels[core] = NECROSIS
    lesions = measure_lesions(labels, 1.0)
    assert lesions[0].longest_mm == pytest.approx(21, abs=1.5)
    only_necrosis = np.where(labels == NECROSIS, NECROSIS, 0).astype(np.uint8)
    assert measure_lesions(only_necrosis, 1.0) == []

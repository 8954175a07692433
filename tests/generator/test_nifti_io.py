"""NIfTI writing and reading: headers, deterministic bytes, BraTS names, corrupt files."""

from __future__ import annotations

import gzip
import hashlib

import nibabel as nib
import numpy as np
import pytest

from generator.engine import GeneratorInputError
from generator.nifti import (
    NiftiReadError,
    brats_case_id,
    brats_filename,
    read_segmentation,
    read_volume,
    write_segmentation,
    write_volume,
)

AFFINE = np.array([[2.0, 0, 0, -98.0], [0, 2.0, 0, -134.0], [0, 0, 2.0, -72.0], [0, 0, 0, 1.0]])


@pytest.fixture
def volume() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((12, 14, 10)) * 3000.0).astype(np.float32)


@pytest.fixture
def labels() -> np.ndarray:
    out = np.zeros((12, 14, 10), dtype=np.uint8)
    out[3:8, 3:8, 3:8] = 2
    out[4:7, 4:7, 4:7] = 3
    out[5, 5, 5] = 1
    return out


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_volume_header_is_int16_scaled_ras_with_units_and_text(tmp_path, volume):
    path = write_volume(
        tmp_path / "a.nii.gz", volume, AFFINE, description="physics 1.0.0 t1n", aux_file="t1n"
    )
    img = nib.load(path)
    header = img.header
    assert header.get_data_dtype() == np.int16
    slope, inter = img.dataobj.slope, img.dataobj.inter  # nibabel moves them off the header
    assert inter == 0.0
    assert np.log2(slope) == np.round(np.log2(slope))  # a power of two
    assert np.abs(volume).max() / slope <= 32767
    assert np.allclose(img.get_fdata(), volume, atol=slope / 2 + 1e-6)
    assert np.allclose(img.affine, AFFINE)
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    assert int(header["sform_code"]) == 1 and int(header["qform_code"]) == 1
    assert header.get_xyzt_units() == ("mm", "sec")
    assert header["descrip"].item() == b"physics 1.0.0 t1n"
    assert header["aux_file"].item() == b"t1n"
    assert float(header["cal_max"]) == pytest.approx(float(volume.max()))


def test_mni_space_sets_xform_code_4(tmp_path, volume):
    img = nib.load(
        write_volume(tmp_path / "a.nii.gz", volume, AFFINE, description="x", space="mni")
    )
    assert int(img.header["sform_code"]) == 4 and int(img.header["qform_code"]) == 4


def test_segmentation_is_uint8_label_intent(tmp_path, labels):
    path = write_segmentation(tmp_path / "seg.nii.gz", labels, AFFINE)
    img = nib.load(path)
    assert img.header.get_data_dtype() == np.uint8
    assert img.header.get_intent()[0] == "label"
    assert np.array_equal(np.asarray(img.dataobj), labels)
    assert int(img.header["sform_code"]) == 1


def test_same_array_gives_the_same_bytes_and_gzip_has_no_timestamp_or_name(tmp_path, volume):
    a = write_volume(tmp_path / "a.nii.gz", volume, AFFINE, description="x")
    b = write_volume(tmp_path / "sub" / "b.nii.gz", volume, AFFINE, description="x")
    assert _sha(a) == _sha(b)
    raw = a.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\x00\x00\x00\x00"  # MTIME = 0
    assert raw[3] & 0x08 == 0  # no FNAME field
    assert gzip.decompress(raw)[344:348] == b"n+1\x00"


def test_writing_leaves_no_temporary_files(tmp_path, volume):
    write_volume(tmp_path / "a.nii.gz", volume, AFFINE, description="x")
    assert [p.name for p in tmp_path.iterdir()] == ["a.nii.gz"]


def test_rejected_volume_writes_nothing(tmp_path, volume):
    volume[0, 0, 0] = np.nan
    with pytest.raises(GeneratorInputError, match=r"a\.nii\.gz: volume contains NaN"):
        write_volume(tmp_path / "a.nii.gz", volume, AFFINE, description="x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"description": "x" * 81}, r"description: 81 bytes, NIfTI allows at most 80"),
        ({"description": "x", "aux_file": "y" * 25}, r"aux_file: 25 bytes"),
        ({"description": "x", "space": "talairach"}, r"space: 'talairach'"),
    ],
)
def test_header_text_and_space_are_checked(tmp_path, volume, kwargs, message):
    with pytest.raises(GeneratorInputError, match=message):
        write_volume(tmp_path / "a.nii.gz", volume, AFFINE, **kwargs)


def test_output_must_be_nii_gz(tmp_path, volume):
    with pytest.raises(GeneratorInputError, match=r"a\.nii: output file name must end"):
        write_volume(tmp_path / "a.nii", volume, AFFINE, description="x")


def test_segmentation_rejects_non_brats_values(tmp_path, labels):
    labels[0, 0, 0] = 4
    with pytest.raises(GeneratorInputError, match=r"seg\.nii\.gz: values \[4\]"):
        write_segmentation(tmp_path / "seg.nii.gz", labels, AFFINE)


def test_round_trip_through_read_volume_and_read_segmentation(tmp_path, volume, labels):
    vol = read_volume(write_volume(tmp_path / "a.nii.gz", volume, AFFINE, description="x"))
    assert vol.data.dtype == np.float32
    assert np.allclose(vol.data, volume, atol=0.125 / 2 + 1e-4)  # half the slope for 3000
    assert np.allclose(vol.affine, AFFINE)
    seg = read_segmentation(write_segmentation(tmp_path / "s.nii.gz", labels, AFFINE))
    assert seg.data.dtype == np.uint8 and np.array_equal(seg.data, labels)


def test_truncated_gzip_is_a_clear_error_naming_the_file(tmp_path, volume):
    path = write_volume(tmp_path / "a.nii.gz", volume, AFFINE, description="x")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(NiftiReadError, match=rf"{path}: corrupt or truncated NIfTI"):
        read_volume(path)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.nii.gz"
    path.write_bytes(b"this is not a nifti file at all" * 20)
    with pytest.raises(NiftiReadError, match=r"junk\.nii\.gz: corrupt or truncated"):
        read_volume(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(NiftiReadError, match=r"nope\.nii\.gz: file not found"):
        read_volume(tmp_path / "nope.nii.gz")


def test_segmentation_reader_rejects_brats_2021_label_4(tmp_path, labels):
    labels[labels == 3] = 4
    path = tmp_path / "old.nii.gz"
    nib.save(nib.Nifti1Image(labels, AFFINE), path)
    with pytest.raises(NiftiReadError, match=r"old\.nii\.gz: values \[4\] are not BraTS 2023"):
        read_segmentation(path)


def test_brats_file_names():
    assert brats_case_id(1, 0) == "BraTS-GLI-00001-000"
    assert brats_filename(1, 0, "t1n") == "BraTS-GLI-00001-000-t1n.nii.gz"
    assert brats_filename(123, 4, "t2f") == "BraTS-GLI-00123-004-t2f.nii.gz"
    assert brats_filename(99999, 999, "seg") == "BraTS-GLI-99999-999-seg.nii.gz"
    for sequence in ("t1c", "t2w"):
        assert brats_filename(7, 1, sequence).endswith(f"-{sequence}.nii.gz")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 0, "flair"), r"sequence: unknown 'flair'"),
        ((100000, 0, "t1n"), r"subject: 100000 outside"),
        ((1, 1000, "t1n"), r"visit: 1000 outside"),
        (("00001", 0, "t1n"), r"subject: BraTS subject number must be an int"),
    ],
)
def test_bad_brats_name_parts_are_rejected(args, message):
    with pytest.raises(GeneratorInputError, match=message):
        brats_filename(*args)

"""HTTP Range parsing and responses for volume streaming (RFC 9110 §14)."""

import pytest

from imaging.streaming import UnsatisfiableRange, file_response, parse_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("items=0-5", None),  # another unit: ignored, the whole file is sent
    ],
)
def test_satisfiable_ranges(header, expected):
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=5-4", "bytes=-0", "bytes=-", "bytes=0-1,5-6", "bytes=abc"]
)
def test_unsatisfiable_ranges(header):
    with pytest.raises(UnsatisfiableRange):
        parse_range(header, SIZE)


def test_responses_whole_partial_and_416(tmp_path):
    path = tmp_path / "v.nii.gz"
    data = bytes(range(256)) * 4
    path.write_bytes(data)
    whole = file_response(
        path,
        range_header=None,
        content_type="application/gzip",
        filename="v.nii.gz",
        sha256="ab" * 32,
    )
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == data
    assert whole["ETag"] == f'"{"ab" * 32}"' and whole["Accept-Ranges"] == "bytes"
    part = file_response(
        path, range_header="bytes=1000-", content_type="application/gzip", filename="v.nii.gz"
    )
    assert part.status_code == 206 and part["Content-Range"] == "bytes 1000-1023/1024"
    assert b"".join(part.streaming_content) == data[1000:]
    bad = file_response(
        path, range_header="bytes=2000-", content_type="application/gzip", filename="v.nii.gz"
    )
    assert bad.status_code == 416 and bad["Content-Range"] == "bytes */1024"


@pytest.mark.django_db
def test_the_api_streams_a_cached_volume_to_its_organisation_only(
    stored_run, designer_api, api_as, foreign_designer, settings, tmp_path
):
    from imaging.models import Volume

    settings.MEDIA_ROOT = tmp_path
    subject = stored_run.subjects.get(subject_index=0)
    (tmp_path / "t2f.nii.gz").write_bytes(b"\x1f\x8b" + b"x" * 500)
    Volume.objects.create(
        subject=subject,
        visit=1,
        sequence="t2f",
        engine="physics",
        status="ready",
        path="t2f.nii.gz",
        sha256="c" * 64,
        size_bytes=502,
    )
    url = f"/api/v1/subjects/{subject.pk}/visits/1/volumes/t2f/"
    part = designer_api.get(url, HTTP_RANGE="bytes=0-1")
    assert part.status_code == 206 and b"".join(part.streaming_content) == b"\x1f\x8b"
    assert designer_api.get(url, HTTP_RANGE="bytes=600-").status_code == 416
    assert api_as(foreign_designer).get(url).status_code == 404
    assert (
        designer_api.get(f"/api/v1/subjects/{subject.pk}/visits/99/volumes/t2f/").status_code == 404
    )
    assert (
        designer_api.get(f"/api/v1/subjects/{subject.pk}/visits/1/volumes/dwi/").status_code == 404
    )
    assert designer_api.get(url, {"engine": "magic"}).status_code == 400


@pytest.mark.django_db
def test_a_first_request_queues_the_rendering_once_and_answers_202(stored_run, designer_api):
    from imaging.models import Volume

    subject = stored_run.subjects.get(subject_index=0)
    url = f"/api/v1/subjects/{subject.pk}/visits/0/volumes/t1n/"
    first = designer_api.get(url)
    second = designer_api.get(url)
    assert first.status_code == second.status_code == 202
    assert first["Retry-After"] and first.json()["status"] == "pending"
    assert Volume.objects.filter(subject=subject, visit=0, sequence="t1n").count() == 1

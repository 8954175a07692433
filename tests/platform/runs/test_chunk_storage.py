"""Chunk writes are idempotent (a re-delivered chunk replaces its rows), and bulk-inserted."""

import pytest


@pytest.mark.django_db
def test_storing_the_same_chunk_twice_replaces_it(spec, members, make_cohort_frames):
    from runs.models import Assessment, RunChunk, Subject
    from runs.services import chunk_store, run_launch, run_mark_running

    run = run_launch(spec=spec, actor=members["designer"], chunk_size=4)
    run_mark_running(run_id=run.pk)
    subjects, assessments = make_cohort_frames(8, seed=3)
    chunk = RunChunk.objects.get(run=run, index=1)
    mine = subjects.iloc[4:8]
    mine_visits = assessments[assessments["subject_id"].isin(mine["subject_id"])]
    for _ in range(2):
        outcome = chunk_store(
            chunk_id=chunk.pk,
            subjects=mine,
            assessments=mine_visits,
            anatomy_params={},
            label_map_paths={},
            compute_s=0.1,
        )
        assert outcome.stored and not outcome.run_complete
    assert Subject.objects.filter(run=run).count() == 4
    assert Assessment.objects.filter(run=run).count() == len(mine_visits)
    run.refresh_from_db()
    assert run.chunks_done == 1 and run.progress == 0.5
    assert RunChunk.objects.get(pk=chunk.pk).attempts == 2


@pytest.mark.django_db
def test_the_last_chunk_completes_the_run_and_a_cancelled_run_discards_chunks(
    spec, members, make_cohort_frames
):
    from runs.models import RunChunk, Subject
    from runs.services import chunk_store, run_cancel, run_launch, run_mark_running

    subjects, assessments = make_cohort_frames(8, seed=3)
    run = run_launch(spec=spec, actor=members["designer"], chunk_size=8)
    run_mark_running(run_id=run.pk)
    outcome = chunk_store(
        chunk_id=RunChunk.objects.get(run=run).pk,
        subjects=subjects,
        assessments=assessments,
        anatomy_params={},
        label_map_paths={},
        compute_s=0.1,
    )
    assert outcome.run_complete

    cancelled = run_launch(spec=spec, actor=members["designer"], chunk_size=8)
    run_cancel(run=cancelled, actor=members["designer"])
    outcome = chunk_store(
        chunk_id=RunChunk.objects.get(run=cancelled).pk,
        subjects=subjects,
        assessments=assessments,
        anatomy_params={},
        label_map_paths={},
        compute_s=0.1,
    )
    assert not outcome.stored and not Subject.objects.filter(run=cancelled).exists()


def test_label_maps_are_written_deterministically(tmp_path, settings):
    import numpy as np

    from runs.label_store import read_subject_label_map, write_subject_label_maps

    class Crop:
        def __init__(self, value: int) -> None:
            self.origin = (2, 3, 4)
            self.labels = np.full((3, 2, 2), value, dtype=np.uint8)
            self.grid_shape = (10, 10, 10)
            self.affine = np.eye(4)

    settings.MEDIA_ROOT = tmp_path
    first = write_subject_label_maps(
        relpath="a/s.npz", visits={0: Crop(1), 1: Crop(3)}
    ).read_bytes()
    second = write_subject_label_maps(
        relpath="a/s.npz", visits={1: Crop(3), 0: Crop(1)}
    ).read_bytes()
    assert first == second
    stored = read_subject_label_map(relpath="a/s.npz", visit=1)
    full = stored.to_full()
    assert full.shape == (10, 10, 10) and full[2:5, 3:5, 4:6].min() == 3 and full.sum() == 36
    assert list(tmp_path.joinpath("a").iterdir()) == [tmp_path / "a" / "s.npz"]  # no temp left
    with pytest.raises(KeyError):
        read_subject_label_map(relpath="a/s.npz", visit=7)

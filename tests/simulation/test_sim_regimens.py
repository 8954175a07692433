from simulation import REGIMENS
from simulation.regimens import DrugSchedule


def test_library_contains_the_four_standard_regimens():
    assert set(REGIMENS) == {"rt_alone", "stupp_rt_tmz", "lomustine", "bevacizumab"}
    assert REGIMENS["lomustine"].indication == "gbm_recurrent"
    assert REGIMENS["stupp_rt_tmz"].surgery


def test_stupp_radiotherapy_is_60_gy_in_30_weekday_fractions():
    rt = REGIMENS["stupp_rt_tmz"].radiotherapy
    days = rt.fraction_days()
    assert len(days) == 30 and rt.dose_per_fraction_gy * len(days) == 60
    assert all((day - days[0]) % 7 < 5 for day in days)  # Monday to Friday
    assert days[-1] - days[0] == 39  # six weeks


def test_stupp_temozolomide_schedule():
    regimen = REGIMENS["stupp_rt_tmz"]
    doses = [regimen.doses_on(day).get("temozolomide", 0.0) for day in range(400)]
    assert doses.count(75.0) == 42  # concurrent, daily during RT
    assert doses.count(150.0) == 5  # adjuvant cycle 1
    assert doses.count(200.0) == 25  # cycles 2-6, days 1-5
    first_adjuvant = doses.index(150.0)
    assert first_adjuvant - regimen.rt_end_day == 28


def test_until_progression_schedules_repeat():
    lomustine = REGIMENS["lomustine"].drugs[0]
    assert [day for day in range(200) if lomustine.dose_on(day)] == [0, 42, 84, 126, 168]
    bev = REGIMENS["bevacizumab"].drugs[0]
    assert bev.dose_unit == "mg/kg" and bev.dose_on(28) == 10.0


def test_finite_cycles_stop():
    schedule = DrugSchedule("temozolomide", 100, "mg/m2", 10, days_on=2, cycle_days=7, cycles=2)
    assert [d for d in range(40) if schedule.dose_on(d)] == [10, 11, 17, 18]

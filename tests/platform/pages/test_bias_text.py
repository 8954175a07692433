"""Flagged bias rows read as sentences an auditor can paste into a report."""

from pages.bias_text import bias_sentence, flagged_sentences

AGE_ROW = {
    "covariate": "age",
    "level": None,
    "statistic": "mean_years",
    "cohort": 56.2,
    "target": 65.0,
    "reference": "target_population",
    "smd": -0.85,
    "flagged": True,
}
SEX_ROW = {
    "covariate": "sex",
    "level": "M",
    "statistic": "proportion",
    "cohort": 0.63,
    "target": 0.6,
    "reference": "target_population",
    "smd": 0.06,
    "flagged": False,
}


def test_a_flagged_mean_names_values_reference_smd_and_verdict():
    sentence = bias_sentence(AGE_ROW, target_name="US glioblastoma (CBTRUS 2016-2020)")
    assert sentence == (
        "Age: cohort mean 56.2 years versus 65.0 years in the target population "
        "(US glioblastoma (CBTRUS 2016-2020)); standardised mean difference -0.85, which exceeds "
        "the 0.1 imbalance threshold."
    )


def test_a_proportion_reads_as_percentages_with_its_level_in_words():
    sentence = bias_sentence(SEX_ROW)
    assert sentence.startswith("Sex = Male: cohort proportion 63.0% versus 60.0%")
    assert "is within the 0.1 imbalance threshold" in sentence


def test_only_flagged_rows_become_sentences_with_the_stored_threshold():
    sentences = flagged_sentences({"threshold": 0.2, "target_name": "", "rows": [AGE_ROW, SEX_ROW]})
    assert len(sentences) == 1 and "exceeds the 0.2 imbalance threshold" in sentences[0]

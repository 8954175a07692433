"""Words for the codes stored in specs and statistics, as readers of a report expect them."""

COVARIATE_LABELS = {
    "age": "Age",
    "age_band": "Age band",
    "sex": "Sex",
    "race": "Race",
    "ethnicity": "Ethnicity",
    "kps": "Karnofsky performance status",
    "kps_levels": "KPS",
    "mgmt_methylated": "MGMT promoter methylated",
    "idh_mutant": "IDH-mutant",
    "resection": "Extent of resection",
    "regimen": "Regimen",
}
LEVEL_LABELS = {
    "M": "Male",
    "F": "Female",
    "gtr": "Gross total resection",
    "str": "Subtotal resection",
    "biopsy": "Biopsy only",
    "white": "White",
    "black": "Black or African American",
    "asian": "Asian",
    "american_indian_alaska_native": "American Indian or Alaska Native",
    "native_hawaiian_pacific_islander": "Native Hawaiian or other Pacific Islander",
    "other": "Other",
    "hispanic_or_latino": "Hispanic or Latino",
    "not_hispanic_or_latino": "Not Hispanic or Latino",
    "True": "Yes",
    "False": "No",
    "true": "Yes",
    "false": "No",
    "stupp_rt_tmz": "RT + temozolomide (Stupp)",
    "rt_alone": "Radiotherapy alone",
    "lomustine": "Lomustine",
    "bevacizumab": "Bevacizumab",
    "gbm_newly_diagnosed": "Newly diagnosed GBM",
    "gbm_recurrent": "Recurrent GBM",
}
RESPONSE_LABELS = {
    "CR": "Complete response",
    "PR": "Partial response",
    "SD": "Stable disease",
    "PD": "Progressive disease",
    "NE": "Not evaluable",
}
SEQUENCE_LABELS = {"t1n": "T1", "t1c": "T1-Gd", "t2w": "T2", "t2f": "FLAIR"}


def covariate_label(name: str) -> str:
    return COVARIATE_LABELS.get(name, name.replace("_", " ").capitalize())


def level_label(level: object) -> str:
    text = str(level)
    return LEVEL_LABELS.get(text, text.replace("_", " "))

"""Define-XML 2.0 metadata for a set of datasets (one define.xml per standard folder).

Lists each dataset (ItemGroupDef with its def:leaf to the XPT file), each variable (ItemDef
with DataType, Length, label, SASFieldName, origin, display format), and the controlled
terminology referenced (CodeList with decodes and NCI codes where CDISC defines one).

``CreationDateTime`` is fixed (``FIXED_CREATION``) rather than the wall clock, so the file is
byte-reproducible: the provenance manifest, not this file, says when an export was made.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .tables import Dataset, Variable
from .terminology import CODELISTS

__all__ = ["DEFINE_NS", "FIXED_CREATION", "ODM_NS", "STANDARDS", "define_xml_bytes"]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEFINE_NS = "http://www.cdisc.org/ns/def/v2.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FIXED_CREATION = "1980-01-01T00:00:00"
#: Implementation guide per dataset purpose.
STANDARDS: dict[str, tuple[str, str]] = {
    "Tabulation": ("SDTM-IG", "3.3"),
    "Analysis": ("ADaM-IG", "1.3"),
}

ET.register_namespace("", ODM_NS)
ET.register_namespace("def", DEFINE_NS)
ET.register_namespace("xlink", XLINK_NS)


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEFINE_NS}}}{tag}"


def _description(parent: ET.Element, text: str, tag: str = "Description") -> None:
    node = ET.SubElement(parent, _odm(tag))
    translated = ET.SubElement(node, _odm("TranslatedText"))
    translated.set(XML_LANG, "en")
    translated.text = text


def _significant_digits(dataset: Dataset, variable: Variable) -> int:
    digits = 0
    for value in dataset.frame[variable.name].dropna().tolist():
        text = repr(float(value))
        if "." in text and not text.endswith(".0"):
            digits = max(digits, len(text.split(".")[1]))
    return digits


def define_xml_bytes(
    datasets: Sequence[Dataset], *, study_id: str, study_description: str, file_suffix: str
) -> bytes:
    """Define-XML 2.0 for ``datasets`` (all of one purpose); XPT leafs ``<name>.<suffix>``."""
    purposes = {dataset.purpose for dataset in datasets}
    if len(purposes) != 1:
        raise ValueError(f"define.xml covers one standard at a time, got {sorted(purposes)}")
    purpose = purposes.pop()
    standard, version = STANDARDS[purpose]
    short = "SDTM" if purpose == "Tabulation" else "ADAM"
    odm = ET.Element(
        _odm("ODM"),
        {
            "ODMVersion": "1.3.2",
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{study_id}.{short}",
            "CreationDateTime": FIXED_CREATION,
            "Originator": "synthetic-control-arm platform",
            "SourceSystem": "synthetic-control-arm exports",
        },
    )
    study = ET.SubElement(odm, _odm("Study"), {"OID": f"STUDY.{study_id}"})
    global_vars = ET.SubElement(study, _odm("GlobalVariables"))
    ET.SubElement(global_vars, _odm("StudyName")).text = study_id
    ET.SubElement(global_vars, _odm("StudyDescription")).text = study_description
    ET.SubElement(global_vars, _odm("ProtocolName")).text = study_id
    mdv = ET.SubElement(
        study,
        _odm("MetaDataVersion"),
        {
            "OID": f"MDV.{study_id}.{short}",
            "Name": f"{study_id} {standard} {version} (synthetic)",
            "Description": f"{standard} {version} metadata of a synthetic control arm",
            _def("DefineVersion"): "2.0.0",
            _def("StandardName"): standard,
            _def("StandardVersion"): version,
        },
    )
    comments: list[tuple[str, str]] = []
    for dataset in datasets:
        attrs = {
            "OID": f"IG.{dataset.name}",
            "Name": dataset.name,
            "Repeating": "No" if dataset.structure == "One record per subject" else "Yes",
            "IsReferenceData": "Yes" if dataset.dataset_class == "TRIAL DESIGN" else "No",
            "SASDatasetName": dataset.name,
            "Purpose": purpose,
            _def("Structure"): dataset.structure,
            _def("Class"): dataset.dataset_class,
            _def("ArchiveLocationID"): f"LF.{dataset.name}",
        }
        if purpose == "Tabulation" and not dataset.name.startswith("SUPP"):
            attrs["Domain"] = dataset.name
        if dataset.comment:
            attrs[_def("CommentOID")] = f"COM.{dataset.name}"
            comments.append((f"COM.{dataset.name}", dataset.comment))
        group = ET.SubElement(mdv, _odm("ItemGroupDef"), attrs)
        _description(group, dataset.label)
        for order, variable in enumerate(dataset.variables, start=1):
            ref = {
                "ItemOID": f"IT.{dataset.name}.{variable.name}",
                "OrderNumber": str(order),
                "Mandatory": "No" if _has_missing(dataset, variable) else "Yes",
            }
            if variable.name in dataset.keys:
                ref["KeySequence"] = str(dataset.keys.index(variable.name) + 1)
            ET.SubElement(group, _odm("ItemRef"), ref)
        leaf_name = f"{dataset.name.lower()}.{file_suffix}"
        leaf = ET.SubElement(
            group, _def("leaf"), {"ID": f"LF.{dataset.name}", f"{{{XLINK_NS}}}href": leaf_name}
        )
        ET.SubElement(leaf, _def("title")).text = leaf_name
    used_codelists: list[str] = []
    for dataset in datasets:
        for variable in dataset.variables:
            attrs = {
                "OID": f"IT.{dataset.name}.{variable.name}",
                "Name": variable.name,
                "SASFieldName": variable.name,
                "DataType": variable.kind,
            }
            if variable.kind != "date":
                attrs["Length"] = str(dataset.length(variable))
            if variable.kind == "float":
                attrs["SignificantDigits"] = str(_significant_digits(dataset, variable))
            if variable.display_format:
                attrs[_def("DisplayFormat")] = variable.display_format
            if variable.comment:
                attrs[_def("CommentOID")] = f"COM.{dataset.name}.{variable.name}"
                comments.append((f"COM.{dataset.name}.{variable.name}", variable.comment))
            item = ET.SubElement(mdv, _odm("ItemDef"), attrs)
            _description(item, variable.label)
            if variable.codelist:
                ET.SubElement(
                    item, _odm("CodeListRef"), {"CodeListOID": CODELISTS[variable.codelist].oid}
                )
                if variable.codelist not in used_codelists:
                    used_codelists.append(variable.codelist)
            ET.SubElement(item, _def("Origin"), {"Type": variable.origin})
    for key in used_codelists:
        codelist = CODELISTS[key]
        node = ET.SubElement(
            mdv,
            _odm("CodeList"),
            {
                "OID": codelist.oid,
                "Name": codelist.name,
                "DataType": "text",
            },
        )
        for value, decode in codelist.items.items():
            item = ET.SubElement(node, _odm("CodeListItem"), {"CodedValue": value})
            _description(item, decode, tag="Decode")
        if codelist.nci_code:
            ET.SubElement(
                node, _odm("Alias"), {"Context": "nci:ExtCodeID", "Name": codelist.nci_code}
            )
    for oid, text in comments:
        comment = ET.SubElement(mdv, _def("CommentDef"), {"OID": oid})
        _description(comment, text)
    ET.indent(odm, space="  ")
    return ET.tostring(odm, encoding="UTF-8", xml_declaration=True) + b"\n"


def _has_missing(dataset: Dataset, variable: Variable) -> bool:
    column = dataset.frame[variable.name]
    if variable.is_numeric:
        return bool(column.isna().any())
    return bool((column == "").any())

"""define.xml: parses, lists every dataset and variable with the XPT's labels and lengths."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pyreadstat
import pytest

from exports.define_xml import DEFINE_NS, ODM_NS
from exports.terminology import CODELISTS

NS = {"odm": ODM_NS, "def": DEFINE_NS}


@pytest.mark.parametrize("folder", ["sdtm", "adam"])
def test_define_lists_every_dataset_and_variable(bids_tree: Path, folder: str) -> None:
    root = ET.parse(bids_tree / folder / "define.xml").getroot()
    assert root.tag == f"{{{ODM_NS}}}ODM"
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv is not None
    assert mdv.get(f"{{{DEFINE_NS}}}DefineVersion") == "2.0.0"
    items = {item.get("OID"): item for item in mdv.findall("odm:ItemDef", NS)}
    groups = {group.get("Name"): group for group in mdv.findall("odm:ItemGroupDef", NS)}
    xpt_files = sorted((bids_tree / folder).glob("*.xpt"))
    assert set(groups) == {path.stem.upper() for path in xpt_files}
    for path in xpt_files:
        frame, meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
        group = groups[meta.table_name]
        assert group.find("odm:Description/odm:TranslatedText", NS).text == meta.file_label
        leaf = group.find("def:leaf", NS)
        assert leaf.get("{http://www.w3.org/1999/xlink}href") == path.name
        refs = [ref.get("ItemOID") for ref in group.findall("odm:ItemRef", NS)]
        assert [items[oid].get("Name") for oid in refs] == list(frame.columns), path.name
        for oid in refs:
            item = items[oid]
            name = item.get("Name")
            label = item.find("odm:Description/odm:TranslatedText", NS).text
            assert label == meta.column_names_to_labels[name], f"{path.name}:{name}"
            assert len(name) <= 8 and len(label) <= 40
            data_type = item.get("DataType")
            if meta.readstat_variable_types[name] == "string":
                assert data_type in ("text", "date"), f"{path.name}:{name}"
                width = meta.variable_storage_width[name]
                if data_type == "text":
                    assert int(item.get("Length")) == width, f"{path.name}:{name}"
                else:
                    assert width == 10 or frame[name].eq("").all()  # ISO 8601 YYYY-MM-DD
            else:
                assert data_type in ("integer", "float"), f"{path.name}:{name}"
                values = frame[name].dropna()
                if data_type == "integer" and len(values):
                    digits = max(len(str(int(value))) for value in values)
                    assert int(item.get("Length")) == digits, f"{path.name}:{name}"


def test_codelists_cover_the_coded_values(bids_tree: Path) -> None:
    root = ET.parse(bids_tree / "sdtm" / "define.xml").getroot()
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    codelists = {
        cl.get("OID"): {item.get("CodedValue") for item in cl.findall("odm:CodeListItem", NS)}
        for cl in mdv.findall("odm:CodeList", NS)
    }
    assert codelists["CL.SEX"] >= {"M", "F"}
    assert codelists["CL.RSRESP"] == {"CR", "PR", "SD", "PD", "NE"}
    sex = mdv.find("odm:CodeList[@OID='CL.SEX']/odm:Alias", NS)
    assert sex.get("Name") == CODELISTS["SEX"].nci_code == "C66731"
    dm, _ = pyreadstat.read_xport(str(bids_tree / "sdtm" / "dm.xpt"))
    assert set(dm["SEX"]) <= codelists["CL.SEX"]
    assert set(dm["RACE"]) <= codelists["CL.RACE"]
    assert set(dm["ETHNIC"]) <= codelists["CL.ETHNIC"]

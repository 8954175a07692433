"""Datasets as frames plus the metadata that SAS XPORT and Define-XML need.

Every SDTM/ADaM builder returns a ``Dataset``: a pandas frame whose columns are exactly its
``Variable``s, in order. ``Dataset.validate`` enforces the SAS V5 transport limits (SAS
technical note TS-140; FDA Study Data Technical Conformance Guide) before anything is written,
so a bad name, label or value fails with an ``ExportError`` naming the dataset, variable and
row.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .errors import ExportError
from .terminology import CODELISTS

__all__ = [
    "MAX_DATASET_LABEL",
    "MAX_LABEL",
    "MAX_NAME",
    "MAX_VALUE_BYTES",
    "Dataset",
    "Variable",
    "csv_bytes",
]

#: SAS V5 transport limits (SAS TS-140; FDA Study Data Technical Conformance Guide).
MAX_NAME = 8
MAX_LABEL = 40
MAX_DATASET_LABEL = 40
MAX_VALUE_BYTES = 200

_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_DATASET_RE = re.compile(r"^[A-Z][A-Z0-9]*$")

#: Define-XML DataType of a variable. ``date`` = ISO 8601 text (SDTM --DTC), stored as text;
#: ``integer``/``float`` are stored as SAS numerics.
Kind = Literal["text", "date", "integer", "float"]
NUMERIC_KINDS = ("integer", "float")


@dataclass(frozen=True)
class Variable:
    """One column: name (<= 8), label (<= 40), Define-XML data type and optional codelist."""

    name: str
    label: str
    kind: Kind = "text"
    codelist: str | None = None
    display_format: str | None = None
    origin: str = "Derived"
    comment: str | None = None
    significant_digits: int | None = None

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass
class Dataset:
    """A dataset ready to write: frame + metadata (SDTM domain or ADaM dataset)."""

    name: str
    label: str
    purpose: Literal["Tabulation", "Analysis"]
    dataset_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    frame: pd.DataFrame
    comment: str | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        *,
        name: str,
        label: str,
        purpose: Literal["Tabulation", "Analysis"],
        dataset_class: str,
        structure: str,
        keys: Sequence[str],
        variables: Sequence[Variable],
        rows: Sequence[dict[str, object]],
        comment: str | None = None,
        notes: Sequence[str] = (),
    ) -> Dataset:
        """Build from row dicts (missing keys become missing values), normalise, validate."""
        columns = [variable.name for variable in variables]
        unknown = sorted({key for row in rows for key in row} - set(columns))
        if unknown:
            raise ExportError(f"{name}: row keys {unknown} are not variables of the dataset")
        data: dict[str, object] = {}
        for variable in variables:
            values = [row.get(variable.name) for row in rows]
            data[variable.name] = _normalise(name, variable, values)
        frame = pd.DataFrame(data, columns=columns)
        dataset = cls(
            name=name,
            label=label,
            purpose=purpose,
            dataset_class=dataset_class,
            structure=structure,
            keys=tuple(keys),
            variables=tuple(variables),
            frame=frame,
            comment=comment,
            notes=list(notes),
        )
        dataset.validate()
        return dataset

    # ------------------------------------------------------------------ checks

    def validate(self) -> None:
        """Raise ``ExportError`` on any name, label, type or value outside the V5 limits."""
        _check_name(self.name, f"dataset {self.name!r}", dataset=True)
        _check_label(self.label, f"{self.name}: dataset label", MAX_DATASET_LABEL)
        seen: set[str] = set()
        for variable in self.variables:
            where = f"{self.name}.{variable.name}"
            _check_name(variable.name, f"{self.name}: variable {variable.name!r}")
            if variable.name in seen:
                raise ExportError(f"{where}: duplicate variable name")
            seen.add(variable.name)
            _check_label(variable.label, f"{where}: label", MAX_LABEL)
        if list(self.frame.columns) != [variable.name for variable in self.variables]:
            raise ExportError(f"{self.name}: frame columns do not match the variable list")
        for key in self.keys:
            if key not in seen:
                raise ExportError(f"{self.name}: key variable {key!r} is not in the dataset")
        for variable in self.variables:
            column = self.frame[variable.name]
            where = f"{self.name}.{variable.name}"
            if variable.is_numeric:
                if column.dtype != np.float64:
                    raise ExportError(f"{where}: numeric variable must be float64")
                if np.isinf(column.to_numpy()).any():
                    raise ExportError(f"{where}: infinite value")
                if variable.kind == "integer":
                    finite = column.dropna().to_numpy()
                    if (np.rint(finite) != finite).any():
                        raise ExportError(f"{where}: integer variable has a fractional value")
            else:
                allowed = None
                if variable.codelist is not None:
                    if variable.codelist not in CODELISTS:
                        raise ExportError(f"{where}: unknown codelist {variable.codelist!r}")
                    allowed = CODELISTS[variable.codelist].items
                for row, value in enumerate(column.tolist()):
                    if not isinstance(value, str):
                        raise ExportError(f"{where} row {row + 1}: text value {value!r} not str")
                    _check_value(value, f"{where} row {row + 1}")
                    if allowed is not None and value and value not in allowed:
                        raise ExportError(
                            f"{where} row {row + 1}: {value!r} is not in controlled "
                            f"terminology {variable.codelist}"
                        )

    # ------------------------------------------------------------------ derived metadata

    def length(self, variable: Variable) -> int:
        """Define-XML Length: bytes for text (at least 1), digits for numerics."""
        column = self.frame[variable.name]
        if not variable.is_numeric:
            return max([1, *(len(value.encode("ascii")) for value in column.tolist())])
        finite = column.dropna().to_numpy()
        if finite.size == 0:
            return 1
        if variable.kind == "integer":
            return max(len(str(int(value))) for value in finite)
        return max(
            len(_float_text(float(value)).replace("-", "").replace(".", "")) for value in finite
        )

    def text_values(self, variable: Variable) -> list[str]:
        """Distinct non-empty values of a text variable, sorted."""
        return sorted({value for value in self.frame[variable.name].tolist() if value})


# ---------------------------------------------------------------------- helpers


def _normalise(dataset: str, variable: Variable, values: list[object]) -> object:
    where = f"{dataset}.{variable.name}"
    if variable.is_numeric:
        out = np.empty(len(values), dtype=np.float64)
        for index, value in enumerate(values):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                out[index] = np.nan
            elif isinstance(value, bool | np.bool_) or not isinstance(
                value, int | float | np.integer | np.floating
            ):
                raise ExportError(f"{where} row {index + 1}: {value!r} is not a number")
            else:
                out[index] = float(value)
        return out
    text: list[str] = []
    for index, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            text.append("")
        elif isinstance(value, str):
            text.append(value)
        else:
            raise ExportError(f"{where} row {index + 1}: {value!r} is not text")
    return pd.Series(text, dtype=object)


def _check_name(name: str, where: str, *, dataset: bool = False) -> None:
    pattern = _DATASET_RE if dataset else _NAME_RE
    if not isinstance(name, str) or not name:
        raise ExportError(f"{where}: name must be a non-empty string")
    if len(name) > MAX_NAME:
        raise ExportError(f"{where}: name is {len(name)} characters, XPT v5 allows {MAX_NAME}")
    if not pattern.match(name):
        raise ExportError(
            f"{where}: name must be upper-case letters, digits"
            f"{'' if dataset else ' or _'}, starting with a letter"
        )


def _check_label(label: str, where: str, limit: int) -> None:
    if not isinstance(label, str) or not label.strip():
        raise ExportError(f"{where}: must be a non-empty string")
    if not label.isascii():
        raise ExportError(f"{where}: {label!r} must be ASCII")
    if len(label) > limit:
        raise ExportError(f"{where}: {label!r} is {len(label)} characters, XPT v5 allows {limit}")


def _check_value(value: str, where: str) -> None:
    if not value.isascii():
        raise ExportError(f"{where}: {value[:40]!r} must be ASCII for SAS V5 transport")
    if len(value.encode("ascii")) > MAX_VALUE_BYTES:
        raise ExportError(f"{where}: value is {len(value)} bytes, XPT v5 allows {MAX_VALUE_BYTES}")


def _float_text(value: float) -> str:
    """Shortest text that round-trips the float (Python repr), without a trailing '.0'."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def csv_bytes(dataset: Dataset) -> bytes:
    """The dataset as CSV (UTF-8, LF line ends, header row of variable names).

    Numbers are written in their shortest round-trip form (integers without ``.0``), missing
    values as empty fields: the CSV holds exactly the values stored in the XPT file.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([variable.name for variable in dataset.variables])
    columns = []
    for variable in dataset.variables:
        values = dataset.frame[variable.name].tolist()
        if variable.is_numeric:
            columns.append(["" if math.isnan(value) else _float_text(value) for value in values])
        else:
            columns.append(values)
    writer.writerows(zip(*columns, strict=True))
    return buffer.getvalue().encode("utf-8")

"""A record's value in a base unit, so that figures of different documents compare.

"12.221 tỷ đồng" -> 12221000000000 VND, "68,8 triệu USD" -> 68800000 USD, "1,2 nghìn
ha" -> 1200 ha, "49,5 tạ/ha" -> 4.95 t/ha, "14.500 lao động" -> 14500 counted
"lao động". "%" (a rate or share) is kept apart from "điểm phần trăm" (pp, a
difference of two rates). The scale words and base units are in
``config/dataset.toml`` ([units]).
"""
from __future__ import annotations

import re
from decimal import Decimal

from pipeline.components.periods import settings


def _scaled(unit: str, scales: dict) -> tuple[Decimal, str]:
    """The product of the scale words a unit opens with ("nghìn tỷ đồng": 1e12) and the rest."""
    factor = Decimal(1)
    words = unit.split()
    while words and words[0].lower() in scales:
        factor *= Decimal(str(scales[words[0].lower()]))
        words = words[1:]
    return factor, " ".join(words)


def _number(value: float | int | None, factor: Decimal) -> float | int | None:
    if value is None:
        return None
    result = Decimal(str(value)) * factor
    return int(result) if result == result.to_integral_value() and abs(result) < 2 ** 63 else float(result)


def normalise_unit(unit: str | None, config: dict | None = None) -> tuple[Decimal, str | None, str | None]:
    """(factor, base unit, kind) of a unit as written: "tỷ đồng" -> (1e9, "VND", "money")."""
    config = config or settings("units")
    if not unit or not unit.strip():
        return Decimal(1), None, None
    text = re.sub(r"\s+", " ", unit.strip())
    numerator, *denominators = [part.strip() for part in text.split("/")]
    factor, rest = _scaled(numerator, config["scales"])
    base = config["base"].get(rest.lower())
    if base is not None:
        factor *= Decimal(str(base["factor"]))
        unit_name, kind = base["unit"], base["kind"]
    else:
        unit_name, kind = rest or None, "count"
    if denominators:
        # a rate: the numerator is brought to its base unit, the denominator kept as written
        # ("giường bệnh/vạn dân" is per 10,000 people by definition, not a scale to apply)
        return factor, "/".join([unit_name or "", *denominators]), "rate"
    return factor, unit_name, kind


def normalise(record: dict, config: dict | None = None) -> dict | None:
    """``{"value", "unit", "kind"}`` (and ``upper`` for a range) of one record; None
    for a record without a value. A rank has kind "rank" and no unit; a fraction
    ("14/23 xã") keeps its numerator as the value and its denominator apart."""
    value = record.get("value")
    if value is None:
        return None
    if record.get("relation") == "rank":
        return {"value": _number(value, Decimal(1)), "unit": None, "kind": "rank"}
    factor, unit, kind = normalise_unit(record.get("unit"), config)
    result = {"value": _number(value, factor), "unit": unit, "kind": kind}
    if record.get("upper") is not None:
        result["upper"] = _number(record["upper"], factor)
    if record.get("denominator") is not None:
        result["denominator"] = _number(record["denominator"], Decimal(1))
    return result

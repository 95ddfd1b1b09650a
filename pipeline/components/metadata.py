"""What a report says about itself: its type, who issued it, for which province,
its number, where and when it was signed, and the period it reports on.

Read from the header block of a Vietnamese administrative document (Nghị định
30/2020/NĐ-CP lays it out: the issuing body under its parent on the left, the
national motto on the right, "Số: 123/BC-UBND", "Bắc Giang, ngày 10 tháng 7 năm
2020", the type in capitals, the title under it). A field the text does not
state is None: nothing is guessed.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from pipeline.components.periods import settings, title_period
from pipeline.config import DEFAULT_CONFIG_PATH

PROVINCES_PATH = DEFAULT_CONFIG_PATH.parent / "provinces.tsv"
# The day the 34 provinces replaced the 63 (Resolution 202/2025/QH15).
MERGER_DATE = date(2025, 7, 1)


@dataclass(frozen=True)
class Province:
    old_code: str
    old_name: str
    old_type: str
    aliases: tuple[str, ...]
    new_code: str
    new_name: str
    new_type: str


@lru_cache(maxsize=1)
def provinces() -> tuple[Province, ...]:
    rows = []
    for line in PROVINCES_PATH.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        old_code, old_name, old_type, aliases, new_code, new_name, new_type = line.split("\t")
        rows.append(Province(old_code, old_name, old_type, tuple(a for a in aliases.split(";") if a), new_code, new_name, new_type))
    return tuple(rows)


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().casefold()


@lru_cache(maxsize=1)
def _province_names() -> list[tuple[str, Province | None, str]]:
    """(folded name, province of the 63 or None, name of the 34) for every spelling, longest first."""
    names = []
    for province in provinces():
        for name in (province.old_name, *province.aliases):
            names.append((_fold(name), province, province.new_name))
    old = {_fold(p.old_name) for p in provinces()}
    for province in provinces():
        if _fold(province.new_name) not in old:  # "Huế": a name only the 34 have
            names.append((_fold(province.new_name), None, province.new_name))
    return sorted(names, key=lambda n: len(n[0]), reverse=True)


def find_province(name: str, on: date | None = None) -> dict | None:
    """The province a name means, with its code among the 63 and among the 34.

    A name that both lists have ("Bắc Ninh") means the one of the 63 in a document
    dated before 1 July 2025 (or undated), the new one after, when the old code
    is unknown (the new Bắc Ninh took in Bắc Giang).
    """
    folded = _fold(name)
    for spelling, province, new_name in _province_names():
        if folded != spelling:
            continue
        new = next(p for p in provinces() if p.new_name == new_name)
        if province is not None and (on is None or on < MERGER_DATE):
            return {"name": province.old_name, "code": province.old_code, "current_name": province.new_name,
                    "current_code": province.new_code}
        return {"name": None, "code": None, "current_name": new.new_name, "current_code": new.new_code}
    return None


def _province_at_start(text: str, on: date | None) -> tuple[dict | None, str]:
    """A province name at the start of ``text`` (after "tỉnh", "thành phố", "TP"), and the rest."""
    rest = re.sub(r"^(?:tỉnh|thành phố|tp\.?)\s+", "", text.strip(), flags=re.IGNORECASE)
    folded = _fold(rest)
    for spelling, _, _ in _province_names():
        if folded.startswith(spelling) and (len(folded) == len(spelling) or not folded[len(spelling)].isalnum()):
            return find_province(rest[:len(spelling)], on), rest[len(spelling):].strip()
    return None, rest


def _header_lines(text: str, limit: int) -> list[tuple[int, str]]:
    """The first ``limit`` non-empty lines, cut where a header puts two columns on one line (tabs, wide spaces)."""
    lines = []
    for number, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        # "Số:      /BC-CTK" (a number left blank) is one cell however wide its gap
        gap = r"\t+" if re.match(r"^\s*số\s*:", line, re.IGNORECASE) else r"\t+|\s{3,}"
        cells = re.split(gap, line.strip())
        for cell in cells:
            if cell.strip():
                lines.append((number, cell.strip()))
        if len({n for n, _ in lines}) >= limit:
            break
    return lines


def _document_type(lines: list[tuple[int, str]], types: list[str]) -> tuple[str | None, int | None]:
    by_length = sorted(types, key=len, reverse=True)
    for index, (_, line) in enumerate(lines):
        folded = _fold(line)
        for name in by_length:
            if folded == name:
                return name, index
    return None, None


def _title(lines: list[tuple[int, str]], type_index: int) -> str | None:
    """The line after the type line, with the lines it runs on to (a title that ends in ";" or ",")."""
    parts = []
    for _, line in lines[type_index + 1:]:
        if line.startswith("("):  # "(Trình kỳ họp thứ 4 ...)": a note under the title
            break
        parts.append(line.strip())
        if not parts[-1].endswith((";", ",")):
            break
    return " ".join(parts) or None


def _number(lines: list[tuple[int, str]]) -> tuple[str | None, str | None]:
    """("1047/BC-UBND", "BC-UBND") from "Số: 1047/BC-UBND"; (None, "BC-CTK") from a blank "Số:      /BC-CTK"."""
    for _, line in lines:
        match = re.match(r"^số\s*:\s*(\d*)\s*([/-])\s*(\S+)", line, re.IGNORECASE)
        if match:
            digits, separator, symbol = match.groups()
            return (f"{digits}{separator}{symbol}" if digits else None), symbol
    return None, None


def _place_and_date(lines: list[tuple[int, str]]) -> tuple[str | None, date | None]:
    for _, line in lines:
        match = re.match(r"^([^\d,;:]{2,40}?),\s*ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", line, re.IGNORECASE)
        if match:
            place, day, month, year = match.groups()
            try:
                return place.strip(), date(int(year), int(month), int(day))
            except ValueError:
                return place.strip(), None
        blank = re.match(r"^([^\d,;:]{2,40}?),\s*ngày\s+.*tháng\s+.*năm", line, re.IGNORECASE)
        if blank:  # "Hà Nội, ngày   tháng   năm 2024": a place, no date yet
            return blank.group(1).strip(), None
    return None, None


def _body(line: str, bodies: list[dict]) -> tuple[dict, str] | None:
    """The body a header line names (longest match first) and what follows it (its place)."""
    folded = _fold(line)
    for body in sorted(bodies, key=lambda b: len(b["match"]), reverse=True):
        if folded.startswith(body["match"]):
            return body, line.strip()[len(body["match"]):].strip()
    return None


def _sentence_case(text: str) -> str:
    """A header line in capitals written as a name: first letter kept capital, the rest lower case."""
    text = text.strip()
    return text[:1].upper() + text[1:].lower()


def _named(body: dict, place: dict | None, on: date | None) -> str:
    """A body's name with its province: "UBND" + Bến Tre -> "UBND tỉnh Bến Tre", "Tỉnh ủy" + Thái Bình -> "Tỉnh ủy Thái Bình"."""
    if body["place"] == "none" or place is None:
        return body["name"]
    place_name = place["name"] or place["current_name"]
    if body["place"] == "bare":
        return f"{body['name']} {place_name}"
    return f"{body['name']} {_province_type(place, on)} {place_name}"


def _organisation(line: str, bodies: list[dict], on: date | None, place_hint: dict | None) -> tuple[str, dict | None, dict | None]:
    """(name, province, body setting) of one header line: "UBND TỈNH BẾN TRE" -> ("UBND tỉnh Bến Tre", Bến Tre).
    A body whose line names no place takes ``place_hint``, the province of the line above it."""
    found = _body(line, bodies)
    if found is None:
        province, _ = _province_at_start(line, on)
        return _sentence_case(line), province, None
    body, rest = found
    province = _province_at_start(rest, on)[0] if rest else None
    if province is None and rest:  # a place that is no province (a district): as written
        return f"{body['name']} {rest.lower()}", None, body
    province = province if body["place"] != "none" else None
    return _named(body, province or (place_hint if body["place"] != "none" else None), on), province, body


def _province_type(place: dict, on: date | None) -> str:
    for province in provinces():
        if place["code"] and province.old_code == place["code"]:
            return province.old_type
        if not place["code"] and province.new_code == place["current_code"]:
            return province.new_type
    return "tỉnh"


def _text_province(text: str, on: date | None, config: dict) -> dict | None:
    """The province a report without a header names as its own: the one of the "tỉnh X" /
    "thành phố X" mentions named often, and far more often than any other (settings:
    text_province_min_mentions, text_province_min_ratio)."""
    counts: dict[str, int] = {}
    found: dict[str, dict] = {}
    for match in re.finditer(r"(?<!\w)(?:tỉnh|thành phố)\s+((?:[A-ZĐÂĂÊÔƠƯÁÀẢÃẠẤẦẨẪẬẮẰẲẴẶÉÈẺẼẸẾỀỂỄỆÍÌỈĨỊÓÒỎÕỌỐỒỔỖỘỚỜỞỠỢÚÙỦŨỤỨỪỬỮỰÝỲỶỸỴ]\w*[\s-]*){1,4})", text):
        province, _ = _province_at_start(match.group(1), on)
        if province is not None:
            key = province["code"] or province["current_code"]
            counts[key] = counts.get(key, 0) + 1
            found[key] = province
    if not counts:
        return None
    ranked = sorted(counts.values(), reverse=True)
    best = max(counts, key=counts.get)
    runner_up = ranked[1] if len(ranked) > 1 else 0
    if counts[best] >= config["text_province_min_mentions"] and counts[best] >= config["text_province_min_ratio"] * runner_up:
        return found[best]
    return None


def document_metadata(text: str, config: dict | None = None) -> dict:
    """The metadata of one document, from its text.

    ``document_type`` ("báo cáo", "chỉ thị", ...), ``title``, ``number`` ("1047/BC-UBND")
    and ``symbol`` ("BC-UBND"), ``issuer`` ("UBND tỉnh Nghệ An") and ``issuer_parent``
    (the body above it in the header), ``scope`` ("national" or "provincial"),
    ``province`` (name and code among the 63, and among the 34 since 1 July 2025, with
    ``source``: the header or the text), ``place`` and ``date`` (ISO) of signature, and
    ``period`` (``start``, ``end``, ``text``, ``parts`` of a compound period) from the title.
    """
    config = config or settings("metadata")
    lines = _header_lines(text, config["header_lines"])
    document_type, type_index = _document_type(lines, config["document_types"])
    number, symbol = _number(lines)
    if document_type is None and symbol:
        code = re.split(r"[-/]", symbol)[0]
        document_type = config["number_types"].get(code)
    place, signed = _place_and_date(lines)
    title = _title(lines, type_index) if type_index is not None else None

    header = lines[:type_index] if type_index is not None else []
    not_bodies = set(config["not_bodies"])
    organisation_lines = [
        line for _, line in header
        if _fold(line) not in not_bodies and not re.match(r"^số\s*:", line, re.IGNORECASE)
        and not re.match(r"^[-_=*.\s]+$", line) and ", ngày" not in line.lower()
    ]
    issuer = issuer_parent = province = issuer_body = None
    # the province is named once, on any line ("UBND TỈNH BẾN TRE" over "SỞ LAO ĐỘNG ...",
    # "TỔNG CỤC THỐNG KÊ" over "CỤC THỐNG KÊ TỈNH BẮC NINH"), and every body in the header is of it
    for line in organisation_lines:
        province = province or _organisation(line, config["bodies"], signed, None)[1]
    names = [_organisation(line, config["bodies"], signed, province) for line in organisation_lines]
    if names:
        issuer, _, issuer_body = names[-1]
        issuer_parent = names[-2][0] if len(names) > 1 else None
    if issuer_body is not None and issuer_body["name"] in config["committee_bodies"] and symbol and "-" in symbol:
        # "UBND TỈNH SƠN LA" over "Số: 38/BC-TTr": the symbol names the body that issued it
        named = config["symbol_bodies"].get(symbol.rsplit("-", 1)[1])
        body = next((b for b in config["bodies"] if b["match"] == named), None)
        if body is not None and body["name"] != issuer_body["name"]:
            issuer_parent, issuer, issuer_body = issuer, _named(body, province, signed), body
    national = issuer_body is not None and issuer_body["name"] in config["national_bodies"]
    province_source = "header" if province is not None else None
    if national:
        province, province_source = None, None
    elif province is None and not organisation_lines:
        province = _text_province(text, signed, config)
        province_source = "text" if province is not None else None
    period = title_period(title) if title else None
    return {
        "document_type": document_type,
        "title": title,
        "number": number,
        "symbol": symbol,
        "issuer": issuer,
        "issuer_parent": issuer_parent,
        "scope": "national" if national else ("provincial" if province is not None else None),
        "province": {**province, "source": province_source} if province is not None else None,
        "place": place,
        "date": signed.isoformat() if signed else None,
        "period": period,
    }

"""XDS times: DTM values in UTC (``yyyyMMddHHmmss``) and their conversion from HL7 v3 TS (CDA)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now_dtm(now: datetime | None = None) -> str:
    """``yyyyMMddHHmmss`` in UTC (XDS times are UTC)."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")


def hl7_ts_to_utc(value: str) -> str:
    """HL7 TS (``20190221133445+0100``) → XDS DTM in UTC (``20190221123445``); no offset: kept as is."""
    digits, sign, offset = value, "", ""
    for marker in "+-":
        if marker in value[8:]:
            position = value.index(marker, 8)
            digits, sign, offset = value[:position], marker, value[position + 1:]
            break
    digits = digits.split(".")[0]
    if not sign or len(offset) != 4 or not offset.isdigit() or len(digits) < 12 or not digits.isdigit():
        return digits
    try:
        moment = datetime.strptime(digits[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:  # not a real date: returned as written, the DTM rule reports it
        return digits
    delta = timedelta(hours=int(offset[:2]), minutes=int(offset[2:]))
    moment = moment - delta if sign == "+" else moment + delta
    return moment.strftime("%Y%m%d%H%M%S")[:len(digits)]

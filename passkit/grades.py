"""Grade levels as schools write them, normalised to PK, K, 1..12 or Unknown."""

import re

UNKNOWN = "Unknown"
ORDER = ["PK", "K", *[str(n) for n in range(1, 13)], UNKNOWN]
RANK = {grade: rank for rank, grade in enumerate(ORDER)}

# OneRoster (CEDS) codes and the spellings SIS exports use for the early years.
_WORDS = {
    "pk": "PK", "prek": "PK", "pre-k": "PK", "prekindergarten": "PK", "pre-kindergarten": "PK",
    "pr": "PK", "ps": "PK", "preschool": "PK",
    "k": "K", "kg": "K", "kindergarten": "K", "kinder": "K", "tk": "K", "transitional kindergarten": "K",
    # US high-school class names
    "freshman": "9", "sophomore": "10", "junior": "11", "senior": "12",
}
_NOISE = re.compile(r"^(grade|gr\.?|year)\s*|\s*(grade)$")
# '9', '09', '9th', and '10.0' as a spreadsheet writes a number cell
_ORDINAL = re.compile(r"^0*(\d{1,2})(\.0+)?\s*(st|nd|rd|th)?$")


def normalise(raw) -> str:
    """'09', 'Grade 9', '9th', '10.0', 'Junior', 'KG', 'PreK' -> '9', '10', '11', 'K', 'PK';
    blank or unknown -> 'Unknown'."""
    if raw is None:
        return UNKNOWN
    text = _NOISE.sub("", str(raw).strip().lower()).strip()
    if text in _WORDS:
        return _WORDS[text]
    match = _ORDINAL.match(text)
    if match and 1 <= int(match.group(1)) <= 12:
        return str(int(match.group(1)))
    return UNKNOWN


def is_recognised(raw) -> bool:
    """True for blanks (nothing to recognise) and for spellings `normalise` understands."""
    return raw is None or str(raw).strip() == "" or normalise(raw) != UNKNOWN or str(raw).strip().lower() == "unknown"


def sort_key(grade: str) -> int:
    return RANK.get(grade, len(ORDER))

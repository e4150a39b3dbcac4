"""The JSON wire forms every app's representations share."""


def id_text(value):
    return str(value) if value is not None else None


def datetime_text(value):
    # DRF's wire format for datetimes (ISO-8601, "Z" for UTC).
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def date_text(value):
    return None if value is None else value.isoformat()

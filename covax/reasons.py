"""Messages that are written down now and read later, in the reader's language.

An upload is validated by a worker that has no reader: whoever opens the error report
tomorrow may read Hindi, or English. So a reason is made with `reason(msgid, **params)`:
it is a str, the message in the language active now (what a form shows at once, what
a log line says), and it remembers its message id and values. Stored with
`stored(text)`, it is shown again with `shown(text, message)` in the language of
whoever reads it. A plain str (an older row, a message that never had params) is
shown as it was written, translated when it is a known message.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


class Reason(str):
    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: dict[str, Any]) -> Reason:
        self = super().__new__(cls, _render(msgid, params))
        self.msgid, self.params = msgid, params
        return self

    def __reduce__(self):  # crosses to and from the upload's helper processes
        return (Reason, (self.msgid, self.params))


def reason(msgid: str, **params: Any) -> Reason:
    """The message `msgid` (an English source text, with %(name)s placeholders) with
    these values. A value that is itself a Reason is translated with it."""
    return Reason(msgid, params)


def _render(msgid: str, params: dict[str, Any]) -> str:
    text = gettext(msgid)
    if not params:
        return text
    return text % {k: _render(v.msgid, v.params) if isinstance(v, Reason) else v for k, v in params.items()}


def stored(text: str) -> dict[str, Any]:
    """What to keep beside the text so that it can be shown in another language."""
    if not isinstance(text, Reason):
        return {}
    return {"msgid": text.msgid, "params": {k: _kept(v) for k, v in text.params.items()}}


def _kept(value: Any) -> Any:
    if isinstance(value, Reason):
        return stored(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)  # a date, a name, a lazy label: as the message showed it


def shown(text: str, message: dict[str, Any] | None) -> str:
    """The stored text in the reader's language."""
    if not message:
        return gettext(text) if text else text
    try:
        return _render(message["msgid"], {k: _revive(v) for k, v in message.get("params", {}).items()})
    except (KeyError, TypeError, ValueError):  # a catalogue whose placeholders changed: the text as written
        return text


def _revive(value: Any) -> Any:
    if isinstance(value, dict) and "msgid" in value:
        return Reason(value["msgid"], {k: _revive(v) for k, v in value.get("params", {}).items()})
    return value

"""A call's action log in plain words, for the incident pane and ``vms calls show``.

The log keeps machine-readable details (for reports and the audit); an operator reading a
call back, or a supervisor reviewing it, needs sentences instead of ``from: new, previous:
None``.
"""

from __future__ import annotations

from typing import Any

from vms.incidents.queue import OUTCOMES, STATE_WORDS

_LIGHT = {"on": "switched the blue light on", "off": "switched the blue light off",
          "pulse": "set the blue light flashing"}


def describe(action: str, detail: dict[str, Any], local: Any = str) -> str:
    """What happened, as a sentence without its subject (the log line puts the user first).

    ``local`` turns a UTC time into the reader's local time (the pane's clock)."""
    d = {k: v for k, v in detail.items() if v not in (None, "")}
    if action == "raised":
        return "raised the call"
    if action == "event":
        return "reported the alarm again"
    if action == "presented":
        return "saw the call on screen"
    if action == "accepted":
        prev, was = d.get("previous"), d.get("from")
        at = f" at {d['workstation']}" if d.get("workstation") else ""
        if was == "accepted" and prev:
            return f"took the call over from {prev}{at}"
        return ("resumed the call" if was == "on_hold" else "accepted the call") + at
    if action == "operator lost":  # logged under the lost operator's name
        return (f"went silent at {d.get('workstation')} (the workstation stopped answering); "
                "any operator may take the call")
    if action == "on hold":
        return "put the call on hold" + (f" ({d['reason']})" if d.get("reason") else "")
    if action == "handed over":
        return f"handed the call over to {d.get('to', '?')}"
    if action == "note":
        return f"noted: {d.get('text', '')}"
    if action == "police informed":
        parts = [f"at {local(d['at'])}" if d.get("at") else "",
                 f"reference {d['reference']}" if d.get("reference") else "",
                 f"units {d['units']}" if d.get("units") else "",
                 f"told: {d['said']}" if d.get("said") else ""]
        return "informed the police " + ", ".join(p for p in parts if p)
    if action == "closed":
        return f"closed the call: {OUTCOMES.get(d.get('outcome', ''), d.get('outcome', '?'))}"
    if action == "blue light":
        return _LIGHT.get(d.get("mode", ""), f"blue light {d.get('mode', '?')}")
    if action == "talk":
        mic = d.get("microphone")
        return "spoke to the caller" + (f" (microphone {mic})" if mic else "")
    if action == "announcement":
        return f"played the announcement \u201c{d.get('clip', '?')}\u201d"
    if action == "linked cameras":
        return "linked cameras called up: " + "; ".join(f"{k} {v}" for k, v in d.items())
    if action == "triage":
        return f"triage: {d.get('decision', '?')}" + (
            "".join(f", {k} {v}" for k, v in d.items() if k != "decision"))
    rest = ", ".join(f"{k} {STATE_WORDS.get(v, v) if isinstance(v, str) else v}"
                     for k, v in d.items())
    return action + (f" ({rest})" if rest else "")

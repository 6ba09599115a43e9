"""The console's keys, in one table (issue 26: keyboard first).

What binds the keys (``ui.features.keys``, the wall, a call's window) and the F1 sheet read the
same rows, so the sheet cannot say one thing while the keys do another. Call keys work from
any window of the desktop; wall keys from the window the wall is in (the main window, or its
own when fullscreen).
"""

from __future__ import annotations

from dataclasses import dataclass

from vms.wall.layouts import LAYOUTS


@dataclass(frozen=True)
class Key:
    keys: str  # as QKeySequence reads it (portable text)
    does: str
    section: str


CALLS, WALL, DESK = "Calls and alarms", "The wall", "The desktop"

ACCEPT_NEXT = Key("F2", "Accept the call in front, else the next one ringing, else your call "
                  "on hold", CALLS)
HOLD = Key("F3", "Put the call you are on on hold", CALLS)
CLOSE = Key("F4", "Close the call you are on: choose its outcome, then F4 again", CALLS)
BLUE_LIGHT = Key("Ctrl+B", "Switch the Help Point's blue light on or off", CALLS)
MUTE = Key("Ctrl+M", "Mute or unmute the caller", CALLS)
TALK = Key("Ctrl+T", "Talk until pressed again (open microphone)", CALLS)
PUSH_TO_TALK = Key("Space", "Hold to talk, in a call's window", CALLS)

NEXT_TILE = Key("]", "Select the next tile", WALL)
PREVIOUS_TILE = Key("[", "Select the previous tile", WALL)
SELECT_TILE = Key("1 … 9, 0", "Select tile 1 to 10", WALL)
ENLARGE = Key("Enter", "On the wall: enlarge the selected tile, or back to the layout", WALL)
LAYOUT = Key("Ctrl+1 … Ctrl+9", "Choose a layout: " + ", ".join(
    name.replace("x", "×") for name in list(LAYOUTS)[:9]), WALL)
PRESET = Key("Alt+1 … Alt+9", "Send the selected PTZ camera to its preset 1 to 9", WALL)
MOVE = Key("Arrows", "Move the selected PTZ camera while held", WALL)
FULLSCREEN = Key("F or F11", "The wall on the whole screen; Esc to come back", WALL)
TREE = Key("Enter", "In the camera tree: put the camera on the wall", WALL)

HELP = Key("F1", "Show this sheet of keys", DESK)
LOCK = Key("Ctrl+L", "Lock the desktop", DESK)
PLAYBACK = Key("Ctrl+P", "Open playback", DESK)
MAP = Key("Ctrl+G", "Open the site map: each device's pin and its state", DESK)

SHEET: tuple[Key, ...] = (
    ACCEPT_NEXT, HOLD, CLOSE, BLUE_LIGHT, MUTE, TALK, PUSH_TO_TALK,
    NEXT_TILE, PREVIOUS_TILE, SELECT_TILE, ENLARGE, LAYOUT, PRESET, MOVE, FULLSCREEN, TREE,
    HELP, LOCK, PLAYBACK, MAP,
)

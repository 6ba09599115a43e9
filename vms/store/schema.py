"""The profile database's versioned schema. Each migration runs once, in order, inside one
transaction, and bumps ``PRAGMA user_version``; a database newer than this code is refused
rather than damaged."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from vms.errors import ProfileError

Migration = Callable[[sqlite3.Connection], None]


def _run(c: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration's transaction.
    for stmt in script.split(";"):
        if stmt.strip():
            c.execute(stmt)


def _v1(c: sqlite3.Connection) -> None:
    _run(c, """
    CREATE TABLE sites (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        site_id INTEGER NOT NULL REFERENCES sites(id),
        location TEXT,
        address TEXT NOT NULL UNIQUE,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        endpoint_ref TEXT,
        manufacturer TEXT, model TEXT, firmware TEXT, serial TEXT, hardware_id TEXT,
        clock_offset_s REAL,
        auth_method TEXT NOT NULL,
        warnings TEXT NOT NULL DEFAULT '[]',
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE streams (
        id INTEGER PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        role TEXT,
        profile_token TEXT NOT NULL,
        profile_name TEXT,
        encoding TEXT, width INTEGER, height INTEGER, fps REAL,
        uri TEXT, snapshot_uri TEXT,
        media_version INTEGER NOT NULL,
        audio INTEGER NOT NULL DEFAULT 0,
        backchannel INTEGER NOT NULL DEFAULT 0,
        UNIQUE (device_id, profile_token)
    );
    CREATE TABLE capabilities (
        device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        media2 INTEGER NOT NULL, ptz INTEGER NOT NULL, events INTEGER NOT NULL,
        pullpoint INTEGER NOT NULL, deviceio INTEGER NOT NULL,
        digital_inputs TEXT NOT NULL, relay_outputs TEXT NOT NULL,
        input_connectors INTEGER NOT NULL, relay_count INTEGER NOT NULL,
        audio_sources INTEGER NOT NULL, audio_outputs INTEGER NOT NULL,
        backchannel INTEGER NOT NULL,
        services TEXT NOT NULL
    );
    CREATE TABLE sightings (
        endpoint_ref TEXT PRIMARY KEY,
        xaddrs TEXT NOT NULL,
        scopes TEXT NOT NULL,
        name TEXT, location TEXT, hardware TEXT,
        sender TEXT,
        warning TEXT,
        present INTEGER NOT NULL DEFAULT 1,
        source TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE INDEX streams_device ON streams(device_id);
    CREATE INDEX devices_site ON devices(site_id);
    """)


def _v2(c: sqlite3.Connection) -> None:
    """Accounts, camera groups and settings. Passwords only as argon2id hashes."""
    _run(c, """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        all_cameras INTEGER NOT NULL DEFAULT 1,
        must_change INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        failed_count INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT,
        password_changed_at TEXT NOT NULL,
        last_sign_in TEXT
    );
    CREATE TABLE camera_groups (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE group_sites (
        group_id INTEGER NOT NULL REFERENCES camera_groups(id) ON DELETE CASCADE,
        site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, site_id)
    );
    CREATE TABLE group_devices (
        group_id INTEGER NOT NULL REFERENCES camera_groups(id) ON DELETE CASCADE,
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, device_id)
    );
    CREATE TABLE user_groups (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL REFERENCES camera_groups(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, group_id)
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        changed_by TEXT
    )
    """)


def _v3(c: sqlite3.Connection) -> None:
    """Wall layouts per user; the name "" is the wall as the user last left it."""
    _run(c, """
    CREATE TABLE layouts (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        spec TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
    )
    """)


def _v4(c: sqlite3.Connection) -> None:
    """Cameras linked to a device (a Help Point's street cameras), each with an optional PTZ
    preset to call up when the device raises a call or alarm. The preset's name is kept as well
    as its token: a camera that lost and re-made its presets gets new tokens, same names.
    And each device's own event rules (topic mappings for its firmware), tried before the
    defaults."""
    _run(c, """
    CREATE TABLE device_links (
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        camera_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        preset_token TEXT,
        preset_name TEXT,
        linked_at TEXT NOT NULL,
        linked_by TEXT,
        PRIMARY KEY (device_id, camera_id),
        CHECK (device_id != camera_id)
    );
    CREATE INDEX device_links_camera ON device_links(camera_id);
    CREATE TABLE device_event_rules (
        device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        rules TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        changed_by TEXT
    )
    """)


def _v5(c: sqlite3.Connection) -> None:
    """Each device's capability table (what it claimed and what worked when tried, as JSON)
    and the way its events are subscribed (PullPoint or WS-BaseNotification); and whether an
    installer allowed RTSP Basic authentication (a clear-text password) on plain RTSP."""
    _run(c, """
    ALTER TABLE capabilities ADD COLUMN checks TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE capabilities ADD COLUMN event_method TEXT NOT NULL DEFAULT '';
    ALTER TABLE devices ADD COLUMN allow_basic_rtsp INTEGER NOT NULL DEFAULT 0
    """)


def _v6(c: sqlite3.Connection) -> None:
    """A device grouping is an *area* (a town centre, a car park); "site" is the whole
    installation a control room runs (its site service, its site database). The default area
    keeps its place under the new name unless an area of that name exists already."""
    _run(c, """
    ALTER TABLE sites RENAME TO areas;
    ALTER TABLE devices RENAME COLUMN site_id TO area_id;
    ALTER TABLE group_sites RENAME TO group_areas;
    ALTER TABLE group_areas RENAME COLUMN site_id TO area_id;
    DROP INDEX devices_site;
    CREATE INDEX devices_area ON devices(area_id);
    UPDATE areas SET name = 'Default area' WHERE name = 'Default site'
        AND NOT EXISTS (SELECT 1 FROM areas WHERE name = 'Default area')
    """)


def _v7(c: sqlite3.Connection) -> None:
    """Each user's own settings (alert volume and mute, theme), restored at their sign-in."""
    _run(c, """
    CREATE TABLE user_preferences (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (user_id, key)
    )
    """)


def _v8(c: sqlite3.Connection) -> None:
    """Site maps: a plan image per area (the file is kept in the profile's ``maps`` folder)
    and each device's pin on a plan, as fractions of the plan's width and height, so a plan
    replaced by a sharper copy of the same drawing keeps its pins."""
    _run(c, """
    CREATE TABLE area_plans (
        area_id INTEGER PRIMARY KEY REFERENCES areas(id) ON DELETE CASCADE,
        file TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        changed_by TEXT
    );
    CREATE TABLE map_pins (
        device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        area_id INTEGER NOT NULL REFERENCES areas(id) ON DELETE CASCADE,
        x REAL NOT NULL CHECK (x >= 0 AND x <= 1),
        y REAL NOT NULL CHECK (y >= 0 AND y <= 1),
        changed_at TEXT NOT NULL,
        changed_by TEXT
    );
    CREATE INDEX map_pins_area ON map_pins(area_id)
    """)


MIGRATIONS: list[Migration] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8]
VERSION = len(MIGRATIONS)


def check_version(conn: sqlite3.Connection) -> int:
    found: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > VERSION:
        raise ProfileError(f"the profile database is schema version {found}, newer than this "
                           f"Beacon VMS understands ({VERSION}); update Beacon VMS")
    return found


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn`` up to ``VERSION``; returns the version found before."""
    found = check_version(conn)
    for i in range(found, VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process opening the same profile at
            # the same moment may have run this step while this one waited for the lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] <= i:
                MIGRATIONS[i](conn)
                conn.execute(f"PRAGMA user_version = {i + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found

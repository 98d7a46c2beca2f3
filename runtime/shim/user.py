"""Resolving the user a container runs as from the container's own /etc/passwd and /etc/group.

Runs after ``pivot_root``, so names mean what they mean in the image, as with runc and
containerd: a name must exist in /etc/passwd; a numeric uid need not (gid 0 then, unless the
passwd entry or the spec says otherwise); the process also joins every group in /etc/group that
lists the user, plus the pod's supplemental groups.
"""

from __future__ import annotations

from runtime.small_file import read_bytes


class UnknownUser(LookupError):
    """The named user or group does not exist in the container's /etc files."""


class Credentials:
    """A plain class, not a dataclass: this module is loaded in the fork server, and
    ``dataclasses`` would bring ``inspect`` and ``ast`` into every process forked from it."""

    def __init__(self, uid: int, gid: int, additional_gids: list[int] | None = None, home: str = "/") -> None:
        self.uid = uid
        self.gid = gid
        self.additional_gids = additional_gids if additional_gids is not None else []
        self.home = home  # HOME for a process whose environment has none, as runc sets it

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Credentials) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return (f"Credentials(uid={self.uid}, gid={self.gid}, additional_gids={self.additional_gids}, "
                f"home={self.home!r})")


def _entries(path: str) -> list[list[str]]:
    try:
        # Bytes any encoding may hold: names are compared, never shown.
        text = read_bytes(path).decode("utf-8", "surrogateescape")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def resolve(user: dict, passwd: str = "/etc/passwd", group: str = "/etc/group") -> Credentials:
    """``user`` holds any of uid, gid, name, group (names or numbers) and supplemental gids."""
    users = [e for e in _entries(passwd) if len(e) >= 4]
    groups = [e for e in _entries(group) if len(e) >= 3]
    uid = user.get("uid")
    gid = user.get("gid")
    name = user.get("name")
    username: str | None = None
    primary: int | None = None
    home = "/"
    if name is not None and not str(name).isdigit():
        match = next((e for e in users if e[0] == name), None)
        if match is None:
            raise UnknownUser(f"no user {name!r} in the container's /etc/passwd")
        uid, primary, username = int(match[2]), int(match[3]), name
    else:
        if name is not None:
            uid = int(name)
        uid = 0 if uid is None else int(uid)
        match = next((e for e in users if e[2].isdigit() and int(e[2]) == uid), None)
        if match is not None:
            primary, username = int(match[3]), match[0]
    if match is not None and len(match) > 5 and match[5]:
        home = match[5]
    group_name = user.get("group")
    if group_name is not None:
        if str(group_name).isdigit():
            gid = int(group_name)
        else:
            gmatch = next((e for e in groups if e[0] == group_name), None)
            if gmatch is None:
                raise UnknownUser(f"no group {group_name!r} in the container's /etc/group")
            gid = int(gmatch[2])
    if gid is None:
        gid = primary if primary is not None else 0
    extra: list[int] = [int(gid)]
    if username is not None:
        for e in groups:
            members = e[3].split(",") if len(e) > 3 and e[3] else []
            if username in members and e[2].isdigit():
                extra.append(int(e[2]))
    extra.extend(int(g) for g in user.get("supplemental", []))
    # In order, without repeats; a dict keeps both in linear time, however long the list.
    return Credentials(uid=int(uid), gid=int(gid), additional_gids=list(dict.fromkeys(extra)), home=home)

"""Users and groups resolve against the container's own /etc/passwd and /etc/group."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.shim.user import Credentials, UnknownUser, resolve


@pytest.fixture
def etc(tmp_path: Path) -> tuple[str, str]:
    passwd = tmp_path / "passwd"
    group = tmp_path / "group"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1001::/home/www:/bin/sh\n")
    group.write_text("root:x:0:\nwww:x:1001:\nextra:x:2000:www,other\nother:x:3000:root\n")
    return str(passwd), str(group)


def test_default_is_root_with_roots_groups(etc: tuple[str, str]) -> None:
    assert resolve({}, *etc) == Credentials(uid=0, gid=0, additional_gids=[0, 3000], home="/root")


def test_username_gives_its_uid_primary_gid_and_memberships(etc: tuple[str, str]) -> None:
    assert resolve({"name": "www"}, *etc) == Credentials(uid=1000, gid=1001, additional_gids=[1001, 2000],
                                                         home="/home/www")


def test_numeric_uid_without_an_entry_gets_gid_0(etc: tuple[str, str]) -> None:
    assert resolve({"uid": 4242}, *etc) == Credentials(uid=4242, gid=0, additional_gids=[0])


def test_explicit_gid_and_supplemental_groups(etc: tuple[str, str]) -> None:
    creds = resolve({"uid": 1000, "gid": 5000, "supplemental": [7000, 2000]}, *etc)
    assert creds == Credentials(uid=1000, gid=5000, additional_gids=[5000, 2000, 7000], home="/home/www")


def test_home_is_the_passwd_entrys_or_the_root_directory(tmp_path: Path, etc: tuple[str, str]) -> None:
    assert resolve({"uid": 4242}, *etc).home == "/"
    passwd = tmp_path / "passwd-no-home"
    passwd.write_text("nohome:x:1500:1500::\n")
    assert resolve({"name": "nohome"}, str(passwd), etc[1]).home == "/"


def test_image_user_with_group_name(etc: tuple[str, str]) -> None:
    assert resolve({"name": "1000", "group": "extra"}, *etc).gid == 2000


def test_unknown_names_fail(etc: tuple[str, str]) -> None:
    with pytest.raises(UnknownUser):
        resolve({"name": "ghost"}, *etc)
    with pytest.raises(UnknownUser):
        resolve({"uid": 0, "group": "ghosts"}, *etc)


def test_files_in_another_encoding_or_with_crlf_lines_still_resolve(tmp_path: Path) -> None:
    passwd, group = tmp_path / "passwd", tmp_path / "group"
    passwd.write_bytes(b"root:x:0:0:r\xe9seau:/root:/bin/sh\r\nwww:x:1000:1001::/home/www:/bin/sh\r\n")
    group.write_bytes(b"www:x:1001:\r\nextra:x:2000:www\r\n")
    assert resolve({"name": "www"}, str(passwd), str(group)) == Credentials(uid=1000, gid=1001, additional_gids=[1001, 2000],
                                                                            home="/home/www")

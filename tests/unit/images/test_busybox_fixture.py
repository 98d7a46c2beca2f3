"""The shared busybox fixtures give a usable image."""

from __future__ import annotations

from pathlib import Path

from runtime.images.store import ImageStore


def test_image_root_has_busybox_with_its_shell_and_applets(image_root: Path) -> None:
    image = ImageStore(image_root).resolve("busybox")
    assert image.repo_tags == ["docker.io/library/busybox:latest"]
    assert image.config["Cmd"] == ["sh"]
    (layer,) = image.layer_dirs
    busybox = (layer / "bin" / "busybox").stat()
    assert (layer / "bin" / "sh").stat().st_ino == busybox.st_ino
    assert (layer / "usr" / "bin" / "env").stat().st_ino == busybox.st_ino
    assert busybox.st_nlink > 100
    assert "nobody:x:65534:65534" in (layer / "etc" / "passwd").read_text()


def test_applet_hard_links_carry_the_binarys_executable_mode() -> None:
    """containerd applies a link entry's mode to the shared inode: 0644 would make sh unrunnable."""
    import io
    import tarfile

    from runtime.images.busybox import busybox_layer

    with tarfile.open(fileobj=io.BytesIO(busybox_layer())) as tar:
        links = [m for m in tar.getmembers() if m.islnk()]
        binary = tar.getmember("bin/busybox")
    assert links and all(m.linkname == "bin/busybox" for m in links)
    assert {m.mode for m in links} == {binary.mode} == {0o755}

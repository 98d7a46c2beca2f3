"""critest "Image Manager" (image.go) and the image half of "Idempotence" (idempotence.go),
against `kyb runtime` pulling from a registry in its own network namespace.

critest's test images live on gcr.io; here their equivalents are derived offline from busybox
(see derived_image.py) and pushed to a local registry that the daemon uses as the mirror of a
made-up registry host, so names, tags and digests behave as critest expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cri_validation_runtime import Cri, NetworkedKybRuntime, rpc_code, v1
from derived_image import accounts_layer, write_derived_archive

from bench.references import netns
from runtime.images.local_registry import LocalRegistry

pytestmark = pytest.mark.root

HOST = "registry.cri-validation.test"
REGISTRY_PORT = 5000
PREFIX = f"{HOST}/cri-tools/"
WITH_TAG = PREFIX + "test-image-tag:test"
WITHOUT_TAG = PREFIX + "test-image-latest"
DIGESTED = PREFIX + "test-image-digest"
ALL_REFERENCES = PREFIX + "test-image-tag:all"
DIFFERENT_IMAGES = [PREFIX + f"test-image-{i}:latest" for i in (1, 2, 3)]
SAME_IMAGE_TAGS = [PREFIX + f"test-image-tags:{i}" for i in (1, 2, 3)]
# One image under two repository names: critest pulls it from two registries.
SAME_UNDERLYING = [PREFIX + "test-image-same-a:1", PREFIX + "test-image-same-b:1"]
USER_IMAGES = {  # critest's imageUser* images: (uid, username) ImageStatus must report
    PREFIX + "test-image-user-uid:latest": ("1002", 1002, ""),
    PREFIX + "test-image-user-username:latest": ("www-data", 0, "www-data"),
    PREFIX + "test-image-user-uid-group:latest": ("1003:1003", 1003, ""),
    PREFIX + "test-image-user-username-group:latest": ("www-data:www-data", 0, "www-data"),
}


@pytest.fixture(scope="module")
def registry_mirrors() -> dict[str, str]:
    # Pulls of the made-up host go to the registry below, so image names keep critest's shape.
    return {HOST: f"http://127.0.0.1:{REGISTRY_PORT}"}


@pytest.fixture(scope="module")
def digests(harness: NetworkedKybRuntime, busybox_archive: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start the registry, push every test image; yields each reference's manifest digest."""
    work = tmp_path_factory.mktemp("registry")
    # Served inside the runtime's network namespace: only the daemon there reaches its loopback.
    registry = LocalRegistry(work, port=REGISTRY_PORT, command_prefix=netns.nsenter_prefix(harness.name)).start()
    try:
        pushed: dict[str, str] = {}

        def push(reference: str, label: str, **derive: object) -> None:
            archive = work / f"{label}.tar"
            _image_id, pushed[reference] = write_derived_archive(busybox_archive, archive, reference, label=label,
                                                                 **derive)  # type: ignore[arg-type]
            registry.push(archive, reference.removeprefix(HOST + "/"))

        push(WITH_TAG, "with-tag")
        push(WITHOUT_TAG + ":latest", "without-tag")
        push(DIGESTED + ":pushed", "digest")
        push(ALL_REFERENCES, "all-references")
        for i, reference in enumerate(DIFFERENT_IMAGES):
            push(reference, f"different-{i}")
        for reference in SAME_IMAGE_TAGS:
            push(reference, "same-image")
        for reference in SAME_UNDERLYING:
            push(reference, "same-underlying")
        for reference, (user, _uid, _name) in USER_IMAGES.items():
            push(reference, "user-" + user.replace(":", "-"), user=user, files=accounts_layer())
        yield pushed
    finally:
        registry.stop()


def pull(cri: Cri, reference: str) -> str:
    request = v1.PullImageRequest(image=v1.ImageSpec(image=reference), sandbox_config=v1.PodSandboxConfig())
    return cri.img.PullImage(request, timeout=120).image_ref


def status(cri: Cri, reference: str) -> v1.Image | None:
    response = cri.img.ImageStatus(v1.ImageStatusRequest(image=v1.ImageSpec(image=reference)), timeout=10)
    return response.image if response.HasField("image") else None


def remove(cri: Cri, reference: str) -> None:
    """critest's removeImage: by id, if the reference names an image."""
    image = status(cri, reference)
    if image is not None:
        cri.img.RemoveImage(v1.RemoveImageRequest(image=v1.ImageSpec(image=image.id)), timeout=30)


def listed(cri: Cri) -> list[v1.Image]:
    return list(cri.img.ListImages(v1.ListImagesRequest(filter=v1.ImageFilter()), timeout=10).images)


def test_image_with_tag_is_pulled_and_removed(cri: Cri, digests: dict[str, str]) -> None:
    remove(cri, WITH_TAG)
    image_ref = pull(cri, WITH_TAG)
    image = status(cri, WITH_TAG)
    assert image is not None and image.id == image_ref and image.size > 0
    assert list(image.repo_tags) == [WITH_TAG]
    remove(cri, WITH_TAG)
    assert status(cri, WITH_TAG) is None


def test_image_without_tag_is_pulled_as_latest(cri: Cri, digests: dict[str, str]) -> None:
    remove(cri, WITHOUT_TAG)
    pull(cri, WITHOUT_TAG)
    image = status(cri, WITHOUT_TAG)
    assert image is not None and list(image.repo_tags) == [WITHOUT_TAG + ":latest"]
    remove(cri, WITHOUT_TAG)
    assert status(cri, WITHOUT_TAG) is None


def test_image_with_digest_is_pulled_without_tags(cri: Cri, digests: dict[str, str]) -> None:
    reference = f"{DIGESTED}@{digests[DIGESTED + ':pushed']}"
    remove(cri, reference)
    pull(cri, reference)
    image = status(cri, reference)
    assert image is not None
    assert list(image.repo_tags) == [] and list(image.repo_digests) == [reference]
    remove(cri, reference)
    assert status(cri, reference) is None


def test_image_status_supports_all_kinds_of_references(cri: Cri, digests: dict[str, str]) -> None:
    remove(cri, ALL_REFERENCES)
    pull(cri, ALL_REFERENCES)
    image = status(cri, ALL_REFERENCES)
    assert image is not None and image.repo_tags and image.repo_digests
    assert status(cri, image.id) == image
    for reference in [*image.repo_tags, *image.repo_digests]:
        assert status(cri, reference) == image, reference
    remove(cri, ALL_REFERENCES)
    assert status(cri, ALL_REFERENCES) is None


def test_image_status_reports_the_images_uid_or_username(cri: Cri, digests: dict[str, str]) -> None:
    for reference, (user, uid, username) in USER_IMAGES.items():
        pull(cri, reference)
        image = status(cri, reference)
        assert image is not None
        assert (image.uid.value, image.username) == (uid, username), user
    for reference in USER_IMAGES:
        remove(cri, reference)


def test_list_images_shows_three_different_images_with_one_tag_each(cri: Cri, digests: dict[str, str]) -> None:
    for reference in DIFFERENT_IMAGES:
        remove(cri, reference)
    ids = [pull(cri, reference) for reference in DIFFERENT_IMAGES]
    try:
        assert len(set(ids)) == 3
        by_id = {image.id: image for image in listed(cri)}
        for image_id, reference in zip(ids, DIFFERENT_IMAGES, strict=True):
            assert list(by_id[image_id].repo_tags) == [reference]
    finally:
        for reference in DIFFERENT_IMAGES:
            remove(cri, reference)


def test_list_images_shows_one_image_with_three_tags(cri: Cri, digests: dict[str, str]) -> None:
    for reference in SAME_IMAGE_TAGS:
        remove(cri, reference)
    ids = {pull(cri, reference) for reference in SAME_IMAGE_TAGS}
    try:
        assert len(ids) == 1
        (image,) = [image for image in listed(cri) if image.id in ids]
        assert sorted(image.repo_tags) == sorted(SAME_IMAGE_TAGS)
    finally:
        for reference in SAME_IMAGE_TAGS:
            remove(cri, reference)


def test_status_of_a_missing_image_is_empty_not_an_error(cri: Cri) -> None:
    assert status(cri, PREFIX + "never-pulled:1") is None


def test_removing_an_image_that_does_not_exist_succeeds(cri: Cri) -> None:
    fake_id = "0" * 64
    cri.img.RemoveImage(v1.RemoveImageRequest(image=v1.ImageSpec(image=fake_id)), timeout=10)
    cri.img.RemoveImage(v1.RemoveImageRequest(image=v1.ImageSpec(image=fake_id)), timeout=10)


def test_pull_of_an_image_the_registry_lacks_fails(cri: Cri, digests: dict[str, str]) -> None:
    assert rpc_code(lambda: pull(cri, PREFIX + "not-in-the-registry:1")) != grpc.StatusCode.OK
    assert status(cri, PREFIX + "not-in-the-registry:1") is None


def test_pull_honours_the_callers_deadline(cri: Cri, digests: dict[str, str]) -> None:
    remove(cri, WITH_TAG)
    request = v1.PullImageRequest(image=v1.ImageSpec(image=WITH_TAG))
    assert rpc_code(lambda: cri.img.PullImage(request, timeout=0.001)) == grpc.StatusCode.DEADLINE_EXCEEDED


def test_image_fs_info_reports_usage(cri: Cri) -> None:
    info = cri.img.ImageFsInfo(v1.ImageFsInfoRequest(), timeout=10)
    assert info.image_filesystems and info.image_filesystems[0].used_bytes.value > 0


# ----------------------------------------------------------------------------- image_id_consistency.go
def _ids_of_a_container_from(cri: Cri, image_ref: str, user_specified: str) -> tuple[str, str]:
    """(ContainerStatus.image_id, Container.image_id) of a container created from ``image_ref``
    with the image's own command, as critest creates it."""
    with cri.pod("id-consistency-") as (pod_id, pod_config):
        config = cri.container_config("id-consistency-", [], image=image_ref)
        config.image.user_specified_image = user_specified
        container_id = cri.run(pod_id, pod_config, config)
        try:
            (listed_container,) = cri.list_containers(id=container_id)
            return cri.status(container_id).image_id, listed_container.image_id
        finally:
            cri.remove(container_id)


def test_the_same_image_identifier_across_all_apis(cri: Cri, digests: dict[str, str]) -> None:
    """CRI v1.36: Image.id, Container.image_id, ContainerStatus.image_id and PullImageResponse.image_ref
    are one value for one image."""
    image_ref = pull(cri, WITH_TAG)
    image = status(cri, WITH_TAG)
    assert image is not None and image.id == image_ref
    assert _ids_of_a_container_from(cri, image_ref, WITH_TAG) == (image_ref, image_ref)


def test_the_same_image_has_the_same_identifier_under_two_names(cri: Cri, digests: dict[str, str]) -> None:
    first, second = (pull(cri, reference) for reference in SAME_UNDERLYING)
    assert first == second
    assert [getattr(status(cri, reference), "id", None) for reference in SAME_UNDERLYING] == [first, first]
    assert _ids_of_a_container_from(cri, second, SAME_UNDERLYING[1])[0] == first

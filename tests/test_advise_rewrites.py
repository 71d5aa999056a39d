"""A base image's file the Dockerfile writes again twice or more (``RUN chown -R`` then ``RUN chmod -R`` over the
base's files, then a ``cp -a``): each stored copy is claimed by one finding, and the total counts it once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import imgscope
from imgscope.advise import Advice, advice
from tests.buildah import built_on_busybox, needs_buildah

CONTAINERFILE = "FROM {base}\nRUN chown -R 1000:1000 /bin\nRUN chmod -R g+w /bin\n"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_on_busybox(tmp_path_factory, "rewrites", CONTAINERFILE)


def _claims(adv: Advice) -> Counter[tuple[int, str]]:
    return Counter((c.layer, c.path) for f in adv.findings for c in f.copies)


@needs_buildah
def test_a_chown_then_a_chmod_of_the_base_files_claim_each_copy_once(image: Path) -> None:
    a = imgscope.analyze(image)
    reasons = {(w.path, w.layer, w.hidden_by): w.reason.value for w in a.wasted_files}
    assert reasons[("/bin/busybox", 0, 1)] == reasons[("/bin/busybox", 1, 2)] == "metadata-only"
    busybox = {f.path: f.size for f in a.files}["/bin/busybox"]
    adv = advice(a)
    # the chmod's finding would save nothing the chown's does not: it is a note of the chown's, not a finding
    (first,) = [f for f in adv.findings if f.id == "IS106"]
    assert first.layers == (0, 1, 2)
    assert [(c.layer, c.path) for c in first.copies] == [(1, "/bin/busybox")] and first.bytes_saved == busybox
    assert "Layer 2 then writes" in first.message and "only to change mode or owner" in first.message
    assert all(f.bytes_saved != 0 for f in adv.findings)
    assert max(_claims(adv).values()) == 1
    assert adv.total_saved == sum(f.bytes_saved or 0 for f in adv.findings) == busybox


def test_the_rewrites_of_a_base_file_across_both_rules_claim_each_copy_once(tmp_path: Path) -> None:
    """The base's /opt/lib.so chmodded (layer 2), chmodded again (layer 3), then copied over unchanged (layer 4): copies
    2 and 3 are the Dockerfile's to save (one copy with the final mode is needed), each named once."""
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    lib = b"L" * 3000
    layers = [
        tar(directory("opt/"), member("opt/lib.so", lib)),
        tar(directory("etc/"), member("etc/base-release", b"1")),
        tar(directory("opt/"), member("opt/lib.so", lib, mode=0o600)),
        tar(directory("opt/"), member("opt/lib.so", lib, mode=0o664)),
        tar(directory("opt/"), member("opt/lib.so", lib, mode=0o664)),
    ]

    def history(cfg: dict[str, object]) -> dict[str, object]:
        cfg["history"] = [
            {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
            {"created_by": "/bin/sh -c echo 1 > /etc/base-release"},
            {"created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True},
            {"created_by": "/bin/sh -c chmod -R go-r /opt"},
            {"created_by": "/bin/sh -c chmod -R g+w /opt"},
            {"created_by": "/bin/sh -c cp -a /tmp/opt/. /opt/"},
        ]
        return cfg

    path = tmp_path / "base-rewrites.tar"
    path.write_bytes(docker_archive(layers, config=history))
    adv = advice(imgscope.analyze(path))
    assert adv.base is not None and adv.base.layer_count == 2
    found = {(f.id, f.layers): f for f in adv.findings if f.id in ("IS106", "IS110")}
    # the second chmod's finding (layers 2 and 3) would save nothing: the first chmod's says it, as a note
    assert set(found) == {("IS106", (0, 2, 3)), ("IS110", (3, 4))}
    first = found[("IS106", (0, 2, 3))]
    assert [(c.layer, c.path) for c in first.copies] == [(2, "/opt/lib.so")]
    assert "Layer 3 then writes this file again, only to change mode or owner" in first.message
    assert [(c.layer, c.path) for c in found[("IS110", (3, 4))].copies] == [(3, "/opt/lib.so")]
    assert max(_claims(adv).values()) == 1
    assert adv.total_saved == sum(f.bytes_saved or 0 for f in adv.findings) == 2 * len(lib)

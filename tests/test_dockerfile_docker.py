"""Dockerfile reconstruction on what Docker 20.10 itself wrote: the classic builder and BuildKit, the same
Dockerfile (samples/truth/docker-20.10/, see samples/README.md for how they were made)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgscope.history.dockerfile import reconstruct
from imgscope.model import Image, ImageFormat
from imgscope.sources.config import parse_config
from tests.conftest import SAMPLES
from tests.test_dockerfile import _matches

RECORDS = SAMPLES / "truth" / "docker-20.10"


def recorded_image(builder: str) -> Image:
    config: dict[str, Any] = json.loads((RECORDS / f"{builder}.config.json").read_text())
    _, history, platform, notes = parse_config(config, f"{builder}.config.json")
    assert notes == []
    return Image(
        f"{builder}.config.json", ImageFormat.DOCKER_ARCHIVE, None, (), None, None, platform, config, (), tuple(history)
    )


def dockerfile_instructions() -> list[str]:
    lines = (RECORDS / "Dockerfile").read_text().splitlines()
    return [" ".join(line.split()) for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("builder", ["classic", "buildkit"])
def test_every_instruction_comes_back(builder: str) -> None:
    result = reconstruct(recorded_image(builder))
    lines = [" ".join(line.split()) for line in result.text().splitlines() if not line.startswith("#")]
    wanted = [i for i in dockerfile_instructions() if not i.startswith(("FROM ", "ENV ", "LABEL "))]
    assert [i for i in wanted if not _matches(i, lines)] == []
    # ENV is recorded expanded ($PATH resolved), LABEL with the quotes gone (put back where a value needs them):
    # the same settings, other spelling
    assert "ENV APP_HOME=/app PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in lines
    assert 'LABEL org.example.name=explore maintainer="Team <team@example.com>"' in lines
    # the build arg given on the command line shows as the value the RUN used
    assert f"ARG FLAVOR={'classic' if builder == 'classic' else 'bk'}" in lines


def test_buildkit_keeps_copy_sources_classic_keeps_hashes() -> None:
    bk = reconstruct(recorded_image("buildkit")).text()
    classic = reconstruct(recorded_image("classic")).text()
    assert "COPY files/ /app/files/\n" in bk and "ADD app.conf /etc/app2.conf\n" in bk
    assert "COPY dir:4aa4e80f49dd513a095247392792873a5b6501ded861d53f302941749cdf0e19 /app/files/\n" in classic


def test_buildkit_writes_no_onbuild_entry_so_the_config_gives_it() -> None:
    result = reconstruct(recorded_image("buildkit"))
    [onbuild] = [i for i in result.instructions if i.keyword == "ONBUILD"]
    assert (onbuild.arguments, onbuild.source, onbuild.history_index) == ("RUN echo child", "config", None)
    classic = reconstruct(recorded_image("classic"))
    assert [i.source for i in classic.instructions if i.keyword == "ONBUILD"] == ["history"]


@pytest.mark.parametrize("builder", ["classic", "buildkit"])
def test_base_ends_after_its_cmd(builder: str) -> None:
    """The base (Dockerfile.base: FROM scratch, ADD rootfs.tar /, CMD ["sh"]) is the first layer and 2 entries."""
    result = reconstruct(recorded_image(builder))
    assert result.base is not None and (result.base.layer_count, result.base.history_count) == (1, 2)
    assert [s.keyword for s in result.base_steps] == ["ADD", "CMD"]
    assert [i.layer for i in result.instructions if i.layer is not None] == [1, 2, 3, 4, 5, 6]
    shells = [i.text for i in result.instructions if i.keyword == "SHELL"]
    assert shells == ['SHELL ["/bin/sh", "-e", "-c"]']  # once: the RUN under it does not repeat it


@pytest.mark.parametrize("builder", ["classic", "buildkit"])
def test_env_and_label_lines_read_back_as_the_settings(builder: str) -> None:
    """Docker records ENV and LABEL values bare (``maintainer=Team <team@example.com>``), which a Dockerfile
    would end at the space; written back, every ENV and LABEL line, read as a Dockerfile reads it, sets the
    values the config holds."""
    from imgscope.history.dockerfile import _words

    image = recorded_image(builder)
    lines = [i.text for i in reconstruct(image).instructions if i.keyword in ("ENV", "LABEL")]
    assert 'LABEL org.example.name=explore maintainer="Team <team@example.com>"' in lines
    env = dict(item.partition("=")[::2] for item in image.runtime.env)
    for line in lines:
        keyword, _, rest = line.partition(" ")
        words = _words(rest)
        assert words is not None and all("=" in w for w in words), line
        settings = env if keyword == "ENV" else image.runtime.labels
        assert all(settings[w.partition("=")[0]] == w.partition("=")[2] for w in words), line

"""Dockerfile reconstruction: created_by strings as the builders write them, and the samples' Containerfiles."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.history.dockerfile import reconstruct
from imgscope.sources.config import parse_config
from imgscope.sources.created_by import Step, healthcheck_instruction, parse_created_by
from tests.conftest import CASES_FORMATS, SAMPLES

H64 = "e57eef017a414ca793499729d80a7b9075790c9a804f930f1417e56d506970cf"

# (created_by as a builder wrote it, the Dockerfile line it stands for)
CREATED_BY = [
    # classic docker build (nginx, debian, node official images before BuildKit)
    (f"/bin/sh -c #(nop) ADD file:{H64} in / ", f"ADD file:{H64} /"),
    ('/bin/sh -c #(nop)  CMD ["bash"]', 'CMD ["bash"]'),
    ('/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]', 'CMD ["nginx", "-g", "daemon off;"]'),
    ("/bin/sh -c #(nop)  STOPSIGNAL SIGQUIT", "STOPSIGNAL SIGQUIT"),
    ("/bin/sh -c #(nop)  EXPOSE 80", "EXPOSE 80"),
    ('/bin/sh -c #(nop)  ENTRYPOINT ["/docker-entrypoint.sh"]', 'ENTRYPOINT ["/docker-entrypoint.sh"]'),
    (f"/bin/sh -c #(nop) COPY file:{H64} in /docker-entrypoint.d ", f"COPY file:{H64} /docker-entrypoint.d"),
    (f"/bin/sh -c #(nop) COPY multi:{H64} in /usr/local/bin/ ", f"COPY multi:{H64} /usr/local/bin/"),
    (f"/bin/sh -c #(nop) COPY --chown=node:node dir:{H64} in /app ", f"COPY --chown=node:node dir:{H64} /app"),
    ("/bin/sh -c #(nop)  ENV NGINX_VERSION=1.21.6", "ENV NGINX_VERSION=1.21.6"),
    (
        "/bin/sh -c #(nop)  LABEL maintainer=NGINX Docker Maintainers <docker-maint@nginx.com>",
        "LABEL maintainer=NGINX Docker Maintainers <docker-maint@nginx.com>",
    ),
    ("/bin/sh -c #(nop)  MAINTAINER Jane <jane@example.com>", "MAINTAINER Jane <jane@example.com>"),
    ("/bin/sh -c #(nop)  ARG NODE_VERSION=18", "ARG NODE_VERSION=18"),
    ("/bin/sh -c #(nop) WORKDIR /usr/src/app", "WORKDIR /usr/src/app"),
    ("/bin/sh -c #(nop)  ONBUILD COPY . /app", "ONBUILD COPY . /app"),
    ('/bin/sh -c #(nop)  VOLUME ["/var/lib/mysql"]', 'VOLUME ["/var/lib/mysql"]'),
    ("/bin/sh -c apt-get update && apt-get install -y curl", "RUN apt-get update && apt-get install -y curl"),
    ("|2 NODE_ENV=production PORT=3000 /bin/sh -c npm ci", "RUN npm ci"),
    ("/bin/bash -o pipefail -c curl -fsSL https://x | sh", "RUN curl -fsSL https://x | sh"),
    (
        '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/ || exit 1"] "5m0s" "3s" "0s" '
        "'\\x00'}",
        "HEALTHCHECK --interval=5m0s --timeout=3s CMD curl -f http://localhost/ || exit 1",
    ),
    ("cmd /S /C #(nop)  ENV GOLANG_VERSION=1.21", "ENV GOLANG_VERSION=1.21"),
    ("cmd /S /C powershell -Command Install-Thing", "RUN powershell -Command Install-Thing"),
    # BuildKit (docker buildx, Docker >= 23)
    ("RUN /bin/sh -c set -eux; apt-get update # buildkit", "RUN set -eux; apt-get update"),
    ("RUN |1 TARGETARCH=amd64 /bin/sh -c go build -o /out . # buildkit", "RUN go build -o /out ."),
    ("COPY . . # buildkit", "COPY . ."),
    ("COPY /go/bin/app /usr/local/bin/app # buildkit", "COPY /go/bin/app /usr/local/bin/app"),
    ("ADD alpine-minirootfs-3.19.0-x86_64.tar.gz / # buildkit", "ADD alpine-minirootfs-3.19.0-x86_64.tar.gz /"),
    ("ENV PYTHON_VERSION=3.12.1", "ENV PYTHON_VERSION=3.12.1"),
    ("EXPOSE map[80/tcp:{} 443/tcp:{}]", "EXPOSE 80/tcp 443/tcp"),
    ('CMD ["node" "server.js"]', 'CMD ["node", "server.js"]'),
    ('ENTRYPOINT ["docker-entrypoint.sh"]', 'ENTRYPOINT ["docker-entrypoint.sh"]'),
    ("WORKDIR /app", "WORKDIR /app"),
    ("USER node", "USER node"),
    ("ARG TARGETARCH", "ARG TARGETARCH"),
    ("SHELL [/bin/bash -o pipefail -c]", 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]'),
    ("VOLUME [/data]", 'VOLUME ["/data"]'),
    (
        'HEALTHCHECK &{["CMD" "/healthcheck" "--quick"] "30s" "10s" "5s" "0s" \'\\x03\'}',
        'HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD ["/healthcheck", "--quick"]',
    ),
    ("RUN /bin/bash -o pipefail -c make # buildkit", "RUN make"),
    # buildah / podman
    ("/bin/sh -c #(nop) ENV APP_HOME=/app APP_MODE=sample", "ENV APP_HOME=/app APP_MODE=sample"),
    ('/bin/sh -c #(nop) CMD ["/bin/sh", "-c", "cat /srv/config.txt"]', 'CMD ["/bin/sh", "-c", "cat /srv/config.txt"]'),
    (
        '/bin/sh -c #(nop) HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/true"]',
        'HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/true"]',
    ),
    # kaniko: the instruction as written
    ("RUN npm ci --omit=dev", "RUN npm ci --omit=dev"),
    ("COPY --from=build /src/dist /usr/share/nginx/html", "COPY --from=build /src/dist /usr/share/nginx/html"),
    # no Dockerfile instruction at all
    (
        "# debian.sh --arch 'amd64' out/ 'bookworm' '@1700000000'",
        "# debian.sh --arch 'amd64' out/ 'bookworm' '@1700000000'",
    ),
    ("busybox-static rootfs", "busybox-static rootfs"),
    ("bazel build //app:image", "bazel build //app:image"),
]


@pytest.mark.parametrize(("created_by", "line"), CREATED_BY)
def test_created_by_forms(created_by: str, line: str) -> None:
    assert parse_created_by(created_by).text == line


def test_run_details() -> None:
    step = parse_created_by("RUN |2 A=1 B=two /bin/sh -c make all # buildkit")
    assert step == Step("RUN", "make all", ("/bin/sh", "-c"), (("A", "1"), ("B", "two")))
    assert parse_created_by("/bin/bash -o pipefail -c x").shell == ("/bin/bash", "-o", "pipefail", "-c")
    assert parse_created_by("") == Step("", "")
    assert parse_created_by("busybox-static rootfs").keyword == ""


def test_healthcheck_from_config() -> None:
    config = {
        "Test": ["CMD-SHELL", "curl -f localhost"],
        "Interval": 90_000_000_000,
        "Timeout": 500_000_000,
        "Retries": 5,
    }
    assert healthcheck_instruction(config) == "--interval=1m30s --timeout=500ms --retries=5 CMD curl -f localhost"
    assert healthcheck_instruction({"Test": ["NONE"]}) == "NONE"
    assert healthcheck_instruction({"Test": "bad"}) is None


def containerfile_instructions(name: str) -> list[str]:
    """The instructions of samples/src/NAME/Containerfile, continuation lines joined, whitespace collapsed."""
    text = (SAMPLES / "src" / name / "Containerfile").read_text()
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip()]


def _matches(original: str, lines: list[str]) -> bool:
    keyword, _, rest = original.partition(" ")
    if keyword in ("COPY", "ADD"):  # the history keeps a content hash, not the source: match the destination
        dest = rest.split()[-1]
        return any(line.startswith(f"{keyword} ") and line.split()[-1] == dest for line in lines)
    if keyword == "ARG":
        return any(line == original or line.startswith(original + "=") for line in lines)
    return original in lines


@pytest.mark.parametrize(
    ("rel", "image", "platform", "name"),
    [
        *[(rel, None, None, "cases") for rel in CASES_FORMATS],
        ("cases-vfs/docker-archive.tar", None, None, "cases"),
        ("two-images.tar", "tiny-a:1", None, "tiny-a"),
        ("two-images.tar", "tiny-b:1", None, "tiny-b"),
        ("multi-platform", None, "linux/arm64", "plat"),
    ],
)
def test_reconstruction_holds_every_original_instruction(
    rel: str, image: str | None, platform: str | None, name: str
) -> None:
    result = reconstruct(imgscope.open_image(SAMPLES / rel, image=image, platform=platform))
    lines = [" ".join(line.split()) for line in result.text().splitlines() if not line.startswith("#")]
    missing = [ins for ins in containerfile_instructions(name) if not _matches(ins, lines)]
    assert missing == []
    # FROM is the first instruction and names the base the Containerfile names
    original_from = next(i for i in containerfile_instructions(name) if i.startswith("FROM "))
    assert lines[0] == original_from


def test_base_and_layers_of_cases() -> None:
    result = reconstruct(imgscope.open_image(SAMPLES / "cases/docker-archive.tar"))
    assert result.base is not None and result.base.name == "localhost/imgscope-base:1"
    assert [s.text for s in result.base_steps] == ["# busybox-static rootfs"]
    layers = [(i.keyword, i.layer) for i in result.instructions if i.layer is not None]
    assert layers == [("RUN", 1), ("COPY", 2), ("RUN", 3), ("RUN", 4)]
    assert [i.history_index for i in result.instructions[1:]] == list(range(1, 12))
    assert "# Base image: localhost/imgscope-base:1 (layer 0); found by: " in result.text()


def test_config_wins_over_lossy_history() -> None:
    from dataclasses import replace

    img = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-a:1")
    history = list(img.history)
    history[-1] = replace(history[-1], created_by='CMD ["/hello" "--go-format"]')
    config = {**img.config, "config": {**img.config["config"], "Cmd": ["/hello", "--from-config"]}}
    result = reconstruct(replace(img, history=tuple(history), config=config))
    assert result.instructions[-1].text == 'CMD ["/hello", "--from-config"]'
    assert result.instructions[-1].source == "config"


def test_build_args_become_arg_lines() -> None:
    from dataclasses import replace

    img = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-a:1")
    entries = [
        replace(img.history[0], created_by="RUN |1 V=2 /bin/sh -c make # buildkit"),
        replace(img.history[1], created_by="RUN |1 V=2 /bin/bash -o pipefail -c make install # buildkit"),
    ]
    result = reconstruct(replace(img, history=tuple(entries)))
    assert [i.text for i in result.instructions] == [
        "FROM scratch",
        "ARG V=2",
        "RUN make",
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
        "RUN make install",  # the LABEL entry's place: it made no layer, so layer 1 is made by no entry now
        "# no history entry says what made this layer",
        # what the config holds and this (rewritten) history no longer makes
        'LABEL org.example.image="tiny-a"',
        'CMD ["/hello"]',
    ]
    assert [i.source for i in result.instructions[-2:]] == ["config", "config"]


def test_an_image_without_history_gets_its_settings_from_the_config() -> None:
    from dataclasses import replace

    img = imgscope.open_image(SAMPLES / "cases/docker-archive.tar")
    text = reconstruct(replace(img, history=())).text()
    assert "# From the config: settings no history entry made" in text
    for line in (
        "ENV APP_HOME=/app",
        "ENV APP_MODE=sample",
        'LABEL org.example.case="empty-layers"',
        "EXPOSE 8080/tcp 9090/udp",
        "WORKDIR /app",
        "USER 1000:1000",
        'HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/true"]',
        'CMD ["/bin/sh", "-c", "cat /srv/config.txt"]',
    ):
        assert f"\n{line}\n" in text
    assert "ENV PATH=" not in text  # Docker's default PATH is no instruction


def test_cli_history_dockerfile() -> None:
    runner = CliRunner()
    path = str(SAMPLES / "two-images.tar")
    result = runner.invoke(main, ["history", path, "--image", "tiny-b:1", "--dockerfile"])
    assert result.exit_code == 0, result.output
    assert "FROM localhost/tiny-a:1\n# layer 2\nCOPY file:" in result.output
    doc = json.loads(runner.invoke(main, ["history", path, "--image", "tiny-b:1", "--dockerfile", "--json"]).output)
    assert doc["dockerfile"]["base"]["layer_count"] == 2
    assert doc["dockerfile"]["text"] == result.output


def test_cli_history_dockerfile_says_which_image_it_picked() -> None:
    """advise.tar holds two images: the Dockerfile printed is the first one's, and the user is told so, on
    stderr (stdout stays a Dockerfile) and in the JSON."""
    path = str(SAMPLES / "advise.tar")
    result = CliRunner().invoke(main, ["history", path, "--dockerfile"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Reconstructed") and "Note:" not in result.stdout
    assert "analyzing the first, localhost/wasteful:latest; choose with --image" in result.stderr
    doc = json.loads(CliRunner().invoke(main, ["history", path, "--dockerfile", "--json"]).stdout)
    assert any("analyzing the first" in n for n in doc["notes"])
    picked = CliRunner().invoke(main, ["history", path, "--image", "localhost/clean:1.0", "--dockerfile"])
    assert picked.stderr == ""


def test_base_line_names_one_layer_as_one() -> None:
    text = reconstruct(imgscope.open_image(SAMPLES / "cases/oci-gzip")).text()
    assert "# Base image: localhost/imgscope-base:1 (layer 0); found by: history entry 1 says" in text
    result = CliRunner().invoke(main, ["history", str(SAMPLES / "cases/oci-gzip")], env={"COLUMNS": "200"})
    assert "Base image: localhost/imgscope-base:1, layer 0; found by: history entry 1 says" in result.output


@pytest.mark.parametrize(
    ("created_by", "shown"),
    [
        ("/bin/bash -o pipefail -c apt-get update", "RUN apt-get update"),
        ("/bin/sh -e -c #(nop) EXPOSE map[80/tcp:{}]", "EXPOSE 80/tcp"),
        ('/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]', 'CMD ["nginx", "-g", "daemon off;"]'),
        ("busybox-static rootfs", "busybox-static rootfs"),
    ],
)
def test_layer_commands_are_shown_as_the_dockerfile_reads_them(created_by: str, shown: str) -> None:
    # The report's layer command (filled when the config is read) and the reconstructed Dockerfile read created_by
    # with one parser.
    config = {"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}, "history": [{"created_by": created_by}]}
    _, history, _, _ = parse_config(config, "config.json")
    assert history[0].command == shown == parse_created_by(created_by).text


def test_cli_dockerfile_on_a_terminal_keeps_lines_whole() -> None:
    """On a terminal narrower than a line, the Dockerfile is the same text as in a pipe: no newline inserted
    (a folded comment became an instruction, a folded RUN two, for whoever copied it)."""
    path = str(SAMPLES / "cases/oci-gzip")
    piped = CliRunner().invoke(main, ["history", path, "--dockerfile"]).output
    on_tty = CliRunner().invoke(
        main, ["history", path, "--dockerfile"], env={"FORCE_COLOR": "1", "COLUMNS": "60", "NO_COLOR": ""}
    )
    assert on_tty.exit_code == 0, on_tty.output
    assert "\x1b[" in on_tty.output  # it did take the terminal path
    plain = re.sub(r"\x1b\[[0-9;]*m", "", on_tty.output)
    assert plain == piped and max(len(line) for line in plain.splitlines()) > 60


@pytest.mark.parametrize(
    ("created_by", "args", "shown"),
    [
        # the classic builder and buildah join NAME=value pairs with spaces, unquoted: a value may hold spaces
        ("|2 GREETING=hello world V=2 /bin/sh -c echo $GREETING", (("GREETING", "hello world"), ("V", "2")), "echo"),
        ("RUN |2 A=1 B=x y /bin/bash -o pipefail -c make # buildkit", (("A", "1"), ("B", "x y")), "make"),
        # a count larger than the pairs recorded stops at the shell (it took "/bin/sh" for a build arg)
        ("|3 A=1 B=2 /bin/sh -c make", (("A", "1"), ("B", "2")), "make"),
    ],
)
def test_build_args_with_spaces(created_by: str, args: tuple[tuple[str, str], ...], shown: str) -> None:
    step = parse_created_by(created_by)
    assert step.keyword == "RUN" and step.build_args == args
    assert step.arguments.split()[0] == shown and step.shell is not None


def test_a_run_of_several_lines_stays_a_script_and_config_env_values_are_quoted() -> None:
    """A RUN of several lines (BuildKit keeps a RUN's newlines, a heredoc among them) is written as a Dockerfile
    heredoc: joined with backslashes the lines were one command, and the inner heredoc never closed. An ENV value
    from the config is written so that the rebuilt image gets the same value (quoted where a space, a quote or a
    $ would change it)."""
    from dataclasses import replace

    img = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-a:1")
    entries = [
        replace(img.history[0], created_by="RUN /bin/sh -c apt-get update\napt-get install -y curl # buildkit"),
        replace(img.history[1], created_by="RUN /bin/sh -c cat <<EOF > /etc/x.conf\nkey=value\nEOF # buildkit"),
    ]
    env = ["GREETING=hello world", 'Q=say "hi"', "M=$HOME", "P=plain/v-1", "E="]
    config = {**img.config, "config": {**img.config["config"], "Env": env}}
    text = reconstruct(replace(img, history=tuple(entries), config=config)).text()
    assert "RUN <<IMGSCOPE_EOF\napt-get update\napt-get install -y curl\nIMGSCOPE_EOF\n" in text
    assert "RUN <<IMGSCOPE_EOF\ncat <<EOF > /etc/x.conf\nkey=value\nEOF\nIMGSCOPE_EOF\n" in text
    assert " \\\n" not in text
    quoted = ('ENV GREETING="hello world"', 'ENV Q="say \\"hi\\""', 'ENV M="\\$HOME"', "ENV P=plain/v-1", 'ENV E=""')
    for line in quoted:
        assert f"\n{line}\n" in text, line


def test_history_past_the_image_layers_makes_no_layer() -> None:
    """A history naming more layers than the image has: its extra entries made no layer (null, no "# layer N"),
    as `history` shows them, and a note says the two do not match."""
    img = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-a:1")
    config = {**img.config, "history": [{"created_by": f"/bin/sh -c echo {i}"} for i in range(len(img.layers) + 2)]}
    parsed = parse_config(config, "x")
    assert [h.layer_index for h in parsed.history] == [*range(len(img.layers)), None, None]
    assert parsed.notes and "the image has" in parsed.notes[0]


def test_layers_no_history_entry_made_are_said_not_dropped() -> None:
    """An image without history (or a short one) still has its layers: each gets a comment, after its own
    "# layer N" line, where the Dockerfile had only FROM and the config's settings."""
    from dataclasses import replace

    img = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-a:1")
    text = reconstruct(replace(img, history=())).text()
    for layer in range(len(img.layers)):
        assert f"\n# layer {layer}\n# no history entry says what made this layer\n" in text


def test_env_and_label_lines_are_quoted_as_a_dockerfile_reads_them() -> None:
    """Docker's bare ``NAME=value`` pairs are split at the config's settings and quoted where a value needs it (a
    space, a quote, a backslash); buildah's lines (the Dockerfile's own text, a value set again later) and the
    legacy ``ENV NAME value`` form are kept as they are."""
    from dataclasses import replace

    img = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-a:1")
    created = [
        '/bin/sh -c #(nop)  ENV GREETING=hello world Q=say "hi" M=$HOME',
        '/bin/sh -c #(nop) ENV P="plain v" A=1',  # buildah's line; P set again below: kept as written
        "/bin/sh -c #(nop) ENV OLD value with spaces",
        "/bin/sh -c #(nop)  LABEL maintainer=Team <team@example.com> version=1",
        '/bin/sh -c #(nop)  LABEL json={"k":"v"}',
        "/bin/sh -c #(nop)  ENV W=C:\\dir\\sub",
        "/bin/sh -c #(nop)  ENV P=later",
    ]
    entries = [replace(img.history[0], created_by=c, empty_layer=True) for c in created]
    env = ["GREETING=hello world", 'Q=say "hi"', "M=$HOME", "P=later", "A=1", "OLD=value with spaces", "W=C:\\dir\\sub"]
    labels = {"maintainer": "Team <team@example.com>", "version": "1", "json": '{"k":"v"}'}
    inner = {**img.config["config"], "Env": env, "Labels": labels}
    text = reconstruct(replace(img, history=tuple(entries), config={**img.config, "config": inner})).text()
    for line in (
        'ENV GREETING="hello world" Q="say \\"hi\\"" M="\\$HOME"',
        'ENV P="plain v" A=1',
        "ENV OLD value with spaces",
        'LABEL maintainer="Team <team@example.com>" version=1',
        'LABEL json="{\\"k\\":\\"v\\"}"',
        'ENV W="C:\\\\dir\\\\sub"',
        "ENV P=later",
    ):
        assert f"\n{line}\n" in text, line

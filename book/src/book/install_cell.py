# The first cell of the notebooks Colab and Binder open (book.notebook adds a Colab form
# title and writes the two lines marked "written by make notebooks"). It installs the packages
# the chapters import with --no-deps, then only those of vae's requirements (with its widgets
# extra) that are not installed at all, pinned to every version already installed: no installed
# package changes (not ipywidgets, IPython, numpy or torch), so the running kernel needs no
# restart. A failed install stops "Run all" with a message saying what to do, not pip's traceback.
import importlib.metadata as metadata
import importlib.util
import re
import subprocess
import sys
import tempfile

REPOSITORY = "https://github.com/OWNER/REPO, branch main"  # written by make notebooks
PACKAGES: dict[str, str] = {}  # written by make notebooks: import name -> pip requirement


class NotInstalled(Exception):
    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self)]


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True)


wanted = [req for name, req in PACKAGES.items() if importlib.util.find_spec(name) is None]
if wanted:
    done = pip("--no-deps", *wanted)
    if done.returncode != 0:
        said = (done.stderr + done.stdout).strip().splitlines() or ["(no message)"]
        why = [line.strip() for line in said if re.search(r"fatal:|ERROR:|No such", line)]
        raise NotInstalled(
            f"Could not install the book's packages from {REPOSITORY}.\n"
            f"pip: {(why or said)[-1]}\n"
            "The notebooks install them from that repository and branch. If they are not"
            " published yet (or are private), publish them first, or install the packages from"
            " a copy of the repository (`pip install --no-deps /path/to/it /path/to/it/book`),"
            " then run this notebook again."
        )
    importlib.invalidate_caches()
    required = [r for r in metadata.requires("vae") or [] if "extra" not in r or "widgets" in r]
    missing = []
    for requirement in required:
        try:
            metadata.version(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
        except metadata.PackageNotFoundError:
            missing.append(requirement.split(";")[0].strip())
    if missing:  # pinned to what is installed: nothing installed moves
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as pins:
            for dist in metadata.distributions():
                if dist.metadata["Name"]:
                    pins.write(f"{dist.metadata['Name']}=={dist.version}\n")
        done = pip("-c", pins.name, *missing)
        if done.returncode != 0:
            raise NotInstalled(
                f"The book's packages are installed, but not vae's requirements {missing}:\n"
                + done.stderr.strip()[-1500:]
            )
    names = [req.split(" @")[0] for req in wanted]
    print(
        "Installed "
        + ", ".join(f"{n} {metadata.version(n)}" for n in names)
        + (f", and the missing {', '.join(missing)}" if missing else "")
        + "; no installed package was changed."
    )
else:
    print(f"vae {metadata.version('vae')} and book are already installed: nothing to do.")

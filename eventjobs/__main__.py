"""``python -m eventjobs``: the command line, safe from a shadowing folder.

``python -m`` puts the current folder first on ``sys.path``. When this
package is installed through an import hook rather than a path entry (an
editable install), a folder named ``eventjobs`` there that is not this
package (a clone's checkout, seen from the folder that holds it) wins:
Python takes it for a namespace package, and ``eventjobs.journal`` for the
clone's ``journal/`` data folder. So, before anything else of the package
is imported, such path entries are dropped and the package is imported
again, from where this file is.
"""

import os
import sys


def _shadows(entry: str) -> bool:
    """Whether path *entry* holds an ``eventjobs`` folder that is no package."""
    folder = os.path.join(entry or os.curdir, "eventjobs")
    return os.path.isdir(folder) and not os.path.isfile(
        os.path.join(folder, "__init__.py")
    )


def _unshadow() -> None:
    package = sys.modules.get("eventjobs")
    if package is None or getattr(package, "__file__", None) is not None:
        return  # the package itself (a regular package has its __init__)
    sys.path[:] = [entry for entry in sys.path if not _shadows(entry)]
    # Only the namespace package is imported so far (runpy found this
    # file through the hook); the next import finds the package itself.
    del sys.modules["eventjobs"]


_unshadow()

from eventjobs.cli import main  # (only once the path is safe)

sys.exit(main())

"""Settings for the whole suite."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# The parser's caches (volnux.dsl.cache) go to a folder of this run's own, so
# that tests neither read nor fill the user's; child processes inherit it.
if "VOLNUX_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="volnux-test-cache-")
    os.environ["VOLNUX_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

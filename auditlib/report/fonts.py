"""The one CJK font used by PDFs and charts: Noto Sans CJK from Debian's ``fonts-noto-cjk``.

``AUDITLIB_CJK_FONT`` may name another font file (e.g. on a non-Debian machine).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)


@cache
def cjk_font_path() -> Path | None:
    env = os.environ.get("AUDITLIB_CJK_FONT")
    for p in ((env,) if env else ()) + CANDIDATES:
        if p and Path(p).exists():
            return Path(p)
    return None


@cache
def setup_matplotlib() -> str | None:
    """Register the CJK font with matplotlib and make it the default; returns its name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, rcParams

    path = cjk_font_path()
    if path is None:
        return None
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [name, *rcParams["font.sans-serif"]]
    rcParams["axes.unicode_minus"] = False
    return name

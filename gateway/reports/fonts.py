"""Font registration and per-run fallback for CJK text.

Latin, Greek and Cyrillic use the DejaVu files shipped in `fonts/` (embedded as subsets in every
PDF). DejaVu has no CJK glyphs, so runs of CJK characters are wrapped in ``<font name=...>``:

- the project ships Droid Sans Fallback (Apache-2.0, in `fonts/`); ``JGW_REPORT_CJK_FONT`` names
  another file, and the system's copies (Debian ``fonts-droid-fallback``, ``fonts-wqy-*``) are
  tried next; that font is embedded as a subset, so every viewer shows the text;
- otherwise (the shipped file removed) ReportLab's built-in CID fonts (Adobe's Asian font
  packs) are referenced without embedding: text extraction and search work everywhere, and
  Acrobat, Preview and browsers draw the glyphs, but a viewer without CJK fonts (bare poppler)
  draws boxes.

Registration happens once per process (ReportLab keeps fonts in a global registry).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).with_name("fonts")
SANS = "JgwSans"
SANS_BOLD = "JgwSans-Bold"
SANS_ITALIC = "JgwSans-Oblique"
MONO = "JgwMono"
CJK = "JgwCJK"

CJK_FONT_CANDIDATES = (
    str(FONT_DIR / "DroidSansFallbackFull.ttf"),
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
# CID fallbacks: Japanese when the run has kana, Korean when it has Hangul, else Chinese.
_CID_JA, _CID_KO, _CID_ZH = "HeiseiKakuGo-W5", "HYGothic-Medium", "STSong-Light"

# CJK radicals, kana, CJK symbols and punctuation, Hangul, unified ideographs (+ext A),
# compatibility ideographs and full-width forms.
_CJK_RUN = re.compile(
    "[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u312f\u3130-\u318f\u31f0-\u31ff\u3200-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+"
)
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile("[\u3130-\u318f\ua960-\ua97f\uac00-\ud7af]")


def _family(name: str, normal: str, bold: str, italic: str, bold_italic: str) -> None:
    # addMapping lets <b>/<i> inside a <font name=...> run find a face instead of raising.
    for is_bold, is_italic, face in ((0, 0, normal), (1, 0, bold), (0, 1, italic)):
        addMapping(name, is_bold, is_italic, face)
    addMapping(name, 1, 1, bold_italic)


@functools.cache
def register_fonts() -> None:
    """Register the shipped DejaVu faces under the `SANS`/`MONO` family names (idempotent)."""
    for name, file in (
        (SANS, "DejaVuSans.ttf"),
        (SANS_BOLD, "DejaVuSans-Bold.ttf"),
        (SANS_ITALIC, "DejaVuSans-Oblique.ttf"),
        (MONO, "DejaVuSansMono.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    # No bold-oblique file is shipped (600 KB for a rare combination): bold stands in.
    _family(SANS, SANS, SANS_BOLD, SANS_ITALIC, SANS_BOLD)
    _family(MONO, MONO, MONO, MONO, MONO)


def cjk_font_file() -> Path | None:
    """The embeddable CJK font to use, or None when only the CID fallback is available."""
    configured = os.environ.get("JGW_REPORT_CJK_FONT")
    for candidate in ([configured] if configured else []) + list(CJK_FONT_CANDIDATES):
        path = Path(candidate)
        if path.is_file():
            return path
    return None


@functools.cache
def _cjk_faces() -> tuple[str, str, str] | None:
    """Register CJK fonts on first use: (japanese, korean, chinese) font names."""
    path = cjk_font_file()
    if path is not None:
        try:
            pdfmetrics.registerFont(TTFont(CJK, str(path), subfontIndex=0))
        except Exception:  # noqa: BLE001 - a broken system font must not stop the export
            path = None
        else:
            _family(CJK, CJK, CJK, CJK, CJK)
            return (CJK, CJK, CJK)
    for name in (_CID_JA, _CID_KO, _CID_ZH):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
        _family(name, name, name, name, name)
    return (_CID_JA, _CID_KO, _CID_ZH)


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def _wrap_run(match: re.Match[str]) -> str:
    run = match.group(0)
    faces = _cjk_faces()
    assert faces is not None
    japanese, korean, chinese = faces
    face = japanese if _KANA.search(run) else korean if _HANGUL.search(run) else chinese
    return f'<font name="{face}">{run}</font>'


def mark_cjk(escaped: str) -> str:
    """Wrap CJK runs of already-escaped paragraph markup text in a CJK `<font>` tag."""
    if not _CJK_RUN.search(escaped):
        return escaped
    return _CJK_RUN.sub(_wrap_run, escaped)

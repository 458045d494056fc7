import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from cimtwin.errors import GeographicCRSError  # noqa: E402
from cimtwin.viz.static_maps import _nice_length, static_map  # noqa: E402


@pytest.mark.parametrize("span, expected", [(10_000, 2000), (9_000, 1000), (30_000, 5000), (700, 100)])
def test_nice_scale_bar_length(span, expected):
    assert _nice_length(span) == expected


def test_map_has_legend_scale_bar_and_north_arrow(tiny_model, tmp_path):
    fig = static_map(tiny_model, title="test")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "N" in texts                                   # north arrow
    assert any(t.endswith(" km") or t.endswith(" m") for t in texts)  # scale bar end label
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("districts" in t for t in labels)
    assert any("gazette" in t for t in labels)            # the highlighted gazette roads
    path = tmp_path / "map.png"
    fig.savefig(path)
    assert path.stat().st_size > 10_000


def test_scale_bar_is_in_metres(tiny_model):
    fig = static_map({"districts": tiny_model.layer("districts")})
    ax = fig.axes[0]
    width_m = ax.get_xlim()[1] - ax.get_xlim()[0]
    end = [t.get_text() for t in ax.texts if t.get_text().endswith("km")][0]
    assert float(end.split()[0]) * 1000 == pytest.approx(_nice_length(width_m))


def test_lonlat_only_is_refused(tiny_model):
    with pytest.raises(GeographicCRSError):
        static_map({"districts": tiny_model.layer("districts").to_crs("EPSG:4326")})


def test_cjk_font_is_the_packaged_noto():
    from cimtwin.viz.static_maps import bilingual, cjk_font

    assert cjk_font() == "Noto Sans CJK SC"
    assert bilingual("区县", "districts") == "区县 districts"


def _render(text: str, family: str):
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 1), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.05, 0.3, text, fontfamily=family, fontsize=20)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., 0] < 128


def test_chinese_text_is_not_tofu():
    """Each glyph exists in the font, and 济南 and 区县 render as different ink (tofu boxes look alike)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from cimtwin.viz.static_maps import cjk_font

    path = font_manager.findfont(font_manager.FontProperties(family=cjk_font()), fallback_to_default=False)
    font = FT2Font(path)
    assert all(font.get_char_index(ord(c)) > 0 for c in "济南区县覆盖缺口风险等级应急避难场所")
    a, b = _render("济南", cjk_font()), _render("区县", cjk_font())
    assert a.sum() > 50 and b.sum() > 50 and (a != b).sum() > 50
    # DejaVu Sans has no CJK glyphs: both strings become the same missing-glyph boxes.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matplotlib warns about the missing glyphs, as intended
        ta, tb = _render("济南", "DejaVu Sans"), _render("区县", "DejaVu Sans")
    assert (ta != tb).sum() == 0


def test_map_title_renders_in_chinese(tiny_model, tmp_path):
    fig = static_map(tiny_model, title="济南 覆盖缺口")
    ax = fig.axes[0]
    assert "区县 districts" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.title.get_fontname() == "Noto Sans CJK SC"

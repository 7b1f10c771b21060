"""Figures as bytes: what a widget shows in an ``ipywidgets.Image`` (the crop panel, the upload
handler of chapter 05, the web app)."""
from __future__ import annotations


def figure_png(fig, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes, closed afterwards: what a widget panel shows in an
    ``ipywidgets.Image`` (headless runs hung intermittently on ``Output``-widget capture)."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()

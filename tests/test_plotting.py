"""The scrubber's print form: a small multiple of its frames, for the PDF edition."""

import io

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gdlens.plotting import Scrubber, figure_png


def _frames(n):
    images = []
    for i in range(n):
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [0, i])
        images.append(figure_png(fig))
    return images, [f"k = {i}" for i in range(n)]


def test_small_multiple_is_a_deterministic_png_that_the_display_system_offers():
    scrubber = Scrubber(*_frames(7))
    png = scrubber.small_multiple()
    assert png.startswith(b"\x89PNG") and png == scrubber.small_multiple()
    assert scrubber._repr_png_() == png
    image = mpimg.imread(io.BytesIO(png), format="png")
    height, width = image.shape[:2]
    # six panels in three columns: two rows, each panel wider than tall like the frames
    assert width > height > 0


def test_small_multiple_never_repeats_a_frame_when_there_are_few():
    scrubber = Scrubber(*_frames(2))
    one_row = mpimg.imread(io.BytesIO(scrubber.small_multiple(panels=6, columns=3)), format="png")
    two_rows = mpimg.imread(io.BytesIO(Scrubber(*_frames(6)).small_multiple(panels=6, columns=3)), format="png")
    assert one_row.shape[0] < two_rows.shape[0]
    assert np.isclose(one_row.shape[1], two_rows.shape[1], rtol=0.05)


@pytest.mark.parametrize(
    ("kwargs", "error"), [({"panels": 1}, ValueError), ({"columns": 0}, ValueError), ({"panels": 2.5}, TypeError)]
)
def test_small_multiple_rejects_bad_layouts(kwargs, error):
    with pytest.raises(error):
        Scrubber(*_frames(3)).small_multiple(**kwargs)

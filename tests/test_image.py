"""The one image decoder: an upload (decoded with a pixel limit) and a file give the same pixels."""

import io

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import image_kinds, smooth_image

from paddlefcn.data import read_image
from paddlefcn.utils.image import ImageTooLargeError, decode_image


def cmyk_jpeg(image):
    buffer = io.BytesIO()
    Image.fromarray(image).convert("CMYK").save(buffer, format="JPEG")
    return buffer.getvalue()


KINDS = {**image_kinds(smooth_image(37, 51, seed=1)), "cmyk.jpg": cmyk_jpeg(smooth_image(37, 51, seed=1))}


@pytest.mark.parametrize("name", list(KINDS))
def test_an_upload_decodes_as_the_file_reads(tmp_path, name):
    (tmp_path / name).write_bytes(KINDS[name])
    upload = decode_image(KINDS[name], max_pixels=37 * 51)
    assert upload.shape == (37, 51, 3) and upload.dtype == np.uint8
    np.testing.assert_array_equal(upload, read_image(tmp_path / name))


def test_the_pixel_limit_is_checked_on_the_header():
    with pytest.raises(ImageTooLargeError, match=r"^image is 51x37 = 1887 pixels, more than the limit of 1886$"):
        decode_image(KINDS["png8.png"], max_pixels=37 * 51 - 1)

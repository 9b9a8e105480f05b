"""Image bytes in and out, in one place for the CLI, the server, the datasets and the
evaluation.

* :func:`decode_image` / :func:`load_image`: any format of :data:`INPUT_FORMATS` to an
  array keeping bit depth and channels (``HxW``, ``HxWx3`` or ``HxWx4``; uint8, or uint16
  for 16-bit PNG / TIFF), EXIF orientation applied, the pixel count checked from the
  header before anything is decoded (:data:`DEFAULT_MAX_PIXELS`).
* :func:`encode_image` / :func:`save_image`: an array to the format of
  :data:`WRITE_FORMATS`, restoring LA / 1-bit modes, ICC profile and DPI from ``info``;
  files are written atomically.
* Masks: non-zero in any colour channel = hole (an alpha channel is ignored), from a file
  (:func:`load_mask`), bytes (:func:`decode_mask`), an array or a PIL image
  (:func:`mask_array`), or a box ``X,Y,W,H`` (:func:`box_mask`).

Sizes in messages are always ``WIDTHxHEIGHT`` (:func:`size_text`).
"""

from __future__ import annotations

import io
import logging
import os
import struct
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError, ImageTooLargeError
from ..pixels import hole_mask, size_text, to_uint8
from .files import atomic_write_bytes, read_regular_file

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "INPUT_FORMATS",
    "MEDIA_TYPES",
    "WRITE_FORMATS",
    "apply_exif_orientation",
    "box_mask",
    "decode_image",
    "decode_mask",
    "encode_image",
    "load_image",
    "load_mask",
    "mask_array",
    "output_format_for",
    "pil_to_array",
    "probe_image",
    "read_rgb8",
    "save_image",
    "size_text",
    "to_rgb8",
]

logger = logging.getLogger(__name__)

#: Largest image accepted by default, in pixels (width x height), checked before decoding.
DEFAULT_MAX_PIXELS = 40_000_000
#: Largest image file read, in bytes (an endless stream is refused long before).
MAX_FILE_BYTES = 1 << 30

_WANTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "PPM", "TGA", "AVIF")


def _readable_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in _WANTED_FORMATS if f in Image.OPEN)


#: Pillow formats read from files and uploads, those of this Pillow only (no EPS, PDF and
#: the like: Pillow would run external programs). Multi-picture JPEGs (MPO) open as JPEG.
INPUT_FORMATS: tuple[str, ...] = _readable_formats()
#: File extensions of :data:`INPUT_FORMATS` (what folder modes look for).
IMAGE_EXTENSIONS: tuple[str, ...] = tuple(sorted(
    ext for ext, fmt in Image.registered_extensions().items() if fmt in INPUT_FORMATS))
#: File extensions written, and their Pillow format names.
WRITE_FORMATS: dict[str, str] = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG",
                                 ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}
#: Media type of each written format.
MEDIA_TYPES: dict[str, str] = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp",
                               "BMP": "image/bmp", "TIFF": "image/tiff"}
_SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
_DECODE_ERRORS = (OSError, UnidentifiedImageError, SyntaxError, ValueError, TypeError,
                  EOFError, IndexError, KeyError, struct.error)




def output_format_for(input_format: str | None) -> str:
    """The written format that keeps an input's format (``MPO`` as JPEG), else PNG."""
    fmt = "JPEG" if input_format == "MPO" else (input_format or "")
    return fmt if fmt in MEDIA_TYPES else "PNG"


# ---------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------
_ORIENT = {  # EXIF orientation -> numpy transform (same as PIL.ImageOps.exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def apply_exif_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an ``HxW[xC]`` array (as ``ImageOps.exif_transpose``)."""
    f = _ORIENT.get(orientation)
    return np.ascontiguousarray(f(a)) if f else a


def _open(data: bytes, what: str, max_pixels: int | None) -> Image.Image:
    """Open ``data`` (header only) and check its size against ``max_pixels``."""
    if not data:
        raise ImageError(f"{what} is empty")
    limit = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None and limit is not None and max_pixels > limit:
        # A limit asked for above Pillow's own: Pillow refuses images over twice its
        # MAX_IMAGE_PIXELS at open, so raise it (never lowered: other callers keep theirs).
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():  # our own limit below is the one that counts
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=INPUT_FORMATS)
    except Image.DecompressionBombError as e:
        raise ImageTooLargeError(f"{what} is too large: {e}") from e
    except _DECODE_ERRORS as e:
        raise ImageError(f"{what} is not an image in a format this tool reads "
                         f"({', '.join(INPUT_FORMATS)})") from e
    w, h = im.size
    if max_pixels is not None and w * h > max_pixels:
        raise ImageTooLargeError(
            f"{what} is {size_text(w, h)} = {w * h / 1e6:.3g} megapixels, over the limit of "
            f"{max_pixels / 1e6:.3g} megapixels")
    if w == 0 or h == 0:
        raise ImageError(f"{what} is empty ({size_text(w, h)})")
    return im


def _is_16bit_colour(data: bytes, im: Image.Image) -> bool:
    """16-bit RGB(A) PNG / TIFF, which Pillow would reduce to 8 bits (read by OpenCV)."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        return len(data) > 24 and data[24] == 16  # IHDR bit depth
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        bits = bits if isinstance(bits, tuple) else (bits,)
        return bool(bits) and bits[0] == 16
    return False


def _read_16bit_colour(data: bytes, orientation: int) -> np.ndarray | None:
    a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None or a.dtype != np.uint16 or a.ndim != 3 or a.shape[2] not in (3, 4):
        return None
    a = cv2.cvtColor(a, cv2.COLOR_BGR2RGB if a.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return apply_exif_orientation(a, orientation)


def _pil_array(img: Image.Image) -> tuple[np.ndarray, str, int]:
    """(array, mode it stands for, bits) of a decoded Pillow image."""
    mode = img.mode
    if mode in ("L", "RGB", "RGBA"):
        return np.asarray(img), mode, 8
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(img)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"{mode} values outside 0..65535")
        return a.astype(np.uint16), "I;16", 16
    if mode == "1":
        return np.asarray(img.convert("L")), mode, 8
    if mode == "LA":
        return np.asarray(img.convert("RGBA")), mode, 8
    if mode == "F":
        raise ValueError("floating-point images are not supported")
    target = "RGBA" if ("A" in mode or "transparency" in img.info) else "RGB"
    return np.asarray(img.convert(target)), target, 8


def decode_image(data: bytes, what: str = "image",
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, dict[str, Any]]:
    """Decode image bytes to ``(array, info)``, keeping bit depth and channels.

    The array is ``HxW`` (grayscale), ``HxWx3`` (RGB) or ``HxWx4`` (RGBA), uint8 or uint16
    (16-bit PNG / TIFF); EXIF orientation applied. Palette images become RGB(A), LA becomes
    RGBA (written back as LA by :func:`encode_image`). ``info`` holds ``mode``, ``format``,
    ``bits`` and, when present, ``icc_profile`` and ``dpi``. Raises
    :class:`~context_encoder.errors.ImageTooLargeError` over ``max_pixels`` (None: no
    limit), :class:`~context_encoder.errors.ImageError` otherwise; messages start with
    ``what``.
    """
    im = _open(data, what, max_pixels)
    try:
        with im:
            fmt = im.format
            orientation = int(im.getexif().get(0x0112, 1) or 1)
            info: dict[str, Any] = {"format": fmt}
            for key in ("icc_profile", "dpi"):
                if im.info.get(key):
                    info[key] = im.info[key]
            if _is_16bit_colour(data, im):
                a16 = _read_16bit_colour(data, orientation)
                if a16 is not None:
                    info.update(bits=16, mode="RGB" if a16.shape[2] == 3 else "RGBA")
                    return np.ascontiguousarray(a16), info
            img = ImageOps.exif_transpose(im)
            img.load()
            a, mode, bits = _pil_array(img)
    except Image.DecompressionBombError as e:
        raise ImageTooLargeError(f"{what} is too large: {e}") from e
    except _DECODE_ERRORS as e:
        raise ImageError(f"{what} could not be decoded (corrupt or truncated?): {e}") from e
    info.update(mode=mode, bits=bits)
    return np.ascontiguousarray(a), info


def _read_file(path: str | os.PathLike, what: str) -> bytes:
    try:
        return read_regular_file(path, MAX_FILE_BYTES, what)
    except OSError as e:
        raise ImageError(str(e)) from e


def load_image(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS
               ) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`decode_image` of a file; errors read ``cannot read image 'PATH': ...``."""
    return _decode_file(decode_image, path, "image", max_pixels)


def _decode_file(decode: Callable[..., Any], path: str | os.PathLike, what: str,
                 max_pixels: int | None) -> Any:
    """``decode(bytes of path, ...)`` with errors that name the file and the way out."""
    data = _read_file(path, what)
    try:
        return decode(data, f"{what} {str(path)!r}", max_pixels)
    except ImageTooLargeError as e:
        raise ImageTooLargeError(f"{e} (raise it with --max-megapixels)") from e
    except ImageError as e:
        raise ImageError(f"cannot read {e}") from e


def probe_image(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image file from its header, after a structural check."""
    data = _read_file(path, "image")
    try:
        with _open(data, f"image {str(path)!r}", None) as im:
            size = im.size
            im.verify()
    except _DECODE_ERRORS as e:
        raise ImageError(f"cannot read image {str(path)!r}: {e}") from e
    return size


def to_rgb8(a: np.ndarray) -> np.ndarray:
    """An array from :func:`decode_image` as ``HxWx3`` uint8 RGB: 16 bits reduced, gray
    repeated, an alpha channel composited over white."""
    if a.dtype == np.uint16:
        a = np.rint(a / 257.0).astype(np.uint8)
    if a.ndim == 2:
        return np.repeat(a[..., None], 3, axis=2)
    if a.shape[2] == 4:
        alpha = a[..., 3:].astype(np.float32) / 255.0
        a = np.rint(a[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(a)


def read_rgb8(path: str | os.PathLike) -> np.ndarray:
    """An image file as ``HxWx3`` uint8 RGB (datasets: no pixel limit beyond Pillow's own)."""
    return to_rgb8(load_image(path, max_pixels=None)[0])


# ---------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------
def mask_array(mask: Any, shape: tuple[int, ...], what: str = "mask") -> np.ndarray:
    """A boolean ``HxW`` hole mask from a PIL image or an array of the image's size
    (:func:`context_encoder.pixels.hole_mask`: non-zero in any colour channel = hole)."""
    m = pil_to_array(mask)[0] if isinstance(mask, Image.Image) else mask
    return hole_mask(m, shape, what)


def decode_mask(data: bytes, what: str = "mask",
                max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A boolean ``HxW`` hole mask from image bytes (EXIF orientation applied)."""
    m = decode_image(data, what, max_pixels)[0]
    return hole_mask(m, m.shape, what)


def load_mask(path: str | os.PathLike, shape: tuple[int, ...],
              max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A boolean ``HxW`` hole mask from an image file; ``shape`` is the image's
    (``H, W[, C]``): another size raises ``ImageError`` naming the file and both sizes."""
    m = _decode_file(decode_mask, path, "mask", max_pixels)
    h, w = int(shape[0]), int(shape[1])
    if m.shape != (h, w):
        raise ImageError(f"mask {str(path)!r} is {size_text(m.shape[1], m.shape[0])} but the image is "
                         f"{size_text(w, h)} (width x height)")
    return m


def _box_values(box: str | Sequence[int]) -> list[int]:
    if isinstance(box, str):
        parts = [p.strip() for p in box.split(",")]
        try:
            vals = [int(p) for p in parts]
        except ValueError:
            vals = []
        if len(parts) != 4 or len(vals) != 4:
            raise ValueError(f"box {box!r} is malformed: expected X,Y,W,H as four integers")
        return vals
    vals = [int(v) for v in box]
    if len(vals) != 4:
        raise ValueError(f"box {tuple(box)!r} is malformed: expected (X, Y, W, H)")
    return vals


def box_mask(shape: tuple[int, ...], box: str | Sequence[int]) -> np.ndarray:
    """A boolean ``HxW`` mask with the rectangle ``"X,Y,W,H"`` (left, top, width, height
    in pixels) as the hole. Raises ``ValueError`` for a malformed box or one that is not
    entirely inside the image (naming the edge that is outside)."""
    h, w = int(shape[0]), int(shape[1])
    x, y, bw, bh = _box_values(box)
    text = f"box {x},{y},{bw},{bh}"
    if bw <= 0 or bh <= 0:
        raise ValueError(f"{text}: width and height must be positive")
    size = f"{size_text(w, h)} image"
    for bad, edge in ((x < 0, f"left edge x={x}"), (y < 0, f"top edge y={y}"),
                      (x + bw > w, f"right edge x+w={x + bw}"),
                      (y + bh > h, f"bottom edge y+h={y + bh}")):
        if bad:
            raise ValueError(f"{text}: {edge} is outside the {size}")
    m = np.zeros((h, w), dtype=bool)
    m[y : y + bh, x : x + bw] = True
    return m


# ---------------------------------------------------------------------------------------
# PIL images in the Python API
# ---------------------------------------------------------------------------------------
def pil_to_array(img: Image.Image) -> tuple[np.ndarray, Callable[[np.ndarray], Image.Image]]:
    """An array for the pipeline and the function that turns the result back into an
    image of the same mode (P, CMYK and other modes come back as RGB / RGBA)."""
    mode = img.mode
    if mode in ("L", "RGB", "RGBA"):
        return np.asarray(img), Image.fromarray
    if mode in ("I;16", "I;16L", "I;16B"):
        return np.asarray(img).astype(np.uint16), Image.fromarray
    if mode == "I":
        a = np.asarray(img)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError("mode 'I' images must hold values in 0..65535")
        return a.astype(np.uint16), lambda r: Image.fromarray(r.astype(np.int32))
    if mode == "F":
        a = np.asarray(img)
        if a.size and (a.min() < 0 or a.max() > 1):
            raise ValueError("mode 'F' images must hold values in 0..1")
        return a.astype(np.float32), Image.fromarray
    if mode == "1":
        return np.asarray(img.convert("L")), lambda r: Image.fromarray(r).convert("1")
    if mode == "LA":
        return np.asarray(img.convert("RGBA")), lambda r: Image.fromarray(r).convert("LA")
    has_alpha = "A" in mode or "transparency" in img.info
    return np.asarray(img.convert("RGBA" if has_alpha else "RGB")), Image.fromarray


# ---------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------
def _storable(arr: np.ndarray, fmt: str, what: str) -> np.ndarray:
    """``arr`` as uint8 / uint16 data that ``fmt`` stores (8 bits, no alpha, as needed)."""
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))) or arr.size == 0:
        raise ValueError(f"image must be HxW, HxWx1, HxWx3 or HxWx4, got shape {arr.shape}")
    if arr.dtype in (np.float32, np.float64):
        arr = to_uint8(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype == np.uint16 and fmt not in _SIXTEEN_BIT_FORMATS:
        logger.info("%s: %s stores 8 bits per channel; converting from 16", what, fmt)
        arr = np.rint(arr / 257.0).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 4 and fmt in ("JPEG", "BMP"):
        warnings.warn(f"{what}: {fmt} has no alpha channel; the alpha is dropped",
                      UserWarning, stacklevel=4)
        arr = arr[..., :3]
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot store dtype {arr.dtype}")
    return arr


def encode_image(arr: np.ndarray, fmt: str, info: dict[str, Any] | None = None,
                 what: str = "image") -> bytes:
    """``arr`` (as from :func:`decode_image`, or float in [0, 1]) as ``fmt`` bytes: 16 bits
    kept in PNG and TIFF, 8 bits elsewhere; ``info`` restores LA / 1-bit modes, the ICC
    profile and the DPI."""
    info = info or {}
    arr = _storable(np.asarray(arr), fmt, what)
    if arr.dtype == np.uint16 and arr.ndim == 3:
        code = cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
        ok, enc = cv2.imencode(".png" if fmt == "PNG" else ".tiff", cv2.cvtColor(arr, code))
        if not ok:
            raise ValueError("OpenCV could not encode the image")
        return enc.tobytes()
    img = Image.fromarray(np.ascontiguousarray(arr))
    mode = info.get("mode")
    if mode == "LA" and img.mode == "RGBA":
        img = img.convert("LA")
    elif mode == "1" and img.mode == "L" and fmt != "JPEG":
        img = img.convert("1")
    kwargs: dict[str, Any] = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    for key in ("icc_profile", "dpi"):
        if info.get(key) and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
            kwargs[key] = info[key]
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def save_image(array: np.ndarray, path: str | os.PathLike,
               info: dict[str, Any] | None = None) -> Path:
    """Write ``array`` to ``path`` atomically (temporary file + rename: no partial file is
    left behind on error); the format follows the extension (:data:`WRITE_FORMATS`).
    16-bit data is kept in PNG and TIFF and reduced to 8 bits elsewhere; an alpha channel
    is dropped (with a warning) for JPEG and BMP. ``info`` from :func:`load_image` restores
    LA / 1-bit modes, the ICC profile and the DPI."""
    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"cannot write image {str(path)!r}: unknown extension "
                         f"{path.suffix!r} (use one of {', '.join(WRITE_FORMATS)})")
    try:
        atomic_write_bytes(path, encode_image(array, fmt, info, repr(str(path))))
    except (OSError, ValueError, TypeError) as e:
        raise ImageError(f"cannot write image {str(path)!r}: {e}") from e
    return path

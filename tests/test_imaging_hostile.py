"""Hostile photo files give a clear one-line error or a clean read, never a traceback or a hang.

Absurd DPI fields, tRNS transparency of gray PNGs, valid BMP variants Pillow cannot read, pipes,
devices and broken symlinks named like photos, and control characters in file names. Every file is
made here, in tmp_path, by Pillow or byte by byte.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from engine.errors import OutputError, UnsupportedImage
from engine.imaging import PhotoMetadata, read_photo, read_preview_rgb, write_photo
from engine.imaging.decoding import _dpi

HUGE = 4294967295  # the largest uint32: what a damaged or hostile resolution field often holds
METADATA = PhotoMetadata(exif=None, icc_profile=None, dpi=None, source_format="PNG", source_mode="L")
OUTPUTS = [(".png", np.uint8), (".jpg", np.uint8), (".tif", np.uint8), (".png", np.uint16), (".tif", np.uint16)]
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX special files")


def gradient(width: int = 16, height: int = 12) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 13 + y * 7) % 256).astype(np.uint8)


def gray_rgb(luma: np.ndarray, dtype=np.uint8) -> np.ndarray:
    wide = luma.astype(np.uint16) * 257 if dtype == np.uint16 and luma.dtype == np.uint8 else luma
    return np.repeat(wide.astype(dtype)[..., None], 3, axis=2)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def gray_png(rows: list[bytes], width: int, depth: int, extra: bytes = b"") -> bytes:
    """A gray PNG of packed, unfiltered rows, with ``extra`` chunks before its IDAT."""
    header = struct.pack(">IIBBBBB", width, len(rows), depth, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")
    )


def with_chunk_after_ihdr(png: bytes, chunk: bytes) -> bytes:
    end_of_ihdr = 8 + 8 + 13 + 4
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def within(seconds: float, function, *args, unblock=None):
    """``function(*args)`` on a thread: its result, or its exception raised here. Fails (after
    calling ``unblock`` to free the thread) instead of hanging the suite when it blocks."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if unblock is not None:
            unblock()
        pytest.fail(f"{function.__name__} blocked for over {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# ---------------------------------------------------------------------------------------- DPI


def absurd_dpi_source(folder: Path, kind: str) -> Path:
    image = Image.fromarray(gradient())
    if kind == "jpeg-jfif":  # JFIF holds a uint16: Pillow writes what it can of the request
        image.save(folder / "a.jpg", dpi=(HUGE, HUGE))
        return folder / "a.jpg"
    if kind == "jpeg-exif":  # no JFIF density: Pillow takes XResolution from EXIF
        exif = Image.Exif()
        exif[282] = exif[283] = TiffImagePlugin.IFDRational(HUGE, 1)
        exif[296] = 2  # ResolutionUnit: inch
        image.save(folder / "a.jpg", exif=exif)
        return folder / "a.jpg"
    if kind == "tiff":
        image.save(folder / "a.tif", dpi=(HUGE, HUGE))
        return folder / "a.tif"
    # Pillow cannot write a pHYs this large (it overflows too): splice it into its PNG
    image.save(folder / "plain.png")
    huge = png_chunk(b"pHYs", struct.pack(">IIB", HUGE, HUGE, 1))
    (folder / "a.png").write_bytes(with_chunk_after_ihdr((folder / "plain.png").read_bytes(), huge))
    return folder / "a.png"


@pytest.mark.parametrize("suffix, dtype", OUTPUTS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("kind", ["jpeg-jfif", "jpeg-exif", "tiff", "png"])
def test_an_absurd_dpi_is_dropped_and_every_output_is_written(tmp_path, kind, suffix, dtype):
    photo = read_photo(absurd_dpi_source(tmp_path, kind))
    assert photo.metadata.dpi is None

    out = write_photo(tmp_path / "out" / f"result{suffix}", gray_rgb(photo.luma, dtype), photo.metadata)
    again = read_photo(out)
    assert again.size == photo.size
    assert np.abs(again.luma.astype(int) // (257 if again.bit_depth == 16 else 1) - photo.luma.astype(int)).mean() < 3


@pytest.mark.parametrize(
    "dpi",
    [
        pytest.param((HUGE, HUGE), id="uint32-max"),
        pytest.param((0, 0), id="zero"),
        pytest.param((-300, -300), id="negative"),
        pytest.param((300, 0), id="one-zero"),
        pytest.param((float("nan"),) * 2, id="nan"),
        pytest.param((float("inf"),) * 2, id="inf"),
        pytest.param((1e300, 1e300), id="huge-float"),
        pytest.param((65536, 300), id="over-jfif"),
        pytest.param((TiffImagePlugin.IFDRational(1, 0),) * 2, id="rational-1/0"),
        pytest.param((10**400, 300), id="int-beyond-float"),
        pytest.param((300,), id="one-value"),
        pytest.param("300", id="text"),
        pytest.param(("x", "y"), id="words"),
    ],
)
def test_dpi_fields_outside_1_to_65535_are_not_carried(dpi, caplog):
    with caplog.at_level(logging.INFO, logger="engine.imaging.decoding"):
        assert _dpi({"dpi": dpi}, swap=False, name="a.jpg") is None
    assert "a.jpg: not carrying its resolution" in caplog.text


def test_plausible_dpi_is_kept_and_swapped_with_the_rotation():
    assert _dpi({"dpi": (72, 600.5)}, swap=False, name="a.jpg") == (72.0, 600.5)
    assert _dpi({"dpi": (72, 600.5)}, swap=True, name="a.jpg") == (600.5, 72.0)
    assert _dpi({"dpi": (TiffImagePlugin.IFDRational(600, 1),) * 2}, False, "a") == (600.0, 600.0)
    assert _dpi({}, swap=False, name="a.jpg") is None


@pytest.mark.parametrize("suffix, dtype", OUTPUTS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("dpi", [(HUGE, HUGE), (float("nan"), 300), (1e12, 1e12), (-1, -1)], ids=repr)
def test_a_callers_bad_dpi_never_fails_a_write(tmp_path, dpi, suffix, dtype):
    metadata = PhotoMetadata(exif=None, icc_profile=None, dpi=dpi, source_format="PNG", source_mode="L")
    out = write_photo(tmp_path / f"out{suffix}", gray_rgb(gradient(), dtype), metadata)
    assert read_photo(out).metadata.dpi in (None, (1.0, 1.0))  # Pillow's TIFF default when absent


# ------------------------------------------------------------------------------- transparency


@pytest.mark.parametrize("key", [0, 1])
def test_1_bit_png_transparency_becomes_alpha_and_is_written(tmp_path, key):
    bits = gradient(5, 4) % 3 == 0  # a mix of black and white
    Image.fromarray(bits).convert("1").save(tmp_path / "bits.png", transparency=key)
    photo = read_photo(tmp_path / "bits.png")
    assert photo.alpha is not None and photo.alpha.dtype == np.uint8
    assert np.array_equal(photo.alpha, np.where(bits == bool(key), 0, 255))

    out = write_photo(tmp_path / "out.png", gray_rgb(photo.luma), photo.metadata, alpha=photo.alpha)
    assert np.array_equal(read_photo(out).alpha, photo.alpha)


def test_8_bit_gray_png_transparency_becomes_alpha(tmp_path):
    luma = gradient(5, 4)
    Image.fromarray(luma).save(tmp_path / "gray.png", transparency=int(luma[1, 2]))
    photo = read_photo(tmp_path / "gray.png")
    assert np.array_equal(photo.alpha, np.where(luma == luma[1, 2], 0, 255))


@pytest.mark.parametrize("depth", [2, 4])
def test_2_and_4_bit_gray_png_transparency_becomes_alpha(tmp_path, depth):
    top = (1 << depth) - 1
    values = np.array([[0, top, 1, top], [top, 0, 0, 1]], np.uint8)  # 4 pixels a row
    rows = [np.packbits(np.unpackbits(row[:, None], axis=1)[:, 8 - depth :]).tobytes() for row in values]
    extra = png_chunk(b"tRNS", struct.pack(">H", top))
    (tmp_path / "low.png").write_bytes(gray_png(rows, 4, depth, extra))
    photo = read_photo(tmp_path / "low.png")
    assert np.array_equal(photo.luma, values.astype(int) * 255 // top)
    assert np.array_equal(photo.alpha, np.where(values == top, 0, 255))


def test_16_bit_gray_png_transparency_becomes_16_bit_alpha_and_is_written(tmp_path):
    luma = np.array([[1000, 2000, 1000, 65535], [3000, 1000, 0, 1000]], np.uint16)
    Image.fromarray(luma).save(tmp_path / "deep.png", transparency=1000)  # Pillow writes tRNS
    photo = read_photo(tmp_path / "deep.png")
    assert photo.bit_depth == 16 and np.array_equal(photo.luma, luma)
    assert photo.alpha is not None and photo.alpha.dtype == np.uint16
    assert np.array_equal(photo.alpha, np.where(luma == 1000, 0, 65535))

    out = write_photo(tmp_path / "out.png", gray_rgb(photo.luma), photo.metadata, alpha=photo.alpha)
    assert np.array_equal(read_photo(out).alpha == 0, luma == 1000)


def test_16_bit_transparency_turns_with_the_exif_orientation(tmp_path):
    luma = np.array([[7, 1, 1], [1, 1, 1]], np.uint16) * 1000
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    Image.fromarray(luma).save(tmp_path / "turned.png", transparency=7000, exif=exif)
    photo = read_photo(tmp_path / "turned.png")
    assert photo.size == (2, 3) and np.array_equal(photo.alpha == 0, photo.luma == 7000)
    assert photo.alpha[0, 1] == 0  # top left of the file is top right when upright


def test_a_16_bit_key_no_pixel_has_is_no_transparency(tmp_path):
    Image.fromarray(np.full((3, 4), 500, np.uint16)).save(tmp_path / "k.png", transparency=9)
    assert read_photo(tmp_path / "k.png").alpha is None


# ------------------------------------------------------------------------------ BMP variants


def bmp(header_size: int = 40, bits: int = 24, compression: int = 0, body: bytes = b"", masks: bytes = b"") -> bytes:
    """A 2x2 BMP: file header, a BITMAPINFOHEADER (or a ``header_size`` one), masks, body."""
    info = struct.pack("<IiiHHIIiiII", header_size, 2, 2, 1, bits, compression, len(body), 2835, 2835, 0, 0)
    info = info.ljust(header_size, b"\x00")[: max(header_size, 16)]
    offset = 14 + len(info) + len(masks)
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + info + masks + body


@pytest.mark.parametrize(
    "data, reason",
    [
        (bmp(compression=4, body=b"\xff\xd8\xff\xd9"), "Unsupported BMP compression (4)"),  # BI_JPEG
        (bmp(compression=5, body=b"\x89PNG\r\n\x1a\n"), "Unsupported BMP compression (5)"),  # BI_PNG
        (bmp(bits=0, compression=4), "Unsupported BMP pixel depth (0)"),  # as Windows writes BI_JPEG
        (bmp(header_size=20), "Unsupported BMP header type (20)"),
        (
            bmp(bits=32, compression=3, masks=struct.pack("<III", 0x3FF00000, 0xFFC00, 0x3FF), body=bytes(16)),
            "Unsupported BMP bitfields layout",
        ),  # 10 bits a channel
    ],
    ids=["BI_JPEG", "BI_PNG", "BI_JPEG-0-bits", "header-20", "bitfields-10-bit"],
)
def test_valid_bmp_variants_pillow_cannot_read_are_called_unsupported(tmp_path, data, reason):
    (tmp_path / "scan.bmp").write_bytes(data)
    expected = f"scan.bmp: unsupported BMP variant ({reason}); convert it to PNG or TIFF"
    for read in (read_photo, lambda path: read_preview_rgb(path, 8)):
        with pytest.raises(UnsupportedImage) as caught:
            read(tmp_path / "scan.bmp")
        assert str(caught.value) == expected


def test_a_cut_bmp_header_is_still_damaged(tmp_path):
    (tmp_path / "cut.bmp").write_bytes(bmp()[:20])
    with pytest.raises(UnsupportedImage, match=r"cut\.bmp: damaged image header"):
        read_photo(tmp_path / "cut.bmp")


# ----------------------------------------------------------------------------- special files


def open_fifo_for_writing(path: Path) -> None:
    """Free a reader stuck opening ``path`` (a regression): give it a writer that closes at once."""
    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def refusal(function, path: Path, unblock=None) -> str:
    with pytest.raises(UnsupportedImage) as caught:
        within(5, function, path, unblock=unblock)
    return str(caught.value)


READERS = [read_photo, lambda path: read_preview_rgb(path, 8)]


@posix_only
@pytest.mark.parametrize("read", READERS, ids=["read_photo", "read_preview_rgb"])
def test_a_named_pipe_named_like_a_photo_is_refused_without_blocking(tmp_path, read):
    os.mkfifo(tmp_path / "pipe.jpg")
    message = refusal(read, tmp_path / "pipe.jpg", unblock=lambda: open_fifo_for_writing(tmp_path / "pipe.jpg"))
    assert message == "pipe.jpg: not a regular file (a named pipe), not a photo"


@posix_only
@pytest.mark.parametrize("read", READERS, ids=["read_photo", "read_preview_rgb"])
def test_a_symlink_loop_is_refused(tmp_path, read):
    os.symlink(tmp_path / "b.jpg", tmp_path / "a.jpg")
    os.symlink(tmp_path / "a.jpg", tmp_path / "b.jpg")
    assert refusal(read, tmp_path / "a.jpg") == "a.jpg: a symbolic link that loops"


@posix_only
@pytest.mark.parametrize("read", READERS, ids=["read_photo", "read_preview_rgb"])
def test_a_dangling_symlink_is_refused(tmp_path, read):
    os.symlink(tmp_path / "gone.jpg", tmp_path / "link.jpg")
    assert refusal(read, tmp_path / "link.jpg") == "link.jpg: a symbolic link that points nowhere"


@posix_only
@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_named_like_a_photo_is_refused(tmp_path):
    os.symlink("/dev/null", tmp_path / "null.jpg")
    message = refusal(read_photo, tmp_path / "null.jpg")
    assert message == "null.jpg: not a regular file (a device), not a photo"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_a_socket_named_like_a_photo_is_refused(tmp_path):
    path = tmp_path / "s.jpg"
    if len(os.fsencode(path)) > 100:  # sun_path holds about 108 bytes
        pytest.skip("temporary folder path too long for a Unix socket")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(os.fspath(path))
        message = refusal(read_photo, path)
    assert message == "s.jpg: not a regular file (a socket), not a photo"


def test_a_folder_named_like_a_photo_is_refused(tmp_path):
    (tmp_path / "album.jpg").mkdir()
    assert refusal(read_photo, tmp_path / "album.jpg") == "album.jpg: is a folder, not a photo"


@posix_only
def test_a_symlink_to_a_photo_reads_normally(tmp_path):
    Image.fromarray(gradient()).save(tmp_path / "real.png")
    os.symlink(tmp_path / "real.png", tmp_path / "link.png")
    assert np.array_equal(within(5, read_photo, tmp_path / "link.png").luma, gradient())


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_refusals_leave_no_file_open(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    os.symlink(tmp_path / "gone.jpg", tmp_path / "link.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    (tmp_path / "scan.bmp").write_bytes(bmp(compression=4))
    before = len(os.listdir("/proc/self/fd"))
    for name in ("pipe.jpg", "link.jpg", "junk.jpg", "scan.bmp") * 5:
        refusal(read_photo, tmp_path / name)
    assert len(os.listdir("/proc/self/fd")) == before


# ---------------------------------------------------------------------------------- messages


def one_line(message: str) -> bool:
    return len(message.splitlines()) == 1 and message.isprintable()


@pytest.mark.parametrize(
    "name, shown",
    [
        ("bad\nname.jpg", "bad\\nname.jpg"),
        ("tab\there.jpg", "tab\\there.jpg"),
        ("cr\r.jpg", "cr\\r.jpg"),
        ("esc\x1b[31mred.jpg", "esc\\x1b[31mred.jpg"),
        ("nel\x85.jpg", "nel\\x85.jpg"),
        ("line\u2028sep.jpg", "line\\u2028sep.jpg"),
    ],
    ids=repr,
)
def test_control_characters_in_a_name_keep_the_message_on_one_line(tmp_path, name, shown):
    Image.fromarray(gradient()).save(tmp_path / "whole.jpg")
    (tmp_path / name).write_bytes((tmp_path / "whole.jpg").read_bytes()[:200])  # corrupt
    for read in READERS:
        message = refusal(read, tmp_path / name)
        assert one_line(message) and message.startswith(f"{shown}: damaged ")


def test_a_missing_file_with_a_newline_in_its_name_is_one_line(tmp_path):
    assert refusal(read_photo, tmp_path / "gone\n.jpg") == "gone\\n.jpg: no such file"


@pytest.mark.skipif(
    sys.getfilesystemencoding().lower() != "utf-8" or sys.platform == "darwin",
    reason="needs a file system that takes any bytes as a name",
)
def test_an_undecodable_name_gives_a_message_that_encodes(tmp_path):
    path = tmp_path / os.fsdecode(b"old\xff.jpg")  # the byte becomes a lone surrogate
    path.write_bytes(b"not a photo")
    message = refusal(read_photo, path)
    assert message.encode("utf-8") and message.startswith("old\\udcff.jpg: not an image file")


def test_write_errors_about_a_name_are_one_line(tmp_path):
    with pytest.raises(OutputError) as caught:
        write_photo(tmp_path / "out\n.gif", gray_rgb(gradient()), METADATA)
    assert one_line(str(caught.value)) and str(caught.value).startswith("out\\n.gif: ")

    source = tmp_path / "in\n.png"
    Image.fromarray(gradient()).save(source)
    with pytest.raises(OutputError) as caught:
        write_photo(source, gray_rgb(gradient()), METADATA, forbidden=[source], replace=True)
    assert one_line(str(caught.value)) and "refusing to overwrite" in str(caught.value)


@pytest.mark.parametrize(("suffix", "limit"), [(".jpg", 65535), (".webp", 16383)])
def test_a_result_wider_than_its_format_holds_is_refused_in_one_line(tmp_path, suffix, limit):
    wide = np.zeros((2, limit + 1, 3), np.uint8)  # an upscaled panorama, say
    with pytest.raises(OutputError) as caught:
        write_photo(tmp_path / f"pano{suffix}", wide, METADATA)
    assert f"at most {limit} pixels a side" in str(caught.value) and "PNG or TIFF" in str(caught.value)
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file
    write_photo(tmp_path / "pano.png", wide, METADATA)  # PNG holds it

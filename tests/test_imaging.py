"""Reading photos and writing results with engine.imaging, on tiny images made in tmp_path."""

from __future__ import annotations

import errno
import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from PIL.ExifTags import IFD, Base

from engine import imaging
from engine.errors import ImageTooLarge, OutputError, UnsupportedImage
from engine.imaging import (
    Photo,
    PhotoMetadata,
    is_image_path,
    output_suffix,
    read_photo,
    read_preview_rgb,
    write_photo,
)

NO_METADATA = PhotoMetadata(exif=None, icc_profile=None, dpi=None, source_format="PNG", source_mode="RGB")


def gradient(width: int = 64, height: int = 48) -> np.ndarray:
    """(height, width) uint8 diagonal gradient: smooth, like a photo, so JPEG error stays small."""
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 3 + y * 2) % 256).astype(np.uint8)


def gray_rgb(luma: np.ndarray) -> np.ndarray:
    return np.repeat(luma[..., None], 3, axis=2)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def decode_png16(path: Path) -> np.ndarray:
    """A minimal, independent 16-bit PNG decoder: (H, W, C) uint16."""
    chunks = png_chunks(path.read_bytes())
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[0][1][:10])
    assert chunks[0][0] == b"IHDR" and depth == 16 and colour_type in (2, 6)
    channels = 3 if colour_type == 2 else 4
    bpp, stride = 2 * channels, 2 * channels * width
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        rows.append(bytes(line))
        previous = line
    return np.frombuffer(b"".join(rows), ">u2").reshape(height, width, channels).astype(np.uint16)


def decode_tiff16(path: Path) -> np.ndarray:
    """Undo Deflate and predictor 2 strip by strip, from tags Pillow parses: (H, W, C) uint16."""
    with Image.open(path) as im:
        tags = dict(im.tag_v2)
    width, height, channels = tags[256], tags[257], tags[277]
    assert tags[258] == (16,) * channels and tags[259] == 8 and tags[317] == 2
    data = path.read_bytes()
    strips = [
        zlib.decompress(data[offset : offset + count]) for offset, count in zip(tags[273], tags[279], strict=True)
    ]
    samples = np.frombuffer(b"".join(strips), "<u2").reshape(height, width, channels)
    return np.cumsum(samples, axis=1, dtype=np.uint16)  # uint16 sums wrap as the predictor did


def no_part_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".part")]


# ------------------------------------------------------------------------------------------ reading


def test_gray_jpeg_round_trip_keeps_size_and_luma(tmp_path):
    source = gradient()
    Image.fromarray(source).save(tmp_path / "old.jpg", quality=95)

    photo = read_photo(tmp_path / "old.jpg")
    assert photo.size == (64, 48) and photo.bit_depth == 8 and photo.luma.dtype == np.uint8
    assert not photo.tinted and photo.alpha is None
    assert photo.metadata.source_format == "JPEG" and photo.metadata.source_mode == "L"
    assert np.abs(photo.luma.astype(int) - source).mean() < 2

    out = write_photo(tmp_path / "out" / "old.jpg", gray_rgb(photo.luma), photo.metadata)
    again = read_photo(out)
    assert again.size == (64, 48)
    assert np.abs(again.luma.astype(int) - source).mean() < 3


def test_16_bit_gray_png_keeps_its_values_exactly(tmp_path):
    values = np.arange(48, dtype=np.uint16).reshape(6, 8) * 1365 + 7
    Image.fromarray(values).save(tmp_path / "scan.png")

    photo = read_photo(tmp_path / "scan.png")
    assert photo.bit_depth == 16 and photo.luma.dtype == np.uint16
    np.testing.assert_array_equal(photo.luma, values)


def test_float_tiff_in_0_to_1_becomes_16_bit(tmp_path):
    Image.fromarray(np.array([[0.0, 0.5, 1.0, 2.0]], np.float32)).save(tmp_path / "f.tif")
    photo = read_photo(tmp_path / "f.tif")
    # Maximum over 1.0: taken as counts and clipped.
    np.testing.assert_array_equal(photo.luma, [[0, 0, 1, 2]])
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32)).save(tmp_path / "g.tif")
    np.testing.assert_array_equal(read_photo(tmp_path / "g.tif").luma, [[0, 32768, 65535]])


def test_exif_rotated_jpeg_comes_out_upright_with_orientation_1(tmp_path):
    pixels = np.zeros((20, 40), np.uint8)
    pixels[:, 20:] = 255  # stored: dark left half, bright right half
    exif = Image.Exif()
    exif[Base.Orientation] = 6  # stored rotated; shown turned 90 degrees clockwise
    exif[Base.Make] = "Revive Test"
    Image.fromarray(pixels).save(tmp_path / "turned.jpg", exif=exif, quality=95)

    photo = read_photo(tmp_path / "turned.jpg")
    assert photo.size == (20, 40)  # portrait now
    assert photo.luma[:15].mean() < 30 and photo.luma[-15:].mean() > 225  # left went to the top
    kept = Image.Exif()
    kept.load(photo.metadata.exif)
    assert kept[Base.Orientation] == 1 and kept[Base.Make] == "Revive Test"

    out = write_photo(tmp_path / "turned-color.jpg", gray_rgb(photo.luma), photo.metadata)
    with Image.open(out) as written:
        assert written.size == (20, 40)
        assert written.getexif()[Base.Orientation] == 1
        assert written.getexif()[Base.Make] == "Revive Test"


def test_preview_is_small_upright_and_rgb(tmp_path):
    exif = Image.Exif()
    exif[Base.Orientation] = 6
    Image.fromarray(gradient(400, 300)).save(tmp_path / "big.jpg", exif=exif)
    preview = read_preview_rgb(tmp_path / "big.jpg", max_side=100)
    assert preview.shape == (100, 75, 3) and preview.dtype == np.uint8
    assert read_preview_rgb(tmp_path / "big.jpg", max_side=1000).shape == (400, 300, 3)


def test_rgba_png_keeps_alpha_through_read_and_write(tmp_path):
    rgba = np.zeros((16, 24, 4), np.uint8)
    rgba[..., :3] = 128
    rgba[..., 3] = np.linspace(0, 255, 24, dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "cutout.png")

    photo = read_photo(tmp_path / "cutout.png")
    np.testing.assert_array_equal(photo.alpha, rgba[..., 3])
    out = write_photo(tmp_path / "cutout-color.png", gray_rgb(photo.luma), photo.metadata, alpha=photo.alpha)
    with Image.open(out) as written:
        assert written.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(written)[..., 3], rgba[..., 3])


def test_opaque_alpha_is_no_transparency(tmp_path):
    Image.new("RGBA", (8, 8), (90, 90, 90, 255)).save(tmp_path / "opaque.png")
    assert read_photo(tmp_path / "opaque.png").alpha is None


def test_palette_png_transparency_becomes_alpha(tmp_path):
    indices = np.zeros((8, 8), np.uint8)
    indices[:, 4:] = 1
    image = Image.new("P", (8, 8))
    image.putpalette([0, 0, 0, 200, 200, 200] + [0] * 762)
    image.putdata(indices.ravel().tolist())
    image.save(tmp_path / "icon.png", transparency=0)

    photo = read_photo(tmp_path / "icon.png")
    assert photo.metadata.source_mode == "P"
    assert (photo.alpha[:, :4] == 0).all() and (photo.alpha[:, 4:] == 255).all()
    assert (photo.luma[:, 4:] == 200).all()


def test_cmyk_jpeg_is_read_as_its_luminance(tmp_path):
    cmyk = np.zeros((16, 16, 4), np.uint8)
    cmyk[:, :8, 3] = 255  # full black ink on the left, bare paper on the right
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "print.jpg", quality=95)

    photo = read_photo(tmp_path / "print.jpg")
    assert photo.metadata.source_mode == "CMYK"
    assert photo.luma[:, :6].mean() < 20 and photo.luma[:, 10:].mean() > 235


def test_sepia_is_tinted_and_gray_is_not(tmp_path):
    luma = gradient().astype(np.float32)
    sepia = np.stack([luma, luma * 0.85, luma * 0.62], axis=2).astype(np.uint8)
    Image.fromarray(sepia).save(tmp_path / "sepia.jpg", quality=90)
    Image.fromarray(gray_rgb(gradient())).save(tmp_path / "gray-rgb.jpg", quality=90)
    Image.fromarray(gradient()).save(tmp_path / "gray.png")

    assert read_photo(tmp_path / "sepia.jpg").tinted
    assert not read_photo(tmp_path / "gray-rgb.jpg").tinted
    assert not read_photo(tmp_path / "gray.png").tinted


def test_first_frame_of_multi_page_tiff(tmp_path):
    first, second = Image.new("L", (10, 6), 50), Image.new("L", (4, 4), 200)
    first.save(tmp_path / "pages.tif", save_all=True, append_images=[second])
    photo = read_photo(tmp_path / "pages.tif")
    assert photo.size == (10, 6) and (photo.luma == 50).all()


def test_truncated_jpeg_is_refused_not_half_gray(tmp_path):
    noisy = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noisy).save(tmp_path / "whole.jpg")
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsupportedImage, match=r"cut\.jpg: damaged or truncated"):
        read_photo(tmp_path / "cut.jpg")


def test_text_file_named_jpg_is_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("shopping list: milk, film, fixer\n")
    with pytest.raises(UnsupportedImage, match=r"notes\.jpg: not an image file"):
        read_photo(tmp_path / "notes.jpg")


def test_other_image_types_are_named(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "anim.gif")
    with pytest.raises(UnsupportedImage, match="unsupported image type GIF"):
        read_photo(tmp_path / "anim.gif")


def test_missing_file(tmp_path):
    with pytest.raises(UnsupportedImage, match=r"gone\.jpg: no such file"):
        read_photo(tmp_path / "gone.jpg")


def test_huge_header_is_refused_before_decoding(tmp_path):
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    )
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match=r"bomb\.png: 100000x100000 pixels is over the 200-"):
        read_photo(tmp_path / "bomb.png")
    with pytest.raises(ImageTooLarge):
        read_preview_rgb(tmp_path / "bomb.png", max_side=64)
    assert time.perf_counter() - started < 1.0


def test_max_pixels_is_the_callers_choice(tmp_path):
    Image.new("L", (10, 10)).save(tmp_path / "small.png")
    with pytest.raises(ImageTooLarge, match="10x10 pixels"):
        read_photo(tmp_path / "small.png", max_pixels=99)
    assert read_photo(tmp_path / "small.png", max_pixels=100).size == (10, 10)


def test_pillows_own_limit_gives_image_too_large_not_damage(tmp_path, monkeypatch):
    Image.new("L", (10, 10)).save(tmp_path / "small.tif")
    Image.new("L", (10, 10)).save(tmp_path / "small.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    with pytest.raises(ImageTooLarge, match=r"small\.tif: too large to decode safely"):
        read_photo(tmp_path / "small.tif")  # Pillow's TIFF loader checks its global itself
    assert read_photo(tmp_path / "small.png").size == (10, 10)  # elsewhere max_pixels governs


def test_rotated_tiff_keeps_descriptive_exif_only(tmp_path):
    pixels = np.zeros((20, 40), np.uint8)
    pixels[:, 20:] = 255
    exif = Image.Exif()
    exif[Base.Orientation] = 6
    exif[Base.Make] = "Kodak"
    Image.fromarray(pixels).save(tmp_path / "scan.tif", exif=exif, compression="tiff_lzw")

    photo = read_photo(tmp_path / "scan.tif")
    assert photo.size == (20, 40) and photo.luma[:15].mean() < 30  # rotated once, not twice
    kept = Image.Exif()
    kept.load(photo.metadata.exif)
    assert kept[Base.Make] == "Kodak" and kept.get(Base.Orientation, 1) == 1
    assert not {256, 257, 273, 279} & set(kept)  # the source's strip layout stays behind


def test_photo_checks_its_arrays():
    with pytest.raises(ValueError, match="uint16"):
        Photo(luma=np.zeros((2, 2), np.uint8), alpha=None, bit_depth=16, tinted=False, metadata=NO_METADATA)


# ------------------------------------------------------------------------------------------ writing


@pytest.mark.parametrize("with_alpha", [False, True])
def test_16_bit_rgb_png_is_written_with_16_bits(tmp_path, with_alpha):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    alpha = rng.integers(0, 65536, (5, 7), dtype=np.uint16) if with_alpha else None
    metadata = PhotoMetadata(exif=None, icc_profile=None, dpi=(300.0, 300.0), source_format="PNG", source_mode="I;16")
    out = write_photo(tmp_path / "deep.png", rgb, metadata, alpha=alpha)

    decoded = decode_png16(out)
    np.testing.assert_array_equal(decoded[..., :3], rgb)
    if with_alpha:
        np.testing.assert_array_equal(decoded[..., 3], alpha)
    with Image.open(out) as again:  # Pillow reads 16-bit RGB as 8-bit: the high bytes
        assert again.size == (7, 5) and again.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        np.testing.assert_array_equal(np.asarray(again)[..., :3], rgb >> 8)


@pytest.mark.parametrize("with_alpha", [False, True])
def test_16_bit_rgb_tiff_is_written_with_16_bits(tmp_path, with_alpha):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 65536, (9, 6, 3), dtype=np.uint16)
    alpha = rng.integers(0, 65536, (9, 6), dtype=np.uint16) if with_alpha else None
    out = write_photo(tmp_path / "deep.tif", rgb, NO_METADATA, alpha=alpha)

    decoded = decode_tiff16(out)
    np.testing.assert_array_equal(decoded[..., :3], rgb)
    if with_alpha:
        np.testing.assert_array_equal(decoded[..., 3], alpha)
    with Image.open(out) as again:
        np.testing.assert_array_equal(np.asarray(again)[..., :3], rgb >> 8)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tiff_carries_exif_icc_and_dpi(tmp_path, dtype):
    exif = Image.Exif()
    exif[Base.Orientation] = 1
    exif[Base.Artist] = "Grandma"
    exif[Base.YCbCrPositioning] = 1  # JPEG-only IFD0 tag: must not reach a TIFF
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = "1952:06:01 10:00:00"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    metadata = PhotoMetadata(
        exif=exif.tobytes(), icc_profile=icc, dpi=(600.0, 600.0), source_format="JPEG", source_mode="L"
    )
    rgb = np.random.default_rng(3).integers(0, 256, (4, 5, 3)).astype(dtype)
    out = write_photo(tmp_path / "scan.tif", rgb, metadata)
    with Image.open(out) as again:
        np.testing.assert_array_equal(np.asarray(again), rgb >> (8 if dtype == np.uint16 else 0))
        assert again.info["icc_profile"] == icc and again.info["dpi"] == (600, 600)
        written = again.getexif()
        assert written[Base.Artist] == "Grandma" and Base.YCbCrPositioning not in written
        assert written.get_ifd(IFD.Exif)[Base.DateTimeOriginal] == "1952:06:01 10:00:00"


def test_16_bit_to_8_bit_formats_round_every_value(tmp_path):
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    out = write_photo(tmp_path / "flat.bmp", gray_rgb(values), NO_METADATA)  # lossless 8-bit
    expected = (values.astype(np.uint32) * 2 + 257) // 514  # round(x / 257); no ties exist
    with Image.open(out) as again:
        np.testing.assert_array_equal(np.asarray(again)[..., 0], expected)


def test_icc_profile_and_dpi_are_carried_to_jpeg(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(gray_rgb(gradient())).save(tmp_path / "scan.jpg", icc_profile=icc, dpi=(300, 300))
    photo = read_photo(tmp_path / "scan.jpg")
    assert photo.metadata.icc_profile == icc and photo.metadata.dpi == (300, 300)

    out = write_photo(tmp_path / "scan-color.jpg", gray_rgb(photo.luma), photo.metadata)
    with Image.open(out) as written:
        assert written.info["icc_profile"] == icc and written.info["dpi"] == (300, 300)


def test_refuses_to_overwrite_an_input(tmp_path):
    Image.fromarray(gradient()).save(tmp_path / "old.jpg")
    original = (tmp_path / "old.jpg").read_bytes()
    (tmp_path / "link.jpg").symlink_to(tmp_path / "old.jpg")
    rgb = gray_rgb(gradient())

    same_file = (tmp_path / "old.jpg", tmp_path / "sub" / ".." / "old.jpg", tmp_path / "link.jpg")
    for target in same_file:
        with pytest.raises(OutputError, match="refusing to overwrite an input"):
            write_photo(target, rgb, NO_METADATA, forbidden=[tmp_path / "old.jpg"])
    assert (tmp_path / "old.jpg").read_bytes() == original
    assert no_part_files(tmp_path)


def test_unwritable_folder_gives_output_error_and_no_temp_file(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(OutputError, match=r"out\.png: cannot create the output folder"):
        write_photo(tmp_path / "blocker" / "out.png", gray_rgb(gradient()), NO_METADATA)
    assert no_part_files(tmp_path)


def test_full_disk_gives_output_error_and_keeps_the_old_output(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(imaging.writing, "_save_8bit", full_disk)
    with pytest.raises(OutputError, match=r"out\.png: the disk is full"):
        write_photo(target, gray_rgb(gradient()), NO_METADATA)
    assert target.read_bytes() == b"previous result"
    assert no_part_files(tmp_path)


def test_atomic_writes_replace_outputs_and_leave_no_part_files(tmp_path):
    rgb = gray_rgb(gradient())
    for suffix in (".jpg", ".png", ".tif", ".webp"):
        write_photo(tmp_path / f"result{suffix}", rgb, NO_METADATA)
        with pytest.raises(OutputError, match="appeared"):  # never replaced unless proven Revive's own
            write_photo(tmp_path / f"result{suffix}", rgb[::-1].copy(), NO_METADATA)
        write_photo(tmp_path / f"result{suffix}", rgb[::-1].copy(), NO_METADATA, replace=True)
        with Image.open(tmp_path / f"result{suffix}") as again:
            assert again.size == (64, 48)
    assert no_part_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.jpg", "result.png", "result.tif", "result.webp"]


def test_write_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        write_photo(tmp_path / "x.png", np.zeros((4, 4), np.uint8), NO_METADATA)
    with pytest.raises(OutputError, match="cannot write .gif files"):
        write_photo(tmp_path / "x.gif", np.zeros((4, 4, 3), np.uint8), NO_METADATA)


# ------------------------------------------------------------------------------------------- naming


def test_is_image_path():
    assert is_image_path(Path("a/Photo.JPG")) and is_image_path(Path("scan.tiff"))
    assert not is_image_path(Path("._Photo.jpg")) and not is_image_path(Path("notes.txt"))


@pytest.mark.parametrize(
    ("source", "requested", "bits", "alpha", "expected"),
    [
        ("JPEG", "same", 8, False, ".jpg"),
        ("PNG", "same", 16, True, ".png"),
        ("TIFF", "same", 16, False, ".tif"),
        ("WEBP", "same", 8, True, ".webp"),
        ("BMP", "same", 8, False, ".png"),
        ("JPEG", "same", 8, True, ".png"),
        ("PNG", "jpg", 16, True, ".jpg"),
        ("JPEG", "tiff", 8, False, ".tif"),
    ],
)
def test_output_suffix(source, requested, bits, alpha, expected):
    assert output_suffix(source, requested, bits, alpha) == expected


def test_output_suffix_rejects_unknown_requests():
    with pytest.raises(ValueError, match="one of same, png, jpg, tiff"):
        output_suffix("JPEG", "gif", 8, False)

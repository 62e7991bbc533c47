"""Render the README's pictures of the workbooks as PNG files in docs/.

Runs the demo period in a temporary folder, then for each picture keeps one
sheet of a workbook (the others hidden, the top rows as print area, no page
header or footer), has LibreOffice print it to PDF and turns the page into a
PNG cropped to the sheet with pdftoppm:

  template.png         the indicator sheet of a generated template
  feedback.png         the indicator sheet of a feedback workbook, problem cells marked
  feedback_issues.png  the problem list of that feedback workbook
  summary.png          the prefecture summary of the consolidated workbook

Needs LibreOffice (soffice), pdftoppm (Debian/Ubuntu package poppler-utils)
and a Chinese font (fonts-noto-cjk); without the font the Chinese text shows
as boxes.  Regenerate with `make docs`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

from toolkit.atomic import atomic_path
from toolkit.demo import run_demo
from toolkit.office import convert, soffice

DOCS = Path(__file__).resolve().parent
PERIOD = "2024H1"
TEMPLATE_UNIT = "653101"  # 喀什市: a clean template
FEEDBACK_UNIT = "653123"  # 英吉沙县: three highlighted cells in the first rows ("万", "%", outlier)
SCAN_DPI = 36  # the low resolution the page is first rendered at, to find the sheet on it
MARGIN = 8  # white pixels kept around the sheet


@dataclass(frozen=True)
class Picture:
    name: str  # the PNG's file name in docs/
    workbook: Path
    sheet: str
    rows: int | None  # print only the first rows (None: all)
    width: int  # the PNG's width in pixels


def pictures(report) -> list[Picture]:
    """The pictures to render, from the workbooks the demo wrote."""
    template = _pick(report.templates, TEMPLATE_UNIT)
    feedback = _pick([f.path for f in report.feedback], FEEDBACK_UNIT)
    summary = Path(report.merge.path)
    return [
        Picture("template.png", template, "指标填报", 30, 1400),
        Picture("feedback.png", feedback, "指标填报", 30, 1400),
        Picture("feedback_issues.png", feedback, "问题清单", None, 1400),
        Picture("summary.png", summary, "全地区汇总", 21, 1600),
    ]


def _pick(paths, unit: str) -> Path:
    """The workbook of ``unit`` among ``paths``, else the first one."""
    paths = [Path(p) for p in paths]
    if not paths:
        sys.exit("error: the demo wrote no workbook of this kind")
    return next((p for p in paths if p.name.startswith(unit)), paths[0])


def check_tools() -> None:
    """Exit with a message saying what to install when a needed program is missing."""
    missing = []
    if soffice() is None:
        missing.append("LibreOffice (soffice): apt-get install libreoffice-calc")
    if shutil.which("pdftoppm") is None:
        missing.append("pdftoppm: apt-get install poppler-utils")
    if shutil.which("fc-list"):
        fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                               text=True, check=False).stdout
        if not fonts.strip():
            missing.append("a Chinese font: apt-get install fonts-noto-cjk")
    if missing:
        sys.exit("error: cannot render the pictures, missing:\n  " + "\n  ".join(missing))


def single_sheet(picture: Picture, dest: Path) -> Path:
    """A copy of the workbook that prints only the wanted sheet (its fills and
    conditional formats kept; the other sheets hidden so formulas still resolve)."""
    book = openpyxl.load_workbook(picture.workbook)
    for sheet in book.worksheets:
        if sheet.title != picture.sheet:
            sheet.sheet_state = "hidden"
        sheet.sheet_view.tabSelected = sheet.title == picture.sheet
    book.active = book.sheetnames.index(picture.sheet)
    sheet = book[picture.sheet]
    last_row = min(picture.rows or sheet.max_row, sheet.max_row)
    sheet.print_area = f"A1:{get_column_letter(sheet.max_column)}{last_row}"
    sheet.print_title_rows = None
    for part in (sheet.oddHeader, sheet.oddFooter, sheet.evenHeader, sheet.evenFooter,
                 sheet.firstHeader, sheet.firstFooter):
        part.left.text = part.center.text = part.right.text = None
    book.save(dest)
    return dest


def to_pdf(xlsx: Path) -> Path:
    pdf = convert([xlsx], "pdf", xlsx.parent)[xlsx]
    if pdf is None:
        sys.exit(f"error: LibreOffice did not convert {xlsx.name} to PDF")
    return pdf


def pdftoppm(*args) -> None:
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-singlefile", *map(str, args)],
                   check=True)


def content_box(pdf: Path) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the non-white part of page 1, in inches."""
    stem = pdf.with_name(pdf.stem + "-scan")
    pdftoppm("-gray", "-r", SCAN_DPI, pdf, stem)
    data = stem.with_suffix(".pgm").read_bytes()
    fields = data.split(maxsplit=4)  # P5, width, height, maxval, pixels
    width, height = int(fields[1]), int(fields[2])
    pixels = data[len(data) - width * height:]
    rows = [y for y in range(height) if min(pixels[y * width:(y + 1) * width]) < 240]
    if not rows:
        sys.exit(f"error: page 1 of {pdf.name} is blank")
    cols = [x for x in range(width)
            if min(pixels[x + y * width] for y in range(rows[0], rows[-1] + 1)) < 240]
    return (cols[0] / SCAN_DPI, rows[0] / SCAN_DPI,
            (cols[-1] + 1) / SCAN_DPI, (rows[-1] + 1) / SCAN_DPI)


def render(picture: Picture, work: Path, out_dir: Path) -> Path:
    """Render one picture into ``out_dir``; the PNG is replaced only when complete."""
    xlsx = single_sheet(picture, work / f"{Path(picture.name).stem}.xlsx")
    pdf = to_pdf(xlsx)
    left, top, right, bottom = content_box(pdf)
    dpi = round(picture.width / (right - left))
    x, y = max(round(left * dpi) - MARGIN, 0), max(round(top * dpi) - MARGIN, 0)
    w, h = round((right - left) * dpi) + 2 * MARGIN, round((bottom - top) * dpi) + 2 * MARGIN
    png = work / picture.name
    pdftoppm("-png", "-r", dpi, "-x", x, "-y", y, "-W", w, "-H", h, pdf, png.with_suffix(""))
    dest = out_dir / picture.name
    with atomic_path(dest) as tmp:
        shutil.copyfile(png, tmp)
    print(f"  {dest}  ({w}x{h} px, {dest.stat().st_size // 1024} KB): "
          f"{picture.workbook.name} / {picture.sheet}")
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=DOCS,
                        help="folder for the PNG files (default: docs/)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary demo workspace and intermediate files")
    args = parser.parse_args(argv)
    check_tools()
    work = Path(tempfile.mkdtemp(prefix="render-pictures-"))
    try:
        print(f"Running the demo period {PERIOD} ...")
        report = run_demo(work / "demo", PERIOD, lang="zh")
        print(f"Rendering the pictures into {args.out_dir}:")
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for picture in pictures(report):
            render(picture, work, args.out_dir)
    finally:
        if args.keep:
            print(f"Kept the demo workspace and intermediate files in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

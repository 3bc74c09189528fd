"""report: the numbers it gathers, escaping, self-containment, what headless Chromium renders
(the DOM after the page's script ran, and the pixels of a screenshot), and the CLI."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tests.outputs.test_export import build_case
from tracecode.cli import main
from tracecode.errors import OutputError, UnknownMonth
from tracecode.outputs.report import gather, previous_month, write_report
from tracecode.outputs.report_html import render
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                    "(Debian: apt-get install chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def case_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "city.duckdb"
    build_case(path).close()
    return path


@pytest.fixture
def con(case_db):
    c = open_store(case_db, read_only=True)
    yield c
    c.close()


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# --- data --------------------------------------------------------------------------------------


def test_previous_month():
    assert previous_month("2026-01") == "2025-12" and previous_month("2026-10") == "2026-09"


def test_gather_counts_and_comparison(con):
    data = gather(con, "2026-02")
    by_rule = {r.rule: r for r in data.rules}
    assert [r.rule for r in data.rules][:2] == ["duplicate_upload", "return_without_sale"]
    assert by_rule["cross_pharmacy_reuse"].codes == 2 and by_rule["cross_pharmacy_reuse"].previous == 1
    assert by_rule["duplicate_upload"].codes == 0 and by_rule["duplicate_upload"].previous == 1
    assert by_rule["split_overuse"].severity == "medium"  # from the rule registry
    assert data.rows == 8 and data.pharmacies == 2 and data.flagged_rows == 3
    assert [(p["fixmedins_code"], p["flagged_rows"], p["rows_uploaded"]) for p in data.top_pharmacies] == \
        [("P200", 2, 2), ("P100", 1, 6)]
    assert data.top_drugs[0]["med_list_codg"] == "XA01"
    assert [m for m, _ in data.history] == ["2026-01", "2026-02"]
    assert data.history[1][1]["cross_pharmacy_reuse"] == 2
    case = data.cases["cross_pharmacy_reuse"][0]
    assert case.events and all(e["psn_no"] is None or "***" in e["psn_no"] for e in case.events)
    assert data.rejects == 1  # the rejected record's file holds rows of the month
    first = gather(con, "2026-01")
    assert all(r.previous is None for r in first.rules)  # 2025-12 was never checked


def test_gather_errors(con):
    with pytest.raises(UnknownMonth, match="not a month"):
        gather(con, "26-01")
    with pytest.raises(UnknownMonth, match="not in"):
        gather(con, "2025-05")


# --- the page ----------------------------------------------------------------------------------


def hostile_db(tmp_path: Path) -> Path:
    """Names from uploads are not to be trusted: tags, quotes, ampersands."""
    db = tmp_path / "hostile.duckdb"
    con = open_store(db)
    name = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'
    f = write_csv(tmp_path / "s.csv", [
        sale(pharmacy="<b>P1</b>", name=name, receipt="R1", psn="PSN-1"),
        sale(pharmacy="P2'\"", name="乙</td></tr>", receipt="R2", time="2026-01-07 10:00:00", psn="PSN-2"),
    ])
    ingest_files(con, [f])
    run_checks(con, month="2026-01")
    con.close()
    return db


def test_everything_from_uploads_is_escaped(tmp_path):
    db = hostile_db(tmp_path)
    con = open_store(db, read_only=True)
    page = render(gather(con, "2026-01"))
    con.close()
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>P1</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert page.count("<script>") == 2  # the page's own: the font's in the head, the sorting one at the end
    assert "乙&lt;/td&gt;&lt;/tr&gt;" in page


def test_page_is_self_contained(con):
    page = render(gather(con, "2026-02"))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    assert page.count("url(") == page.count("url(data:font/woff;base64,") == 1  # the embedded font only
    assert page.count("<svg") >= 2


def test_unmasked_page_says_so(con):
    masked, plain = render(gather(con, "2026-02")), render(gather(con, "2026-02", mask=False))
    assert "PSN0008" not in masked and "PSN0008" in plain
    assert "未脱敏" in plain and "已脱敏" in masked


# --- what Chromium renders --------------------------------------------------------------------


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120)


def decode_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and raw RGB(A) rows of an 8-bit non-interlaced PNG (Chromium's screenshots)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, rows, prev, stride = zlib.decompress(idat), [], bytearray(width * bpp), width * bpp
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


@needs_chromium
def test_chromium_renders_the_charts(con, tmp_path):
    page = tmp_path / "report.html"
    write_report(con, "2026-02", page)
    dom = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-ready="1"' in html  # the inline script ran
    chart = re.search(r'<svg[^>]*id="pharmacy-chart"[^>]*>', html).group(0)
    drawn = [int(w) for w in re.search(r'data-drawn="([\d,]+)"', chart).group(1).split(",")]
    values = [float(v) for v in re.findall(r'class="bar"[^>]*data-value="([\d.]+)"',
                                           html.split('id="pharmacy-chart"')[1].split("</svg>")[0])]
    assert len(drawn) == len(values) == 2
    assert drawn[0] == pytest.approx(330, abs=2)  # the largest share fills the bar area
    assert drawn[1] / drawn[0] == pytest.approx(values[1] / values[0], abs=0.02)
    trend = re.search(r'<svg[^>]*id="trend"[^>]*>', html).group(0)
    heights = [int(h) for h in re.search(r'data-drawn="([\d,]+)"', trend).group(1).split(",")]
    assert len(heights) >= 4 and all(h > 0 for h in heights)
    for text in ("药品追溯码重复使用监测月报", "跨店重复销售", "81000000000000000055", "甲药店"):
        assert text in html


@needs_chromium
def test_chromium_screenshot_shows_the_bars(con, tmp_path):
    page = tmp_path / "report.html"
    write_report(con, "2026-02", page)
    shot = tmp_path / "shot.png"
    done = chromium(tmp_path, "--window-size=1200,1600", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    width, height, rows = decode_png(shot)
    bpp = len(rows[0]) // width
    red = bytes.fromhex("c0392b")  # the pharmacy bars and the header rule

    def runs(row: bytes) -> int:
        """Longest horizontal run of the bar colour in one pixel row."""
        best = cur = 0
        for x in range(width):
            if row[x * bpp:x * bpp + 3] == red:
                cur += 1
                best = max(best, cur)
            else:
                cur = 0
        return best

    longest = [runs(r) for r in rows]
    bars = [n for n in longest if 250 <= n <= 400]  # the pharmacy chart's top bar is 330 px wide
    assert len(bars) >= 8, "the top pharmacy's bar is not on screen"
    colours = {r[x * bpp:x * bpp + 3] for r in rows[::7] for x in range(0, width, 5)}
    assert len(colours) > 20  # text, cards and charts, not a blank page


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
needs_fonts = pytest.mark.skipif(not (DEJAVU.exists() and NOTO_CJK.exists()), reason="needs DejaVu Sans and Noto "
                                 "Sans CJK installed to compare against (Debian: fonts-dejavu-core, fonts-noto-cjk)")


def png_scanlines(path: Path) -> list[bytes]:
    """The filtered rows of a PNG as stored (each row's filter byte and bytes): two screenshots of
    one Chromium hold the same rows exactly when they hold the same pixels, and this is read in
    no time where decoding a tall page's pixels in Python takes seconds."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, bpp = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * bpp + 1
    return [raw[i:i + stride] for i in range(0, len(raw), stride)]


def shot_with_fonts(tmp_path: Path, page: Path, fonts: list[Path], name: str, height: int = 700) -> list[bytes]:
    """Screenshot rows (1000 x ``height`` px, as :func:`png_scanlines`) of ``page`` by a Chromium
    whose fontconfig sees only ``fonts`` (none: an empty font folder). Taken at the page's load
    event, with no virtual time: a font still loading then shows."""
    folder = tmp_path / f"fonts-{name}"
    folder.mkdir()
    for font in fonts:
        shutil.copy(font, folder / font.name)
    conf = tmp_path / f"fonts-{name}.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><dir>{folder}</dir>'
                    f'<cachedir>{tmp_path / ("fc-" + name)}</cachedir></fontconfig>', encoding="utf-8")
    shot = tmp_path / f"{name}.png"
    profile = tmp_path / f"profile-{name}"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={profile}", f"--window-size=1000,{height}", "--hide-scrollbars",
                    f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, env={**os.environ, "FONTCONFIG_FILE": str(conf)})
    assert shot.exists()
    return png_scanlines(shot)


def differing_rows(a: list[bytes], b: list[bytes]) -> int:
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def without_embedded_font(page: Path) -> Path:
    """The same page with its own font (the @font-face, the every-element rule, the installing
    script) taken out: what the page was before it carried a font."""
    from tracecode.outputs.report_font import FONT_SCRIPT

    html = page.read_text(encoding="utf-8").replace(FONT_SCRIPT, "")
    stripped, n = re.subn(r'@font-face\{[^}]*\}\*\{font-family:"TracecodeCJK"!important\}', "", html)
    assert n == 1
    out = page.with_name("stripped-" + page.name)
    out.write_text(stripped, encoding="utf-8")
    return out


def assert_draws_without_any_font(tmp_path: Path, page: Path, height: int = 700) -> None:
    """``page`` looks the same on a machine with no font at all, with a Latin font only, and with
    a CJK font installed; the control: without its embedded font it does not (no text at all with
    no font), so the comparison can fail."""
    full = shot_with_fonts(tmp_path, page, [DEJAVU, NOTO_CJK], "full", height)
    for fonts, name in (([], "none"), ([DEJAVU], "latin")):
        # one retake: on a loaded machine the screenshot may come before the page is drawn (a
        # missing glyph differs every time)
        if differing_rows(shot_with_fonts(tmp_path, page, fonts, name, height), full):
            assert differing_rows(shot_with_fonts(tmp_path, page, fonts, name + "-again", height), full) == 0
    stripped = without_embedded_font(page)
    bare = shot_with_fonts(tmp_path, stripped, [], "stripped-none", height)
    assert differing_rows(bare, shot_with_fonts(tmp_path, stripped, [DEJAVU, NOTO_CJK], "stripped-full",
                                                height)) > height // 10


@needs_chromium
@needs_fonts
def test_report_draws_all_its_text_with_no_font_installed(con, tmp_path):
    """Issue 16's check: fontconfig pointed at an empty font folder, Chromium draws the report
    (Chinese, Latin letters, digits) exactly as on a machine with Noto Sans CJK installed: the
    page's embedded font draws every word."""
    page = tmp_path / "report.html"
    write_report(con, "2026-02", page)
    assert_draws_without_any_font(tmp_path, page)


def test_page_embeds_a_font_with_every_character_it_shows(con):
    """The page carries its own CJK font (a server may have none), cut to its characters: every
    character of the page has a glyph in it, and a character the page does not show has none."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    page = render(gather(con, "2026-02"))
    found = re.findall(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", page)
    assert len(found) == 1
    font = TTFont(io.BytesIO(base64.b64decode(found[0])))
    cmap = font.getBestCmap()
    shown = {ch for ch in re.sub(r"<style>.*?</style>", "", page, flags=re.S) if ch.isprintable() and ch != " "}
    assert {"药", "品", "追", "溯", "码", "月", "报"} <= shown
    assert not [ch for ch in shown if ord(ch) not in cmap]
    assert ord("鑫") not in cmap  # not on the page: cut away
    assert len(page.encode("utf-8")) < 2_000_000


def test_the_embedded_font_carries_its_own_date_not_the_time_written():
    """One page of one month is one set of bytes: the cut font keeps the source face's head.modified
    (fontTools would stamp the time of the cut), so a report written again is the same file."""
    import io

    from fontTools.ttLib import TTCollection, TTFont

    from tracecode.outputs.report_font import _FACE_SC, font_path, subset_font

    if font_path() is None:
        pytest.skip("the CJK font package is not installed")
    source = TTCollection(str(font_path())).fonts[_FACE_SC]["head"].modified
    cut = TTFont(io.BytesIO(subset_font("药品追溯码")))["head"].modified
    assert cut == source


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_report_happy_path(case_db, tmp_path):
    out = tmp_path / "r.html"
    result = run("report", "--db", case_db, "--month", "2026-02", "--out", out)
    assert result.exit_code == 0, result.output
    assert "4 suspicious codes in 2026-02" in result.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    again = run("report", "--db", case_db, "--month", "2026-02", "--out", out)
    assert again.exit_code == 1 and "exists" in again.stderr and "--force" in again.stderr
    assert run("report", "--db", case_db, "--month", "2026-02", "--out", out, "--force").exit_code == 0


@pytest.mark.parametrize("month, code, message", [
    ("2026-1", 2, "Error: Invalid value for '--month': '2026-1' is not a month written YYYY-MM"),
    ("2030-01", 1, "Error: month 2030-01 is not in"),
])
def test_cli_report_month_errors(case_db, tmp_path, month, code, message):
    result = run("report", "--db", case_db, "--month", month, "--out", tmp_path / "r.html")
    assert result.exit_code == code and message in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_cli_report_unchecked_and_empty(tmp_path):
    db = tmp_path / "c.duckdb"
    open_store(db).close()
    empty = run("report", "--db", db, "--month", "2026-01", "--out", tmp_path / "r.html")
    assert empty.exit_code == 1 and "holds no uploads" in empty.stderr
    con = open_store(db)
    ingest_files(con, [write_csv(tmp_path / "s.csv", [sale()])])
    run_checks(con)
    con.close()
    unchecked = run("report", "--db", db, "--month", "2026-01", "--out", tmp_path / "r.html")
    assert unchecked.exit_code == 1 and "has not been checked" in unchecked.stderr
    assert "tracecode check" in unchecked.stderr


def test_report_output_path_errors(con, tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        write_report(con, "2026-02", tmp_path)
    with pytest.raises(OutputError, match="does not exist"):
        write_report(con, "2026-02", tmp_path / "no" / "r.html")


def test_counts_are_named_the_same_everywhere(con):
    """The cards' 上传追溯码行数 and the rejects section's records read are two named counts,
    the card's figure repeated under its own name (issue 16: 2,004 vs 共读取 2,000)."""
    data = gather(con, "2026-02")
    page = render(data)
    assert page.count("上传追溯码行数") == 2
    assert f'“上传追溯码行数” <b>{data.rows:,}</b>' in page
    assert f'id="records-read">{data.records:,}<' in page


def test_page_words_follow_lang(con):
    """report --lang en draws the page's own words in English; only data (the rules' Chinese
    labels, names) may stay Chinese. zh keeps the Chinese page."""
    zh, en = render(gather(con, "2026-02")), render(gather(con, "2026-02", lang="en"))
    assert "本月概况" in zh and "上传追溯码行数" in zh and '<html lang="zh-CN">' in zh
    assert "This month" in en and "Uploaded code rows" in en and '<html lang="en">' in en
    assert "<title>Drug traceability code monitoring report 2026-02</title>" in en
    chrome = re.findall(r"<(h1|h2|th|summary|footer)\b[^>]*>(.*?)</\1>", en, re.S)
    assert len(chrome) > 30
    for tag, words in chrome:
        assert not re.search(r"[\u4e00-\u9fff]", words), f"<{tag}> {words} on the English page"
    zh_chrome = re.findall(r"<(h2|th)\b[^>]*>(.*?)</\1>", zh, re.S)
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", w)) for _, w in zh_chrome) == len(zh_chrome)


def test_report_of_an_all_months_check_asks_for_a_month(tmp_path):
    from tests.conftest import sale, write_csv

    sales = write_csv(tmp_path / "sales.csv", [sale(), sale(receipt="R2", time="2026-01-06 10:00:00")])
    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--db", db, str(sales), "--quiet"]).exit_code == 0
    assert runner.invoke(main, ["check", "--db", db, "--quiet"]).exit_code == 0
    result = runner.invoke(main, ["report", "--db", db, "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "--month" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()

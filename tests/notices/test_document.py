"""Rendering a notice: its words, its pages, and a renderer that fetches nothing."""

from __future__ import annotations

import http.server
import io
import re
import shutil
import subprocess
import threading
import zlib

import pytest
from flask_babel import force_locale
from flask_babel import gettext as gettext_
from pyhanko.pdf_utils.reader import PdfFileReader

from shopper import pdf
from shopper.notices import document
from shopper.notices.document import page_words
from tests.notices import samples
from tests.notices.conftest import pdftotext

PASSWD_MARKERS = ("root:x:0:0", "/bin/bash", "/usr/sbin/nologin", "daemon:")


def test_outlet_notice_text_has_item_texts_outlet_and_deadline(signed, tmp_path):
    context = samples.outlet_notice()
    text = pdftotext(signed("outlet-full", context), tmp_path)
    flat = re.sub(r"\s+", "", text)
    for finding in context["findings"]:
        assert re.sub(r"\s+", "", finding["text"]) in flat  # no missing glyphs, no tofu
    assert context["outlet"] in flat
    assert context["deadline"] in flat
    assert context["issuer"] in flat
    assert "\ufffd" not in text


def test_every_page_carries_the_notice_number_and_its_page_of_pages(signed, tmp_path, app):
    context = samples.outlet_notice()
    pages = pdftotext(signed("outlet-full", context), tmp_path).split("\f")[:-1]
    assert len(pages) > 2
    with app.test_request_context(), force_locale("zh_CN"):
        before, middle, after = page_words()
    for number, page in enumerate(pages, start=1):
        assert context["number"] in page
        words = "".join((before, str(number), middle, str(len(pages)), after))
        # pdftotext drops the spaces between Chinese words; compare without any
        assert re.sub(r"\s+", "", words) in re.sub(r"\s+", "", page)


def test_english_notice_speaks_english(render, small_context):
    html = render(small_context, "en")
    assert 'lang="en"' in html
    assert "Rectification Notice" in html
    assert "Finding 1" in html.replace(document.WORD_SPACE, " ")  # see document.tight
    assert "Failed" in html  # the band's label, not its code


def test_a_notice_is_chinese_unless_asked_for_english(render, small_context, app):
    html = render(small_context, "zh")
    assert 'lang="zh-CN"' in html
    with app.test_request_context(), force_locale("zh_CN"):
        translated = gettext_("Rectification Notice") != "Rectification Notice"
    if not translated:
        pytest.skip("the notice msgids are not in the Chinese catalog yet")
    assert "整改通知书" in html
    assert "Rectification Notice" not in html


def test_render_html_does_not_change_the_context_and_shrinks_photos(render, small_context):
    before = [list(f["photos"]) for f in small_context["findings"]]
    html = render(small_context)
    assert [f["photos"] for f in small_context["findings"]] == before
    for uri in {p for photos in before for p in photos}:
        assert uri not in html  # the 1000 px print copies are drawn as thumbnails
    assert html.count('src="data:image/jpeg;base64,') == 2


def test_a_facts_value_is_one_line_of_text_escaped_once(render):
    context = samples.outlet_notice(findings=1, photos=0)
    context["visit"]["business"] = "A&B\t<i>x</i>\nnext"
    html = render(context, "en")
    assert "Business transacted&#9;A&amp;B &lt;i&gt;x&lt;/i&gt; next</p>" in html


def test_notice_without_score_findings_or_visit_details_renders(render):
    context = samples.outlet_notice(
        findings=0,
        photos=0,
        score=None,
        band=None,
        sections=[],
        supersedes="ZG-2026Q4-00003",
        revised_from="85.0",
        visit={
            "arrived": "09:12",
            "departed": "09:55",
            "waiting_minutes": None,
            "customers_waiting": None,
            "windows": None,
            "business": "",
            "teller_window": "",
            "teller_badge": "",
        },
    )
    html = render(context, "en")
    assert "ZG-2026Q4-00003" in html
    assert "The inspection found nothing that needs rectifying." in html
    rendered = pdf.render_pdf(html)
    assert rendered.data.startswith(b"%PDF-")


def test_sub_branch_notice_lists_outlets_and_shows_the_bottom_three_banner(render):
    context = samples.sub_branch_notice()
    html = render(context, "en")
    assert "Inspection Rectification Letter" in html
    assert 'class="banner"' in html
    for outlet in context["outlets"]:
        assert outlet["outlet"] in html
    calm = render(samples.sub_branch_notice(bottom_three=False, rank=2), "en")
    assert 'class="banner"' not in calm


def test_signature_box_is_reserved_on_the_last_page(render, small_context):
    rendered = pdf.render_pdf(render(small_context))
    box = rendered.signature_box
    assert box is not None and box.page == rendered.pages - 1
    x1, y1, x2, y2 = box.box
    assert 0 < x1 < x2 < 595 and 0 < y1 < y2 < 842  # inside an A4 page, in points
    assert abs((x2 - x1) - 261) <= 1 and abs((y2 - y1) - 45) <= 1  # 92 mm x 16 mm


def test_fetcher_serves_data_uris_and_refuses_everything_else():
    fetcher = pdf.DataOnlyFetcher()
    response = fetcher.fetch("data:text/plain;base64,aGk=")
    assert response.read() == b"hi"
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/x", "https://example.com/", "x.png"):
        with pytest.raises(pdf.ForbiddenURL):
            fetcher.fetch(url)


@pytest.fixture
def counting_server():
    """A local HTTP server that counts every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def hostile_markup(base: str) -> str:
    return (
        '<img src="file:///etc/passwd"><img src="passwd">'
        f'<img src="{base}/img"><object data="{base}/object"></object>'
        '<link rel="attachment" href="file:///etc/passwd">'
        f'<a rel="attachment" href="{base}/attach">x</a>'
        f'<link rel="stylesheet" href="{base}/style.css">'
        "<style>@import url(file:///etc/passwd);"
        f"@import url({base}/import.css);"
        "body { background: url(file:///etc/passwd) }"
        f"p::after {{ content: url({base}/content) }}"
        '@font-face { font-family: x; src: url("file:///etc/passwd") }</style>'
        '<p style="font-family: x; background-image: url(file:///etc/passwd)">text</p>'
    )


def assert_nothing_leaked(data: bytes, hits: list[str], tmp_path) -> str:
    assert hits == []
    text = pdftotext(data, tmp_path)
    for marker in PASSWD_MARKERS:
        assert marker not in text
        assert marker.encode() not in data
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            inflated = zlib.decompress(stream)
        except zlib.error:
            continue
        assert b"root:x:0:0" not in inflated
    if shutil.which("pdfdetach"):
        path = tmp_path / "detach.pdf"
        path.write_bytes(data)
        listing = subprocess.run(
            ["pdfdetach", "-list", str(path)], capture_output=True, text=True
        ).stdout
        assert listing.startswith("0 embedded files"), listing
    return text


def test_raw_html_cannot_reach_files_or_the_network(counting_server, tmp_path):
    base, hits = counting_server
    html = f"<!doctype html><html><body>{hostile_markup(base)}</body></html>"
    data = pdf.html_to_pdf(html, base_url="file:///etc/")
    assert_nothing_leaked(data, hits, tmp_path)


def test_notes_and_item_texts_are_text_not_markup(counting_server, render, tmp_path):
    base, hits = counting_server
    context = samples.outlet_notice(findings=2, photos=0)
    context["findings"][0]["note"] = hostile_markup(base)
    context["findings"][1]["text"] = hostile_markup(base)
    context["findings"][1]["photos"] = ["file:///etc/passwd", f"{base}/photo.jpg"]
    html = render(context, "en")
    assert '<img src="file:///etc/passwd">' not in html  # escaped by Jinja
    text = assert_nothing_leaked(pdf.html_to_pdf(html), hits, tmp_path)
    assert "file:///etc/passwd" in text  # shown as the words the inspector typed


def test_long_data_uris_reach_the_renderer_by_made_up_urls_of_their_own_document():
    photo = samples.photo_uri(1)
    html = f'<!doctype html><body><img src="{photo}"><img src="{pdf.INLINE_SCHEME}:1"></body>'
    data = pdf.render_pdf(html).data
    # the photo is drawn; the made-up URL that no data: URI of this document took is refused
    assert data.count(b"/Subtype /Image") == 1


def test_a_shared_style_block_is_applied_and_parsed_once_per_thread():
    css = "@page { size: A5 } p { color: #123456 }"
    html = f"<!doctype html><html><head><style data-shared>{css}</style></head><body><p>x</p>"
    first = pdf.render_pdf(html)
    sheet = pdf._stylesheet(css)
    second = pdf.render_pdf(html)
    assert pdf._stylesheet(css) is sheet  # parsed once, then taken from the cache
    reader = PdfFileReader(io.BytesIO(second.data))
    box = [float(v) for v in reader.root["/Pages"]["/Kids"][0]["/MediaBox"]]
    assert abs(box[2] - 419.5) < 1 and abs(box[3] - 595.3) < 1  # A5: the block applied
    assert first.data.count(b"/Type /Page") == second.data.count(b"/Type /Page")


def test_a_document_with_its_own_fonts_does_not_share_the_font_configuration():
    shared = pdf._font_config()
    html = (
        "<style>@font-face { font-family: x; src: url(data:font/ttf;base64,AAAA) }</style>"
        '<p style="font-family: x">x</p>'
    )
    assert pdf.render_pdf(html).data.startswith(b"%PDF-")
    assert pdf._font_config() is shared
    assert shared._folder is None  # WeasyPrint's folder of added fonts: none added here


def test_the_words_of_a_shared_style_tag_inside_css_are_not_taken_for_one(tmp_path):
    html = (
        "<!doctype html><html><head><style>/* see <style data-shared> */ p { color: red }"
        "</style></head><body><p>Still here</p></body></html>"
    )
    assert "Still here" in pdftotext(pdf.render_pdf(html).data, tmp_path)

"""The business case as a PDF an executive can read alone (fpdf2).

Cover, a one-page executive summary of the decision figures (each with its basis), the closest
peers, the timeline and cost charts, the compliance checklist, every assumption and every
source with its address and confidence. Vendor-stated sources and claims are marked as such.

Charts are the screen's own plotly figures (``gantt_figure``, ``savings_histogram``,
``cost_by_year_figure``) exported to PNG by kaleido, which drives the system Chromium (found
with ``shutil.which``; ``BROWSER_PATH`` overrides it). The browser is started on the first
export and kept for the process (see :class:`_ChartRenderer`). When a chart cannot be rendered
(no browser, a timeout, an error) the PDF is still produced, with a note in the chart's place:
the export never fails for a chart.

Text is set in DejaVu Sans when it is installed (accents and dashes: "Saint-Elzéar — QC"); on
a machine without it the core Helvetica font is used and characters outside Latin-1 are
replaced.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import datetime as dt
import importlib.util
import io
import shutil
import threading
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from piggyback.core import fmt, settings
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
             "/usr/local/share/fonts", "/Library/Fonts")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
CHART_WIDTH, CHART_HEIGHT = 1100, 620
CHART_TIMEOUT = 60.0
STATUS_LABEL = {"pass": "pass", "fail": "FAIL", "needs_evidence": "needs evidence"}
ASCII_FALLBACK = {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "≥": ">=", "≤": "<=",
                  "●": "*", "◐": "*", "○": "o", "→": "->", "−": "-", "✓": "v"}

Progress = Callable[[float, str], None]


# ------------------------------------------------------------------------------------ charts

def browser_path() -> str | None:
    """The Chrome/Chromium kaleido should drive: ``BROWSER_PATH`` if set, else the system one."""
    env = settings.get("BROWSER_PATH")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def case_figures(case: Mapping[str, Any]) -> dict[str, Any]:
    """The screen's figures for this case (those its data allows), by name."""
    from piggyback.figures.pricing_figures import cost_by_year_figure
    from piggyback.figures.timeline_figures import gantt_figure, savings_histogram

    figs: dict[str, Any] = {}
    if case["timeline"].get("status") == "ok":
        figs["gantt"] = gantt_figure(case["timeline"]["result"])
        figs["savings"] = savings_histogram(case["timeline"]["result"])
    if case["cost"].get("status") == "ok":
        figs["cost"] = cost_by_year_figure(case["cost"]["routes"]["piggyback"]["tco"])
    return figs


class _ChartRenderer:
    """One headless Chromium (through kaleido) kept for the process, on an event loop of its own.

    Starting the browser is most of the cost of a chart (seconds); keeping it makes every export
    after the first fast. Requests from any thread are handed to the loop with
    ``run_coroutine_threadsafe`` and waited for with a timeout, so a stuck browser never blocks a
    session: it is closed and started again on the next export.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kaleido = None
        self._registered = False

    def _start(self, path: str, timeout: float) -> None:
        import kaleido

        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="piggyback-charts", daemon=True).start()

        async def open_browser():
            k = kaleido.Kaleido(n=1, timeout=timeout, mathjax=False, path=path)
            await k.open()
            return k

        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(open_browser(), loop).result(timeout + 30)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            raise
        self._loop = loop
        if not self._registered:
            atexit.register(self.close)
            self._registered = True

    def warm_up(self, path: str, timeout: float) -> None:
        """Start the browser now (in the caller's thread) if it is not running yet."""
        with self._lock:
            if self._kaleido is None:
                try:
                    self._start(path, timeout)
                except BaseException:
                    pass  # the export will try again and report why in the PDF

    def render(self, figures: Mapping[str, Any], path: str, width: int, height: int,
               timeout: float) -> dict[str, bytes | str]:
        out: dict[str, bytes | str] = {}
        with self._lock:  # one export at a time drives the browser
            if self._kaleido is None:
                try:
                    self._start(path, timeout)
                except BaseException as exc:
                    reason = f"the browser could not be started ({type(exc).__name__}: {str(exc)[:160]})"
                    return {k: reason for k in figures}
            for name, fig in figures.items():
                # A figure that sets its own height (one row per phase) keeps it, so labels stay apart.
                fig_height = int(getattr(getattr(fig, "layout", None), "height", None) or height)
                job = self._kaleido.calc_fig(fig, opts={"format": "png", "width": width, "height": fig_height,
                                                        "scale": 1})
                future = asyncio.run_coroutine_threadsafe(job, self._loop)
                try:
                    out[name] = future.result(timeout + 5)
                except concurrent.futures.TimeoutError:
                    future.cancel()
                    out[name] = f"the chart renderer did not answer within {timeout + 5:.0f} s"
                    self._close_locked()
                    break
                except Exception as exc:  # one bad chart must not stop the others
                    out[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
        for name in figures:
            out.setdefault(name, "not rendered after an earlier chart failed")
        return out

    def _close_locked(self) -> None:
        k, loop = self._kaleido, self._loop
        self._kaleido, self._loop = None, None
        if loop is None:
            return
        if k is not None:
            try:
                asyncio.run_coroutine_threadsafe(k.close(), loop).result(10)
            except BaseException:
                pass  # the browser is gone either way
        loop.call_soon_threadsafe(loop.stop)

    def close(self) -> None:
        with self._lock:
            self._close_locked()


_RENDERER = _ChartRenderer()


def warm_up_chart_renderer() -> None:
    """Start the chart browser in the background, so the first PDF export does not wait for it."""
    path = browser_path()
    if path is None or importlib.util.find_spec("kaleido") is None or _RENDERER._kaleido is not None:
        return
    threading.Thread(target=_RENDERER.warm_up, args=(path, CHART_TIMEOUT), name="piggyback-charts-warm-up",
                     daemon=True).start()


def close_chart_renderer() -> None:
    """Close the kept browser (it is also closed when the process exits)."""
    _RENDERER.close()


def figures_to_png(figures: Mapping[str, Any], *, width: int = CHART_WIDTH, height: int = CHART_HEIGHT,
                   timeout: float = CHART_TIMEOUT) -> dict[str, bytes | str]:
    """PNG bytes of each figure, or a message saying why it could not be rendered (never raises)."""
    if not figures:
        return {}
    path = browser_path()
    if path is None:
        return {k: "no Chrome or Chromium browser was found on this machine" for k in figures}
    if importlib.util.find_spec("kaleido") is None:
        return {k: "the kaleido package is not installed" for k in figures}
    return _RENDERER.render(figures, path, width, height, timeout)


# ------------------------------------------------------------------------------------ document

def find_fonts() -> dict[str, Path] | None:
    for folder in FONT_DIRS:
        paths = {style: Path(folder) / name for style, name in FONT_FILES.items()}
        if all(p.exists() for p in paths.values()):
            return paths
    return None


class _Report(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(orientation="P", unit="mm", format="Letter")
        self.footer_text = footer_text
        self.fonts_ok = False
        fonts = find_fonts()
        if fonts:
            for style, path in fonts.items():
                self.add_font("DejaVu", style, str(path))
            self.family = "DejaVu"
            self.fonts_ok = True
        else:
            self.family = "Helvetica"
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=16)
        self.set_title("Business case")
        self.set_creator("Piggyback")

    # Text outside the font's reach is replaced rather than failing the export.
    def t(self, value: Any) -> str:
        text = fmt.BLANK if value is None or value == "" else str(value)
        if self.fonts_ok:
            return text
        for a, b in ASCII_FALLBACK.items():
            text = text.replace(a, b)
        text = unicodedata.normalize("NFC", text)
        return text.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float = 10, style: str = "") -> None:
        self.set_font(self.family, style, size)

    def footer(self) -> None:
        self.set_y(-12)
        self.font(7.5)
        self.set_text_color(110)
        self.cell(0, 5, self.t(f"{self.footer_text}   ·   page {self.page_no()} of {{nb}}"), align="C")
        self.set_text_color(0)

    def h1(self, text: str) -> None:
        self.font(17, "B")
        self.set_text_color(1, 102, 94)
        self.multi_cell(0, 9, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.set_text_color(0)
        self.ln(1.5)

    def h2(self, text: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(2)
        self.font(12, "B")
        self.multi_cell(0, 6.5, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.ln(0.5)

    def para(self, text: str, size: float = 9.5, style: str = "", colour: int = 0) -> None:
        self.font(size, style)
        self.set_text_color(colour)
        self.multi_cell(0, size * 0.5, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L",
                        wrapmode=WrapMode.CHAR if " " not in str(text) else WrapMode.WORD)
        self.set_text_color(0)

    def bullet(self, text: str, size: float = 9.5) -> None:
        self.font(size)
        x = self.l_margin
        self.set_x(x)
        self.cell(4, size * 0.5, "•" if self.fonts_ok else "-")
        self.multi_cell(0, size * 0.5, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def grid(self, header: list[str], rows: list[list[Any]], widths: list[float], size: float = 7.5,
             bold_first: bool = False) -> None:
        self.font(size)
        heading = FontFace(emphasis="BOLD", fill_color=(224, 240, 238))
        with self.table(col_widths=widths, text_align="LEFT", line_height=size * 0.48, headings_style=heading,
                        borders_layout="HORIZONTAL_LINES", padding=0.8, wrapmode=WrapMode.WORD,
                        v_align="TOP") as table:
            head = table.row()
            for h in header:
                head.cell(self.t(h))
            for r in rows:
                row = table.row()
                for i, value in enumerate(r):
                    style = FontFace(emphasis="BOLD") if bold_first and i == 0 else None
                    row.cell(self.t(value), style=style)
        self.ln(2)

    def chart(self, png: bytes | str | None, caption: str, max_h: float = 110) -> None:
        width = self.epw
        if isinstance(png, bytes):
            px_w, px_h = _png_size(png)
            h = width * px_h / px_w
            if h > max_h:
                h, width = max_h, max_h * px_w / px_h
            if self.get_y() + h > self.h - 20:
                self.add_page()
            self.image(io.BytesIO(png), x=self.l_margin + (self.epw - width) / 2, w=width, h=h,
                       alt_text=caption)
            self.set_y(self.get_y() + 1)
            self.para(caption, size=8, colour=90)
        else:
            reason = png or "not rendered"
            self.para(f"[{caption}: the chart could not be rendered ({reason}). The figures it shows are in the "
                      "table below.]", size=9, style="I", colour=150)
        self.ln(1)


def _money(x: Any, cur: str) -> str:
    return fmt.cost(x, cur)  # three significant figures, as on the Cost page


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its header (IHDR), or the default chart size."""
    if png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) >= 24:
        return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return CHART_WIDTH, CHART_HEIGHT


def _kind(value: Any) -> str:
    if value in (None, ""):
        return fmt.BLANK
    return "VENDOR-STATED (vendor-stated)" if value == "vendor-stated" else str(value)


def render_pdf(case: Any, *, charts: bool | Mapping[str, bytes | str] = True,
               progress: Progress | None = None, report: dict | None = None) -> bytes:
    """The business case as PDF bytes.

    ``case`` is a :class:`~piggyback.analyses.business_case.BusinessCase` or its ``to_dict()``.
    ``charts``: True renders them (kaleido), False leaves a note, or pass ready PNGs by name.
    ``progress(fraction, message)`` is called as the work goes on. ``report``, if given, is
    filled with ``pages`` and ``chart_errors`` (chart name -> why it is missing).
    """
    data = case.to_dict() if hasattr(case, "to_dict") else dict(case)
    say = progress or (lambda f, m: None)
    agency = data["agency"]
    say(0.05, "Preparing the charts")
    if charts is True:
        figs = case_figures(data)
        say(0.1, f"Rendering {len(figs)} chart(s) with the system Chromium")
        pngs = figures_to_png(figs)
    elif charts is False:
        pngs = {k: "charts were turned off for this export" for k in case_figures(data)}
    else:
        pngs = dict(charts)
    say(0.6, "Writing the document")

    pdf = _Report(f"Piggyback business case — {agency['name']} — {data['generated']}")
    title = f"Business case: {agency['name']}"
    pdf.set_title(title)
    pdf.set_author("Prepared with Piggyback")
    say(0.65, "The decision page")
    _decision_page(pdf, data)
    _peers(pdf, data)
    say(0.72, "Timeline")
    _timeline(pdf, data, pngs)
    say(0.8, "Cost")
    _cost(pdf, data, pngs)
    say(0.87, "Compliance checklist")
    _compliance(pdf, data)
    say(0.93, "Assumptions and sources")
    _assumptions(pdf, data)
    _sources(pdf, data)
    out = bytes(pdf.output())
    if report is not None:
        report["pages"] = pdf.page_no()
        report["chart_errors"] = {k: v for k, v in pngs.items() if not isinstance(v, bytes)}
    say(1.0, f"Done: {pdf.page_no()} pages")
    return out


def _decision_page(pdf: _Report, d: Mapping[str, Any]) -> None:
    """Page 1 is the decision: who, which contract, then the decision figures (the cover details
    sit in its header, so an executive opening the PDF sees the numbers first)."""
    a, peer = d["agency"], d.get("peer")
    pdf.add_page()
    pdf.font(10)
    pdf.set_text_color(1, 102, 94)
    date = dt.date.fromisoformat(d["generated"])
    pdf.cell(0, 6, pdf.t(f"Business case · prepared with Piggyback · {date.strftime('%B')} {date.day}, {date.year}"),
             new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.set_text_color(0)
    pdf.font(18, "B")
    pdf.multi_cell(0, 9, pdf.t(a["name"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.font(10)
    where = f"{a.get('jtype') or 'jurisdiction'}, {a['region']}, {'Canada' if a['country'] == 'CA' else 'USA'}"
    contract = (f"adopting the contract of {peer['jurisdiction']} ({peer['region']}), "
                f"{peer.get('vendor') or 'vendor not known'}{', ' + peer['product'] if peer.get('product') else ''}"
                if peer else "no peer contract chosen yet")
    pdf.multi_cell(0, 5.5, pdf.t(f"{where} · population {fmt.integer(a.get('population'))} · {contract}"),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.ln(2)
    _summary(pdf, d, new_page=False)
    pdf.para("Every figure names its basis: a source (with its address and confidence) or an assumption (listed "
             "with its value and range, editable in the app). A dash means unknown: nothing is estimated in its "
             "place. Vendor claims are marked vendor-stated and never used as evidence.", size=7.5, colour=70)


def _summary(pdf: _Report, d: Mapping[str, Any], *, new_page: bool = True) -> None:
    if new_page:
        pdf.add_page()
    pdf.h1("Decision figures")
    peer = d.get("peer")
    pdf.para(f"{d['agency']['name']} — "
             + (f"piggybacking on the contract of {peer['jurisdiction']} against running its own RFP."
                if peer else "no peer contract chosen yet."), size=10)
    pdf.ln(1)
    from piggyback.analyses.business_case import summary_rows

    rows = [[r["label"], r["value"], r["range"], r["basis"]] for r in summary_rows(d)]
    pdf.grid(["Decision figure", "Value", "Range", "Basis"], rows, [24, 27, 23, 26], size=8, bold_first=True)
    comp = d["compliance"]
    if comp.get("status") == "ok":
        v = comp["verdict"]
        if v.get("missing_region"):
            pdf.para(v["missing_region"], size=8.5)
        for route in v.get("alternatives") or []:
            pdf.para(f"Instead: {route}", size=8.5)
    pdf.h2("Closest peers")
    for p in d["peers"]["top"][:3]:
        pdf.bullet(p["sentence"], size=8.5)
    if not new_page:
        pdf.add_page()  # the decision page ends here; the risks open the detail
    pdf.h2("Main risks")
    for r in d["risks"][:6]:
        pdf.bullet(f"[{r['severity']}] {r['text']}", size=8.5)


def _peers(pdf: _Report, d: Mapping[str, Any]) -> None:
    pdf.add_page()
    pdf.h1("Closest peers and why")
    p = d["peers"]
    weights = ", ".join(f"{k} {v:.2f}" for k, v in p["weights"].items() if v > 0)
    pdf.para(f"{p['candidates']} peer deployments scored on the dimensions both sides know (a blank never counts "
             f"as a match). Weights ({p['preset'] or 'edited'}): {weights}. These weights are assumptions.", size=9)
    rows = [[p_["rank"], p_["jurisdiction"], f"{p_['score']:.2f} ({p_['dims_used']} dims)", "; ".join(p_["reasons"]),
             f"{p_.get('vendor') or fmt.BLANK}{' / ' + p_['product'] if p_.get('product') else ''}",
             p_.get("confidence")] for p_ in p["top"]]
    pdf.grid(["#", "Peer", "Score", "Why comparable", "Vendor / product", "Confidence"], rows,
             [4, 17, 11, 40, 18, 10], size=8)
    rob = p["robustness"]
    pdf.para(("The top three stay the same when any weight moves by ±20%." if rob["stable"] else
              f"The ranking is fragile: the top three change in {rob['changes']} of {rob['checked']} ±20% weight "
              "moves."), size=9)
    if p.get("chosen"):
        c = p["chosen"]
        pdf.para(f"The chosen peer ranks {c['rank']} of {c['of']} (score {c['score']:.2f}).", size=9)
    peer = d.get("peer")
    if peer:
        pdf.h2(f"The chosen peer: {peer['jurisdiction']}")
        contract = d.get("contract") or {}
        facts = [["Vendor / product", f"{peer.get('vendor') or fmt.BLANK} / {peer.get('product') or fmt.BLANK}"],
                 ["Modules", ", ".join(peer.get("modules") or []) or fmt.BLANK],
                 ["Contract vehicle", peer.get("vehicle_label")], ["Go-live", peer.get("go_live")],
                 ["Record confidence", peer.get("confidence")],
                 ["Lead agency", contract.get("lead_agency")], ["Contract expiry", contract.get("expiry_date")],
                 ["Cooperative-use clause", contract.get("coop_clause")],
                 ["Publicly advertised", contract.get("publicly_advertised")]]
        pdf.grid(["Fact", "Value (blank = unknown)"], facts, [30, 70], size=8)


def _timeline(pdf: _Report, d: Mapping[str, Any], pngs: Mapping[str, Any]) -> None:
    pdf.add_page()
    pdf.h1("Timeline: how much sooner")
    tl = d["timeline"]
    if tl.get("status") != "ok":
        pdf.para(tl.get("message") or "The timeline could not be simulated.")
        return
    disp = tl["display"]
    pdf.para(f"Piggybacking saves {disp['months_saved']} at the median ({disp['months_saved_range']}); "
             f"it is sooner in {disp['prob_faster']} of {tl['draws']:,} simulated draws "
             f"({tl['method'].upper()}, seed {tl['seed']}, phases of a route correlated {tl['correlation']:g}, "
             f"from {tl['start']}).", size=9.5)
    pdf.chart(pngs.get("gantt"), "Both routes, median phases, with the P10–P90 go-live range", max_h=130)
    pdf.chart(pngs.get("savings"), "Distribution of months saved", max_h=85)
    rows = []
    for route in ("traditional", "piggyback"):
        r = tl["routes"][route]
        rows.append([r["label"], f"{r['months']['p50']:.1f}", f"{r['months']['p10']:.1f}–{r['months']['p90']:.1f}",
                     disp[f"golive_{route}"], disp[f"golive_{route}_range"]])
    pdf.grid(["Route", "Months (P50)", "P10–P90", "Go-live (P50)", "Go-live P10–P90"], rows, [20, 15, 15, 18, 32])
    if tl.get("adjustments"):
        pdf.para("What this agency and this contract change (each a labelled assumption):", size=8.5, style="B")
        for a in tl["adjustments"]:
            pdf.bullet(f"{a['phase_id']}: {a['reason']}", size=7.5)
    track = tl.get("track_record") or {}
    comp = track.get("comparison") or {}
    if comp:
        pdf.para("Track record beside the model: " + comp["text"], size=8.5)
        rows = [[o["agency"], o["route"], o["status"], f"{o['months']:.1f}", f"{o['from']} to {o['to']}",
                 o["precision"], " ; ".join(o["sources"])] for o in track.get("implementation", [])]
        if rows:
            pdf.grid(["Agency", "Route", "Ends at", "Months", "From – to", "Precision", "Source"], rows,
                     [22, 10, 10, 8, 18, 9, 23], size=6.5)
        if comp.get("slippage_text"):
            pdf.para(comp["slippage_text"], size=8)
    rows = [[p["name"], f"{p['low']:.1f} / {p['likely']:.1f} / {p['high']:.1f}", f"{p['median']:.1f}", p["kind"],
             p.get("source_url") or fmt.BLANK] for p in tl["result"]["phases"]]
    pdf.grid(["Phase", "Low / likely / high (months)", "Median", "Kind", "Source"], rows, [34, 16, 9, 12, 29],
             size=7)


def _cost(pdf: _Report, d: Mapping[str, Any], pngs: Mapping[str, Any]) -> None:
    pdf.add_page()
    c = d["cost"]
    pdf.h1("Cost: ten years of each route")
    if c.get("status") != "ok":
        pdf.para(c.get("message") or "No cost could be computed.", size=10, style="B")
        pdf.para("Nothing is estimated in its place: enter the peer's price list or the quote received to cost it.",
                 size=9)
        return
    cur = c["currency"]
    rows = [[r["label"], _money(r["total"], cur), fmt.cost_range(r["low"], r["high"], cur),
             _money(r["npv"], cur), fmt.cost_range(r["npv_low"], r["npv_high"], cur),
             _money(r["procurement_cost"], cur)] for r in c["routes"].values()]
    pdf.grid(["Route", f"{c['horizon_years']}-year total", "Range", "NPV", "NPV range", "Procurement"], rows,
             [30, 14, 20, 12, 20, 12], size=8)
    shown = c.get("display") or {}
    if shown:
        pdf.para(f"Piggyback minus own RFP: {shown['difference']}. Cost per resident (piggyback): "
                 f"{shown['per_resident']}. Each route's own cost is modelled from the contract: "
                 + "; ".join(f"{r['label']}: {r['procurement_source'].get('formula')}" for r in c["routes"].values()),
                 size=8)
    if (c.get("spread") or {}).get("summary"):
        pdf.para(f"Across peers: {c['spread']['summary']}", size=8)
    for w in c.get("warnings") or []:
        pdf.bullet(f"Warning: {w}", size=7.5)
    pdf.para(c["range_method"], size=7.5, colour=90)
    pdf.chart(pngs.get("cost"), "Cost by year, piggyback route (stacked by category)")
    rows = [[ln["item_id"], ln["description"], _money(ln["total"], cur), ln["formula"], ln.get("kind"),
             ln.get("confidence"), ln.get("source_url") or fmt.BLANK] for ln in c["items"]]
    pdf.grid(["Item", "Description", "Total", "How it was scaled", "Kind", "Conf.", "Source"], rows,
             [13, 16, 10, 28, 9, 7, 17], size=6.5)
    flags = sorted({f for ln in c["items"] for f in ln.get("flags", [])})
    for f in flags:
        pdf.bullet(f, size=7.5)


def _compliance(pdf: _Report, d: Mapping[str, Any]) -> None:
    pdf.add_page()
    pdf.h1("Compliance checklist")
    c = d["compliance"]
    if c.get("status") != "ok":
        pdf.para(c.get("message") or "The checklist could not be evaluated.")
        return
    pdf.para(f"Verdict: {c['verdict']['text']}. Decision date {c['decision_date']}; planned go-live "
             f"{c.get('planned_golive') or fmt.BLANK}. Blockers first; an unknown fact never passes. "
             f"{c['verdict'].get('coverage', '')}"
             + (f" {c['verdict']['missing_region']}" if c["verdict"].get("missing_region") else ""), size=9.5)
    rows = [[r["rule_id"], r["severity"], STATUS_LABEL[r["status"]], r["requirement"], r["reason"],
             f"{r['citation']} ({r['confidence']})"] for r in c["results"]]
    pdf.grid(["Rule", "Severity", "Status", "Requirement", "Why", "Citation (confidence)"], rows,
             [9, 9, 10, 28, 26, 22], size=6.5)


def _assumptions(pdf: _Report, d: Mapping[str, Any]) -> None:
    pdf.add_page()
    pdf.h1("Assumptions used")
    pdf.para("Default assumptions are judgement unless a source is given; each can be edited in the app. "
             "'edited' marks a value the user changed in this scenario.", size=9)
    rows = []
    for a in d["assumptions"]:
        value = a["value"]
        shown = fmt.BLANK if value is None else (f"{value:g}" if isinstance(value, (int, float)) else str(value))
        ends = [fmt.BLANK if v is None else f"{v:g}" for v in (a.get("low"), a.get("high"))]
        rng = fmt.BLANK if ends == [fmt.BLANK, fmt.BLANK] else "–".join(ends)
        rows.append([a["assumption_id"], a["name"], f"{shown} {a.get('unit') or ''}".strip(), rng,
                     f"{a['kind']}{' (edited)' if a.get('edited') else ''}", a.get("source_url") or fmt.BLANK])
    pdf.grid(["Id", "Assumption", "Value", "Range", "Kind", "Source"], rows, [20, 34, 12, 9, 12, 23], size=6.5)


def _sources(pdf: _Report, d: Mapping[str, Any]) -> None:
    pdf.add_page()
    pdf.h1("Sources")
    pdf.para("Every source cited above, with its kind and the lowest confidence of the records that cite it. "
             "Vendor-stated sources are vendor material: shown, never treated as independent evidence.", size=9)
    rows = [[s.get("title") or s.get("publisher") or fmt.BLANK, _kind(s.get("kind")), s.get("confidence") or fmt.BLANK,
             s.get("url") or "no address on file", "; ".join(s.get("used_for", [])[:4]) + ("…" if len(s.get("used_for", [])) > 4 else "")]
            for s in d["sources"]]
    pdf.grid(["Source", "Kind", "Confidence", "Address (URL)", "Used for"], rows, [22, 14, 10, 36, 18], size=6.5)
    if d.get("claims"):
        pdf.h2("Vendor-stated claims")
        pdf.para("Claims made by vendors about these peers, with what research found. They are not used as "
                 "evidence for any figure.", size=8.5)
        rows = [[c.get("deployment_id") or "(general)", c.get("claim"), c.get("status"), c.get("research_note"),
                 c.get("source_url") or c.get("source_title") or fmt.BLANK] for c in d["claims"]]
        pdf.grid(["Peer", "Claim (vendor-stated)", "Status", "What research found", "Source"], rows,
                 [14, 28, 10, 30, 18], size=6.5)

"""A person using the app from their own machine, as the server sees them: Streamlit's wire protocol.

The load test's other people. In use, each person's browser draws the page on that person's
computer; the server only runs the scripts and sends the results. Three Chromiums on the
server's own two cores measure the test rig as much as the app, so the load test lets one real
browser (the person timed) share the server with people who speak to it as a browser does but
draw nothing: a websocket to ``/_stcore/stream`` sending the same ``BackMsg`` a browser sends (a
page with its query string; a widget's new value) and reading every ``ForwardMsg`` until the
script run has finished. The server does the same work for them as for a browser (it runs the
page, serialises every element, sends it), with one difference that makes it heavier: this
client reports no cached messages, so every element is sent in full.

    async with WireClient(url) as person:
        await person.open("peers", "agency=CA-CSD-3523008")
        await person.change("Population (size)", [60.0])
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

# How each kind of widget's value travels (Streamlit 1.67's serdes): the WidgetState field.
VALUE_FIELD = {"slider": "double_array_value", "number_input": "double_value", "selectbox": "string_value",
               "multiselect": "string_array_value",
               "text_input": "string_value", "checkbox": "bool_value", "button": "trigger_value"}
SUCCESS = {ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY}


class WireError(RuntimeError):
    """The run did not end as a browser's would (an exception on the page, a closed socket)."""


@dataclass
class Widget:
    kind: str
    id: str
    label: str
    options: tuple[str, ...] = ()


@dataclass
class WireClient:
    """One session on the server, driven without a browser. Not thread-safe: one task per person."""

    url: str
    timeout_s: float = 300.0
    query_string: str = ""
    page: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)  # label -> the widget last drawn with it
    states: dict[str, WidgetState] = field(default_factory=dict)  # id -> the value this person set
    exceptions: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # the last run's markdown and alerts, as sent
    _ws: object = None

    async def __aenter__(self) -> "WireClient":
        return self

    async def __aexit__(self, *exc) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def open(self, page: str, query_string: str = "") -> float:
        """Open a link to ``page`` (its URL path: "" for the first page, "peers" …) with this query
        string, as a browser's address bar does: a new session on the server, as the timed browser's
        ``goto`` makes; seconds from the connection until the first run has finished."""
        t = time.perf_counter()
        if self._ws is not None:
            await self._ws.close()
        parts = urlsplit(self.url)
        self._ws = await connect(f"ws://{parts.netloc}/_stcore/stream", subprotocols=["streamlit"],
                                 origin=f"{parts.scheme}://{parts.netloc}", max_size=None,
                                 open_timeout=self.timeout_s)
        self.page, self.query_string = page, query_string
        self.widgets.clear()
        self.states.clear()
        await self._rerun()
        return time.perf_counter() - t

    async def change(self, label: str, value) -> float:
        """Set the widget drawn with ``label`` to ``value`` (a slider takes a list, a selectbox the
        first option that contains the text, a button True), as a person's click or key press does;
        seconds until the rerun it causes has finished."""
        widget = self.widgets.get(label)
        if widget is None:
            raise WireError(f"no widget labelled {label!r} on {self.page or 'the first page'} "
                            f"(seen: {', '.join(sorted(self.widgets)) or 'none'})")
        if widget.kind == "selectbox":
            value = next((o for o in widget.options if value in o), None)
            if value is None:
                raise WireError(f"{label!r} has no option containing the text asked for")
        state = WidgetState(id=widget.id)
        slot = VALUE_FIELD[widget.kind]
        if slot.endswith("_array_value"):
            getattr(state, slot).data.extend(value)
        else:
            setattr(state, slot, value)
        self.states[widget.id] = state
        seconds = await self._rerun()
        if widget.kind == "button":  # a click is one event: the next run does not click again
            del self.states[widget.id]
        return seconds

    async def _rerun(self) -> float:
        self.exceptions.clear()
        self.texts.clear()
        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.page_name = self.page
        msg.rerun_script.widget_states.widgets.extend(self.states.values())
        t = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        await self._until_finished()
        return time.perf_counter() - t

    async def _until_finished(self) -> None:
        deadline = time.perf_counter() + self.timeout_s
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise WireError(f"the run of {self.page or 'the first page'} did not finish in {self.timeout_s:g} s")
            raw = await asyncio.wait_for(self._ws.recv(), timeout=left)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta":
                self._seen(fwd.delta)
            elif kind == "page_info_changed":
                self.query_string = fwd.page_info_changed.query_string  # the page rewrote its link
            elif kind == "page_not_found":
                raise WireError(f"page not found: {self.page!r}")
            elif kind == "script_finished":
                if fwd.script_finished in SUCCESS:
                    if self.exceptions:
                        raise WireError(f"exception on {self.page or 'the first page'}: {self.exceptions[0]}")
                    return
                # FINISHED_EARLY_FOR_RERUN (st.rerun, a link rewritten) or a fragment: another run follows

    def _seen(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:200])
        elif kind in ("markdown", "alert"):
            self.texts.append(getattr(element, kind).body)
        elif kind in VALUE_FIELD:
            proto = getattr(element, kind)
            if proto.id not in self.states or getattr(proto, "set_value", False):
                # A browser sends every widget's value with each rerun (a callback may read them
                # all): what the page drew, or what the server set; after that, what this person set.
                drawn = _drawn_value(kind, proto)
                if drawn is not None:
                    self.states[proto.id] = drawn
            self.widgets[proto.label] = Widget(kind, proto.id, proto.label,
                                               tuple(proto.options) if kind == "selectbox" else ())


def _has(proto, name: str) -> bool:
    try:
        return proto.HasField(name)
    except ValueError:  # not an optional field: always set
        return True


def _drawn_value(kind: str, proto) -> WidgetState | None:
    """The value a browser holds for a widget just drawn (None: no value, e.g. an empty selectbox)."""
    state = WidgetState(id=proto.id)
    if kind == "slider":
        state.double_array_value.data.extend(proto.value if proto.set_value else proto.default)
    elif kind == "multiselect":
        state.string_array_value.data.extend(proto.raw_values if proto.set_value
                                             else [proto.options[i] for i in proto.default])
    elif kind == "selectbox":
        if proto.set_value:
            if not _has(proto, "raw_value"):
                return None
            state.string_value = proto.raw_value
        elif _has(proto, "default") and proto.options:
            state.string_value = proto.options[proto.default]
        else:
            return None
    elif kind in ("text_input", "number_input", "checkbox"):
        source = "value" if proto.set_value else "default"
        if not _has(proto, source):
            return None
        setattr(state, VALUE_FIELD[kind], getattr(proto, source))
    else:  # a button holds no value between clicks
        return None
    return state
